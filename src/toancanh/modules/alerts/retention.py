"""How long recorded events are kept, and which evidence outlives the footage period (open incidents)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from toancanh.core.retention import RetentionHold, RetentionRule
from toancanh.modules.alerts.models import Alert, Event, Incident, IncidentAttachment
from toancanh.modules.alerts.workflow import INCIDENT


def purge_events(db: Session, cutoff: datetime, limit: int) -> int:
    """Delete events older than `cutoff`, except those that raised an alert still open."""
    open_alert_events = select(Alert.event_id).where(Alert.status != "resolved", Alert.event_id.is_not(None))
    ids = db.scalars(
        select(Event.id).where(Event.at < cutoff, Event.id.not_in(open_alert_events)).limit(limit)
    ).all()
    if ids:
        db.execute(delete(Event).where(Event.id.in_(ids)))
    return len(ids)


def _blob_of(ref: object) -> str | None:
    text = str(ref or "")
    sha = text.rsplit("/", 1)[-1]
    return sha if len(sha) == 64 else None


def open_incident_evidence(db: Session) -> set[str]:
    """Blobs attached to incidents that are not final, or named as evidence by their alerts or by alerts
    not yet resolved."""
    open_ids = select(Incident.id).where(Incident.state.not_in(INCIDENT.final))
    held = {
        sha
        for key in db.scalars(
            select(IncidentAttachment.blob_key).where(IncidentAttachment.incident_id.in_(open_ids))
        )
        if (sha := _blob_of(key))
    }
    alerts = select(Alert.evidence).where(or_(Alert.incident_id.in_(open_ids), Alert.status != "resolved"))
    for evidence in db.scalars(alerts):
        for item in evidence or []:
            if isinstance(item, dict) and (sha := _blob_of(item.get("ref"))):
                held.add(sha)
    return held


RULES = [
    RetentionRule("events", "events", purge_events),
    RetentionHold("open incidents' evidence", open_incident_evidence),
]
