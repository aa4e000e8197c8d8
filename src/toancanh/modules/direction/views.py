"""What the API and the pages show of directives and tasks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal, unit_path_of
from toancanh.core.db import utcnow
from toancanh.core.units import Agency
from toancanh.core.workflow import WorkflowEngine
from toancanh.modules.direction import service
from toancanh.modules.direction.models import DirectionTask, DirectionTaskAgency, Directive
from toancanh.modules.direction.workflow import DIRECTION_TASK


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


class Names:
    """Agency and user names for a batch of tasks, loaded in three queries whatever the batch size."""

    def __init__(self, db: Session, tasks: Sequence[DirectionTask]) -> None:
        ids = [t.id for t in tasks]
        self.cooperating: dict[int, list[int]] = {}
        if ids:
            rows = db.execute(
                select(DirectionTaskAgency.task_id, DirectionTaskAgency.agency_id)
                .where(DirectionTaskAgency.task_id.in_(ids))
                .order_by(DirectionTaskAgency.agency_id)
            ).tuples()
            for task_id, agency_id in rows:
                self.cooperating.setdefault(task_id, []).append(agency_id)
        agency_ids = {t.assignee_agency_id for t in tasks} | {a for v in self.cooperating.values() for a in v}
        agency_ids.discard(None)
        self.agencies: dict[int, str] = dict(
            db.execute(select(Agency.id, Agency.name).where(Agency.id.in_(agency_ids))).tuples().all()
        )
        user_ids = {t.issued_by_id for t in tasks}
        self.users: dict[int, str] = {
            uid: full or username
            for uid, username, full in db.execute(
                select(User.id, User.username, User.full_name).where(User.id.in_(user_ids))
            ).tuples()
        }


def task_row(task: DirectionTask, names: Names, now: datetime, lang: str = "vi") -> dict[str, Any]:
    """A task as the tracking list shows it."""
    coop = names.cooperating.get(task.id, [])
    return {
        "id": task.id,
        "directive_id": task.directive_id,
        "unit_id": task.unit_id,
        "title": task.title,
        "domain": task.domain,
        "priority": task.priority,
        "state": task.state,
        "state_label": DIRECTION_TASK.label(task.state, lang),
        "flag": service.flag_of(task, now),
        "sla_status": task.sla_status,
        "escalation_level": task.escalation_level,
        "deadline_at": task.deadline_at.isoformat(),
        "deadline_days": task.deadline_days,
        "due_at": _iso(task.due_at),
        "progress": task.progress,
        "lead_agency_id": task.assignee_agency_id,
        "lead_agency": names.agencies.get(task.assignee_agency_id or 0, ""),
        "cooperating_agency_ids": coop,
        "cooperating_agencies": [names.agencies.get(a, "") for a in coop],
        "issued_by_id": task.issued_by_id,
        "issued_by": names.users.get(task.issued_by_id, ""),
        "source": {"kind": task.source_kind, "id": task.source_id, "ref": task.source_ref},
        "opened_at": task.opened_at.isoformat(),
        "submitted_at": _iso(task.submitted_at),
        "closed_at": _iso(task.closed_at),
        "on_time": task.on_time,
    }


def task_rows(db: Session, tasks: Sequence[DirectionTask], lang: str = "vi") -> list[dict[str, Any]]:
    names, now = Names(db, tasks), utcnow()
    return [task_row(t, names, now, lang) for t in tasks]


def task_detail(
    db: Session, engine: WorkflowEngine, principal: Principal, task: DirectionTask, lang: str = "vi"
) -> dict[str, Any]:
    """A task with its directive, history, extension requests and the steps the caller may take."""
    out = task_rows(db, [task], lang)[0]
    directive = db.get(Directive, task.directive_id)
    path = unit_path_of(db, task.unit_id)
    out.update(
        {
            "expected_output": task.expected_output,
            "progress_note": task.progress_note,
            "completion_text": task.completion_text,
            "evidence": list(task.evidence or []),
            "acknowledged_at": _iso(task.acknowledged_at),
            "directive": directive_summary(directive) if directive else None,
            "history": [h.summary() for h in engine.history(db, DIRECTION_TASK, task.id)],
            "extension_requests": [r.summary() for r in service.extension_requests(db, task.id)],
            "actions": [
                {"name": t.name, "label": t.label(lang)}
                for t in engine.available(DIRECTION_TASK, task, principal, unit_path=path)
            ],
        }
    )
    return out


def directive_summary(d: Directive) -> dict[str, Any]:
    return {
        "id": d.id,
        "unit_id": d.unit_id,
        "number": d.number,
        "kind": d.kind,
        "title": d.title,
        "summary": d.summary,
        "issued_by_id": d.issued_by_id,
        "issued_on": d.issued_on.isoformat(),
        "attachments": list(d.attachments or []),
    }


def directive_detail(db: Session, principal: Principal, d: Directive, lang: str = "vi") -> dict[str, Any]:
    """A directive with the tasks of it the caller may read."""
    tasks = list(
        db.scalars(
            service.scoped_tasks(principal)
            .where(DirectionTask.directive_id == d.id)
            .order_by(DirectionTask.id)
        )
    )
    return {**directive_summary(d), "tasks": task_rows(db, tasks, lang)}
