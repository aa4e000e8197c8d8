"""Deadlines of directed tasks on the working calendar: holidays, the SLA flags and the escalation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.modules.direction.conftest import issue, task_spec
from toancanh.core.outbox import OutboxEvent
from toancanh.core.workflow import WorkflowEngine
from toancanh.core.worktime import VN_TZ, WorkCalendar
from toancanh.modules.direction import deadlines
from toancanh.modules.direction.models import DirectionTask

CAL = WorkCalendar.default()


def at(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=VN_TZ)


@pytest.mark.parametrize(
    ("issued", "days", "due"),
    [
        # Wednesday before 30/4 and 1/5 (Thursday, Friday) and a weekend: Mon 4/5 .. Fri 8/5
        (at(2026, 4, 29), 5, date(2026, 5, 8)),
        # Friday before Hùng Kings' day (Sun 26/4, observed Mon 27/4) and 30/4-1/5
        (at(2026, 4, 24), 5, date(2026, 5, 6)),
        # the last working day before Tết Bính Ngọ (16-20/2/2026): the week after it
        (at(2026, 2, 13), 5, date(2026, 2, 27)),
        # the day before Tết Đinh Mùi (4-10/2/2027, Thursday to Wednesday)
        (at(2027, 2, 3), 5, date(2027, 2, 17)),
        # an ordinary week: Monday + 1 is Tuesday; Friday + 1 is Monday
        (at(2026, 3, 9), 1, date(2026, 3, 10)),
        (at(2026, 3, 13), 1, date(2026, 3, 16)),
        # issued on a Sunday evening: the count starts on Monday
        (at(2026, 3, 15, 20), 1, date(2026, 3, 16)),
    ],
)
def test_working_days_skip_weekends_and_holidays(issued: datetime, days: int, due: date) -> None:
    result = deadlines.after_working_days(CAL, issued, days)
    assert result.astimezone(VN_TZ).date() == due
    assert result.astimezone(VN_TZ).time().hour == 17  # the close of office hours
    # the result is itself a working day, and exactly `days` working days follow the issue day
    assert CAL.is_working_day(due)
    between = [
        issued.date() + timedelta(days=i) for i in range(1, (due - issued.astimezone(VN_TZ).date()).days + 1)
    ]
    assert sum(CAL.is_working_day(d) for d in between) == days


def test_days_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError):
        deadlines.after_working_days(CAL, at(2026, 3, 9), 0)


def test_api_deadline_given_as_days_or_as_a_date(client: Any, dworld: Any) -> None:
    body = issue(
        client,
        dworld,
        tasks=[
            task_spec(dworld, deadline_days=3),
            task_spec(dworld, deadline_days=None, deadline="2099-06-15"),
        ],
    )
    by_days, by_date = body["tasks"]
    due = deadlines.after_working_days(CAL, datetime.now(UTC), 3)
    assert datetime.fromisoformat(by_days["deadline_at"]) == due
    assert by_days["deadline_days"] == 3
    assert datetime.fromisoformat(by_date["deadline_at"]) == datetime(2099, 6, 15, 17, tzinfo=VN_TZ)
    assert by_date["due_at"] == by_date["deadline_at"]  # the engine's clock follows the task's deadline


def test_sla_flags_and_escalation(client: Any, dworld: Any, db: Any) -> None:
    task = issue(client, dworld, tasks=[task_spec(dworld, deadline_days=10)])["tasks"][0]
    engine = WorkflowEngine()
    deadlines.install(engine)
    due = datetime.fromisoformat(task["deadline_at"])
    nearly = due - timedelta(hours=2)
    assert deadlines.check_once(db, engine, now=nearly) == [(task["id"], "ok", "warning")]
    r = client.get(f"/api/v1/direction-tasks/{task['id']}", headers=dworld.auth("leader_a")).json()
    assert r["flag"] == "warning"
    late = due + timedelta(hours=1)
    assert deadlines.check_once(db, engine, now=late) == [(task["id"], "warning", "overdue")]
    assert deadlines.check_once(db, engine, now=late) == []  # idempotent
    with db.session() as s:
        row = s.get(DirectionTask, task["id"])
        assert row.sla_status == "overdue" and row.escalation_level == 1
        escalated = s.scalars(select(OutboxEvent).where(OutboxEvent.subject == deadlines.ESCALATED)).all()
        assert len(escalated) == 1
        assert escalated[0].data["leader_ids"] == [dworld.users["leader_a"].id]
        subjects = set(s.scalars(select(OutboxEvent.subject)))
    assert {"toancanh.direction.task.sla_warning", "toancanh.direction.task.sla_overdue"} <= subjects
    listed = client.get("/api/v1/direction-tasks", headers=dworld.auth("leader_a")).json()
    assert listed[0]["flag"] == "overdue"
