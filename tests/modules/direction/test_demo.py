"""The demo's directives: a dozen from the chairman of Đại Thanh, tasks in every state, some overdue."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from tests.conftest import seeded_demo_settings
from toancanh.core.db import Database
from toancanh.demo.directions import DIRECTIVES
from toancanh.modules.direction import service
from toancanh.modules.direction.models import DirectionTask, Directive, ExtensionRequest


def test_demo_directives(tmp_path: Path) -> None:
    settings = seeded_demo_settings(tmp_path)
    db = Database(settings.resolved_database_url)
    try:
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(Directive)) == len(DIRECTIVES) == 12
            states = dict(
                s.execute(select(DirectionTask.state, func.count()).group_by(DirectionTask.state))
                .tuples()
                .all()
            )
            assert set(states) == {"assigned", "in_progress", "submitted", "returned", "done"}
            figures = service.task_figures(s)
            assert figures["overdue"] >= 3 and figures["done_on_time"] >= 3 and figures["done_late"] >= 1
            assert {r.status for r in s.scalars(select(ExtensionRequest))} == {"pending", "approved"}
            assert s.scalar(select(func.count()).where(DirectionTask.escalation_level > 0)) >= 3
    finally:
        db.dispose()
