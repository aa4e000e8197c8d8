"""`DeadlineWatch`: the minute-by-minute SLA check of one case type in a running app, with its escalation
hook registered once per engine however often the app starts."""

from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from toancanh.core.db import Database
from toancanh.core.tasks import run_every, spawn_leased
from toancanh.core.workflow.definitions import CaseType, EscalationHook
from toancanh.core.workflow.engine import WorkflowEngine

log = logging.getLogger("toancanh.workflow.deadlines")


@dataclass(eq=False)
class DeadlineWatch:
    """Asks the engine every `every_s` seconds to move the open cases' SLA clocks, and runs `escalate`
    when one falls overdue. The first check waits `first_after_s`, then catches up on the time the app was
    down."""

    case_type: CaseType
    model: type[Any]
    escalate: EscalationHook
    name: str
    """The loop's name in logs, e.g. "reports-deadlines"."""
    every_s: float = 60.0
    first_after_s: float = 5.0
    _hooked: weakref.WeakSet[WorkflowEngine] = field(default_factory=weakref.WeakSet, repr=False)

    def install(self, engine: WorkflowEngine) -> None:
        """Register the escalation hook on `engine`, once."""
        if engine not in self._hooked:
            engine.on_escalate(self.case_type.name, self.escalate)
            self._hooked.add(engine)

    def check_once(
        self, db: Database, engine: WorkflowEngine, now: datetime | None = None
    ) -> list[tuple[int, str, str]]:
        """One pass over the open cases as of `now`: (case id, old status, new status) per change."""
        with db.session() as s:
            changed = engine.check_deadlines(s, self.case_type, self.model, now)
            out = [(case.id, old, new) for case, old, new in changed]
        if out:
            log.info("%s: %d deadlines changed", self.name, len(out))
        return out

    async def start(self, app: Any) -> None:
        """Startup hook: the escalation hook and the deadline loop, tied to the app's lifetime."""
        engine: WorkflowEngine = app.state.workflow
        self.install(engine)
        db: Database = app.state.db
        spawn_leased(
            app,
            lambda: run_every(
                self.every_s, lambda: self.check_once(db, engine), self.name, first_after_s=self.first_after_s
            ),
            self.name,
        )
