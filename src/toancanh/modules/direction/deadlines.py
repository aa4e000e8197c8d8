"""Task deadlines (hạn hoàn thành) on the working-time calendar, the minute-by-minute SLA check, and the
escalation of overdue tasks to the leaders.

A deadline is given either as a date ("trước ngày 15/5") or as N working days ("trong 5 ngày làm việc"). Both
end at the close of office hours (17:00) of that day: N working days from an issue date are the N working
days after it, so a task given 5 working days on Wednesday 29/4/2026 skips 30/4, 1/5 and the weekend and is
due on Friday 8/5 at 17:00.
"""

from __future__ import annotations

import logging
from datetime import date, datetime

from sqlalchemy.orm import Session

from toancanh.core import audit, outbox
from toancanh.core.auth.service import role_holders
from toancanh.core.workflow import DeadlineWatch
from toancanh.core.worktime import WorkCalendar
from toancanh.modules.direction.models import DirectionTask
from toancanh.modules.direction.workflow import DIRECTION_TASK

log = logging.getLogger("toancanh.direction.deadlines")

CHECK_EVERY_S = 60.0
FIRST_CHECK_AFTER_S = 7.0
ESCALATED = "toancanh.direction.task.escalated"
LEADER_ROLE = "leader"
MAX_DAYS = 365


def end_of_day(calendar: WorkCalendar, day: date) -> datetime:
    """The close of office hours on `day` (17:00 by default), in Vietnam's time zone."""
    return calendar.close_of(day)


def after_working_days(calendar: WorkCalendar, issued: datetime, days: int) -> datetime:
    """The close of the `days`-th working day after the day of `issued` (1 <= days <= MAX_DAYS)."""
    if isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1-{MAX_DAYS}")
    return calendar.close_after_working_days(issued, days)


def escalate(db: Session, task: DirectionTask, level: int) -> None:
    """Escalation hook: tell the leaders of the task's unit that it is overdue, and record that."""
    leaders = role_holders(db, LEADER_ROLE, task.unit_id, task.domain)
    due = task.deadline_at.isoformat()
    outbox.emit(
        db,
        ESCALATED,
        {
            "id": task.id,
            "directive_id": task.directive_id,
            "state": task.state,
            "due_at": due,
            "escalation_level": level,
            "assignee_agency_id": task.assignee_agency_id,
            "to_role": LEADER_ROLE,
            "leader_ids": [u.id for u in leaders],
            "severity": "high" if level > 1 or task.priority in ("high", "urgent") else "medium",
            "title_vi": f"Nhiệm vụ #{task.id} quá hạn: {task.title[:120]} (lần {level})",
            "title_en": f"Task #{task.id} is overdue: {task.title[:120]} (level {level})",
        },
        unit_id=task.unit_id,
        domain=task.domain,
    )
    audit.record(
        db,
        "direction_task.escalate",
        entity_type=DIRECTION_TASK.name,
        entity_id=task.id,
        unit_id=task.unit_id,
        changes={"escalation_level": level, "due_at": due, "leaders": [u.username for u in leaders]},
    )


WATCH = DeadlineWatch(
    DIRECTION_TASK,
    DirectionTask,
    escalate,
    "direction-deadlines",
    every_s=CHECK_EVERY_S,
    first_after_s=FIRST_CHECK_AFTER_S,
)
"""The minute-by-minute check; `start` is the module's startup hook."""
install, check_once, start = WATCH.install, WATCH.check_once, WATCH.start
