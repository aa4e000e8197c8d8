"""Deadlines of field reports on the working-time clock: warning at 80 %, overdue, escalation to the leaders.

Time is explicit (`now=`), never slept; the app's minute loop is not started here (no client), so nothing
moves the clocks behind the test's back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import build_world
from toancanh.core.audit import AuditEntry
from toancanh.core.outbox import OutboxEvent
from toancanh.core.workflow import WorkflowEngine
from toancanh.core.worktime import VN_TZ
from toancanh.modules.reports import deadlines, service
from toancanh.modules.reports.models import FieldReport, ReportCategory
from toancanh.modules.reports.workflow import FIELD_REPORT


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


@dataclass
class Desk:
    db: Any
    engine: WorkflowEngine
    world: Any

    def submit(self, now: datetime, category: str = "an-ninh") -> int:
        with self.db.session() as s:
            report = service.submit(
                s,
                self.engine,
                None,
                lambda lat, lon: [self.world.units["H1"].id],
                category_code=category,
                description="Nhóm thanh niên tụ tập gây mất trật tự về đêm",
                lat=20.905,
                lon=105.805,
                now=now,
            )
            return report.id

    def check(self, now: datetime) -> list[tuple[int, str, str]]:
        return deadlines.check_once(self.db, self.engine, now)

    def report(self, rid: int) -> FieldReport:
        with self.db.session() as s:
            return s.get(FieldReport, rid)

    def count(self, model: Any, *where: Any) -> int:
        with self.db.session() as s:
            return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def desk(db: Any) -> Desk:
    """Commune A's security reports go to its police; an engine with the escalation hook, no loop."""
    world = build_world(db)
    engine = WorkflowEngine()
    engine.register(FIELD_REPORT)
    deadlines.install(engine)
    deadlines.install(engine)  # a second start of the app must not double the hook
    with db.session() as s:
        service.ensure_categories(s)
        cat = s.scalar(select(ReportCategory).where(ReportCategory.code == "an-ninh"))
        cat.urgent = False  # the normal 8-working-hour acknowledgement
        service.set_route(s, s.merge(world.units["A"]), cat, s.merge(world.agencies["ca-a"]))
    return Desk(db, engine, world)


def escalated(desk: Desk) -> list[OutboxEvent]:
    with desk.db.session() as s:
        return list(s.scalars(select(OutboxEvent).where(OutboxEvent.subject == deadlines.ESCALATED)))


def test_friday_afternoon_report_warns_monday_and_escalates_once(desk: Desk) -> None:
    rid = desk.submit(vn(2026, 3, 6, 16, 0))  # Friday 16:00, assigned at once by the routing rule
    report = desk.report(rid)
    assert report.state == "assigned" and report.due_at == vn(2026, 3, 9, 16, 0)  # 1 h Fri + 7 h Mon

    assert desk.check(vn(2026, 3, 6, 16, 59)) == []
    assert desk.check(vn(2026, 3, 8, 12, 0)) == []  # the weekend does not count
    assert desk.check(vn(2026, 3, 9, 14, 23)) == []  # 6.38 working hours of 8
    assert desk.check(vn(2026, 3, 9, 14, 24)) == [(rid, "ok", "warning")]  # 6.4 h: 80 %
    assert desk.count(OutboxEvent, OutboxEvent.subject == "toancanh.reports.report.sla_warning") == 1
    assert desk.check(vn(2026, 3, 9, 16, 0)) == []  # due, not yet past due
    assert escalated(desk) == []

    assert desk.check(vn(2026, 3, 9, 16, 1)) == [(rid, "warning", "overdue")]
    assert desk.check(vn(2026, 3, 9, 17, 0)) == []
    assert desk.check(vn(2026, 3, 10, 9, 0)) == []
    events = escalated(desk)
    assert len(events) == 1  # once
    data = events[0].data
    assert data["id"] == rid and data["escalation_level"] == 1 and data["to_role"] == "leader"
    assert data["leader_ids"] == [desk.world.users["leader_a"].id]
    assert "quá hạn" in data["title_vi"] and "overdue" in data["title_en"]
    assert events[0].unit_path.startswith("/01/00664/")
    audits = desk.count(AuditEntry, AuditEntry.action == "field_report.escalate")
    assert audits == 1
    report = desk.report(rid)
    assert (report.sla_status, report.escalation_level) == ("overdue", 1)


def test_each_missed_deadline_escalates_again(desk: Desk) -> None:
    rid = desk.submit(vn(2026, 3, 6, 16, 0))
    desk.check(vn(2026, 3, 9, 16, 1))
    with desk.db.session() as s:
        report = s.get(FieldReport, rid)
        service.act(s, desk.engine, report, "accept", None, {}, now=vn(2026, 3, 9, 16, 30))
        # a new step, a new clock: in progress for the category's 2 working days
        assert (report.sla_status, report.due_at) == ("ok", vn(2026, 3, 11, 16, 30))
    assert desk.check(vn(2026, 3, 11, 16, 31)) == [(rid, "ok", "overdue")]
    assert [e.data["escalation_level"] for e in escalated(desk)] == [1, 2]
    assert "xử lý" in escalated(desk)[1].data["title_vi"]


def test_tet_is_not_working_time(desk: Desk) -> None:
    rid = desk.submit(vn(2026, 2, 13, 16, 0))  # the last working day before Tết Bính Ngọ
    assert desk.report(rid).due_at == vn(2026, 2, 23, 16, 0)
    assert desk.check(vn(2026, 2, 20, 16, 0)) == []  # a calendar week later, one working hour used
    assert desk.check(vn(2026, 2, 23, 14, 24)) == [(rid, "ok", "warning")]
    assert desk.check(vn(2026, 2, 23, 16, 1)) == [(rid, "warning", "overdue")]
    assert len(escalated(desk)) == 1


def test_leaders_are_those_over_the_unit_and_domain(desk: Desk, db: Any) -> None:
    from toancanh.core.auth.service import create_user

    with db.session() as s:
        create_user(
            s, "leader_traffic", "password-123", role="leader", unit_code="00664", domains=["traffic"]
        )
        create_user(s, "leader_prov", "password-123", role="leader", unit_code="01")
        create_user(s, "leader_b", "password-123", role="leader", unit_code="00070")
    rid = desk.submit(vn(2026, 3, 6, 16, 0))
    with db.session() as s:
        names = [u.username for u in deadlines.leaders_of(s, s.get(FieldReport, rid))]
    assert names == ["leader_a", "leader_prov"]


def test_the_app_starts_the_minute_loop(client: Any, app: Any) -> None:
    assert "job:reports-deadlines" in app.state.leases.held()  # one process: it holds every job's lease
    task = app.state.leases.work["job:reports-deadlines"].task
    assert task is not None and not task.done()
