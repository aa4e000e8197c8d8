"""Deadlines of field reports (hạn xử lý): the minute-by-minute check and the escalation to the leaders.

The workflow engine moves each open report's SLA clock ("ok" -> "warning" at 80 % of the working time ->
"overdue") and emits `toancanh.reports.report.sla_warning` / `.sla_overdue` itself. What this module adds is
the loop that asks it every minute, and what happens when a report falls overdue (chuyển cấp): an event for
the leaders of the report's unit (`toancanh.reports.report.escalated`, with a title for the ticker) and an
audit entry, once per overdue deadline.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from toancanh.core import audit, outbox
from toancanh.core.auth.models import User
from toancanh.core.auth.service import role_holders
from toancanh.core.workflow import DeadlineWatch
from toancanh.modules.reports.models import FieldReport
from toancanh.modules.reports.workflow import FIELD_REPORT

log = logging.getLogger("toancanh.reports.deadlines")

CHECK_EVERY_S = 60.0
FIRST_CHECK_AFTER_S = 5.0  # catch up on the time the app was down, once it has started
ESCALATED = "toancanh.reports.report.escalated"
LEADER_ROLE = "leader"


def leaders_of(db: Session, report: FieldReport) -> list[User]:
    """Active users holding the leader role over the report's unit (or above it) and its domain."""
    return role_holders(db, LEADER_ROLE, report.unit_id, report.domain)


def escalate(db: Session, report: FieldReport, level: int) -> None:
    """Escalation hook: tell the leaders that a report is overdue, and record that they were told."""
    leaders = leaders_of(db, report)
    due = report.due_at.isoformat() if report.due_at else None
    stage_vi = "tiếp nhận" if report.state in ("received", "assigned") else "xử lý"
    stage_en = "acknowledgement" if report.state in ("received", "assigned") else "resolution"
    outbox.emit(
        db,
        ESCALATED,
        {
            "id": report.id,
            "state": report.state,
            "due_at": due,
            "escalation_level": level,
            "assignee_agency_id": report.assignee_agency_id,
            "to_role": LEADER_ROLE,
            "leader_ids": [u.id for u in leaders],
            "severity": "high" if level > 1 or report.priority == "urgent" else "medium",
            "lat": report.lat,
            "lon": report.lon,
            "title_vi": f"Phản ánh #{report.id} quá hạn {stage_vi}, chuyển lãnh đạo (lần {level})",
            "title_en": f"Report #{report.id} is overdue for {stage_en}, "
            f"escalated to the leaders (level {level})",
        },
        unit_id=report.unit_id,
        domain=report.domain,
    )
    audit.record(
        db,
        "field_report.escalate",
        entity_type=FIELD_REPORT.name,
        entity_id=report.id,
        unit_id=report.unit_id,
        changes={
            "escalation_level": level,
            "state": report.state,
            "due_at": due,
            "to_role": LEADER_ROLE,
            "leaders": [u.username for u in leaders],
        },
    )


WATCH = DeadlineWatch(
    FIELD_REPORT,
    FieldReport,
    escalate,
    "reports-deadlines",
    every_s=CHECK_EVERY_S,
    first_after_s=FIRST_CHECK_AFTER_S,
)
"""The minute-by-minute check; `start` is the module's startup hook."""
install, check_once, start = WATCH.install, WATCH.check_once, WATCH.start
