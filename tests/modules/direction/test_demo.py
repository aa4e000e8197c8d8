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
            # the dozen directives, and the conclusions of the demo's finished meeting
            assert s.scalar(select(func.count()).select_from(Directive)) == len(DIRECTIVES) + 1 == 13
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


def test_demo_edocuments(tmp_path: Path) -> None:
    from toancanh.modules.direction import edocuments
    from toancanh.modules.direction.models import EDocument

    settings = seeded_demo_settings(tmp_path)
    db = Database(settings.resolved_database_url)
    try:
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(EDocument)) == 40
            m = edocuments.metrics(s, None)
            assert m["incoming"] == 24 and m["outgoing"] == 16
            assert m["in_process_overdue"] >= 3 and m["finished_late"] >= 1 and m["finished_on_time"] >= 10
            assert m["digitally_signed_pct"] is not None and m["digitally_signed_pct"] > 70
            assert 50 < (m["sent_electronically_pct"] or 0) < 100
            assert {d.state for d in s.scalars(select(EDocument))} == {
                "received",
                "in_process",
                "finished",
                "no_action",
                "drafted",
                "signed",
                "sent",
            }
    finally:
        db.dispose()


def test_demo_calendar_and_meetings(tmp_path: Path) -> None:
    from toancanh.demo.calendar import SCHEDULE
    from toancanh.modules.direction.calendar import conflicts
    from toancanh.modules.direction.calendar_models import CalendarEntry, Meeting

    settings = seeded_demo_settings(tmp_path)
    db = Database(settings.resolved_database_url)
    try:
        with db.session() as s:
            entries = list(s.scalars(select(CalendarEntry)))
            assert len(entries) == len(SCHEDULE) + 2
            clashes = {k for k, v in conflicts(s, entries).items() if v}
            assert len(clashes) == 2  # the chairman's Thursday morning
            done, upcoming = sorted(s.scalars(select(Meeting)), key=lambda m: m.state != "finished")
            assert done.state == "finished" and upcoming.state == "planned"
            assert done.directive_id is not None and all(c["task_id"] for c in done.conclusions)
            tasks = list(
                s.scalars(select(DirectionTask).where(DirectionTask.directive_id == done.directive_id))
            )
            assert len(tasks) == 3
            assert {(t.source_kind, t.source_id) for t in tasks} == {("meeting_conclusion", done.id)}
    finally:
        db.dispose()
