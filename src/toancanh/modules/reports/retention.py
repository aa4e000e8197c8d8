"""How long citizens' personal data in field reports is kept: erased in place once a report has been closed
for the `personal` retention period (the report, its photos and its figures stay)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from toancanh.core.retention import RetentionRule
from toancanh.modules.reports.models import FieldReport, ReportFollower

_IDENTITY = (
    FieldReport.reporter_name,
    FieldReport.reporter_phone,
    FieldReport.reporter_email,
    FieldReport.device_id,
    FieldReport.client_ip,
)


def erase_reporters(db: Session, cutoff: datetime, limit: int) -> int:
    """Erase the reporter's (and followers') contact details of reports closed before `cutoff`."""
    ids = db.scalars(
        select(FieldReport.id)
        .where(FieldReport.closed_at.is_not(None), FieldReport.closed_at < cutoff)
        .where(or_(*(col != "" for col in _IDENTITY)))
        .limit(limit)
    ).all()
    if not ids:
        return 0
    db.execute(
        update(FieldReport)
        .where(FieldReport.id.in_(ids))
        .values(reporter_name="", reporter_phone="", reporter_email="", device_id="", client_ip="")
        .execution_options(synchronize_session=False)
    )
    db.execute(
        update(ReportFollower)
        .where(ReportFollower.report_id.in_(ids))
        .values(phone="", email="")
        .execution_options(synchronize_session=False)
    )
    return len(ids)


RULES = [RetentionRule("personal", "field report reporters", erase_reporters)]
