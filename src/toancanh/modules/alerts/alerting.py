"""From firings to alerts to incidents: de-duplication by key, grouping by rule, place and time.

A firing whose key already has a live alert (active or acknowledged) adds to that alert's count; otherwise a
new alert is raised, and its event tells the console (with a sound for severe and extreme alerts). A rule with
an `incident` section groups its alerts: the nearest open incident of the same type in the same unit whose
last
alert is recent enough and close enough takes the alert; failing that a new incident opens (and its SOP
starts).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core import outbox
from toancanh.core.geo import haversine_m
from toancanh.core.timeseries import from_ms
from toancanh.core.workflow import WorkflowEngine
from toancanh.modules.alerts import incidents
from toancanh.modules.alerts.models import SEVERITY_RANK, Alert, Event, Incident
from toancanh.modules.alerts.rules.types import Firing
from toancanh.modules.alerts.workflow import OPEN_STATES

LIVE = ("active", "acknowledged")
RAISED = "toancanh.alerts.alert.raised"
CLEARED = "toancanh.alerts.alert.cleared"
LOUD = ("severe", "extreme")


def apply(db: Session, engine: WorkflowEngine, firings: Sequence[Firing], now: datetime) -> list[Alert]:
    """Write the firings of one evaluation round; returns the alerts raised (new ones)."""
    raised: list[Alert] = []
    keys = list({f.key for f in firings})
    live: dict[str, Alert] = {}
    for chunk in range(0, len(keys), 500):
        for a in db.scalars(
            select(Alert).where(Alert.dedup_key.in_(keys[chunk : chunk + 500]), Alert.status.in_(LIVE))
        ):
            live[a.dedup_key] = a
    for f in firings:
        at = from_ms(f.ts)
        current = live.get(f.key)
        if f.clear:
            if current is not None:
                _clear(db, current, f, at)
                del live[f.key]
            continue
        if current is not None:
            current.count += 1
            current.last_at = max(current.last_at, at)
            if SEVERITY_RANK.get(f.severity, 0) > SEVERITY_RANK.get(current.severity, 0):
                current.severity = f.severity
            current.details = {**current.details, "last": f.details}
            continue
        alert = _raise(db, f, at)
        live[f.key] = alert
        raised.append(alert)
        if f.incident is not None:
            _group(db, engine, alert, f, now)
        _announce(db, alert)
    return raised


def _raise(db: Session, f: Firing, at: datetime) -> Alert:
    alert = Alert(
        dedup_key=f.key,
        rule_id=f.rule_id or None,
        rule_version=f.rule_version or None,
        event_id=f.event_id,
        asset_id=f.asset_id,
        unit_id=f.unit_id,
        domain=f.domain,
        category=f.category,
        severity=f.severity,
        urgency=f.urgency,
        certainty=f.certainty,
        title=f.title[:300],
        title_en=f.title_en[:300],
        lat=f.lat,
        lon=f.lon,
        first_at=at,
        last_at=at,
        details={"rule": f.rule_code, **f.details},
    )
    if f.event_id is not None:  # the evidence of the event that raised it (photo, clip, reading)
        event = db.get(Event, f.event_id)
        if event is not None:
            alert.evidence = list(event.evidence or [])
    db.add(alert)
    db.flush()
    return alert


def _announce(db: Session, alert: Alert) -> None:
    outbox.emit(
        db,
        RAISED,
        {**summary(alert), "title_vi": alert.title, "sound": alert.severity in LOUD},
        unit_id=alert.unit_id,
        domain=alert.domain,
    )


def _clear(db: Session, alert: Alert, f: Firing, at: datetime) -> None:
    alert.status = "resolved"
    alert.resolved_at = at
    alert.details = {**alert.details, "cleared": f.details}
    outbox.emit(
        db,
        CLEARED,
        {
            "id": alert.id,
            "incident_id": alert.incident_id,
            "title_vi": f"Hết cảnh báo: {alert.title}",
            "title_en": f"Cleared: {alert.title_en or alert.title}",
            "severity": "minor",
        },
        unit_id=alert.unit_id,
        domain=alert.domain,
    )


def _group(db: Session, engine: WorkflowEngine, alert: Alert, f: Firing, now: datetime) -> None:
    spec = f.incident
    assert spec is not None
    group_key = f"{spec.type}:{f.unit_id}"
    since = now - timedelta(seconds=spec.group_within_s)
    candidates = db.scalars(
        select(Incident).where(
            Incident.group_key == group_key,
            Incident.state.in_(OPEN_STATES),
            Incident.last_alert_at >= since,
        )
    ).all()
    best: tuple[float, Incident] | None = None
    for inc in candidates:
        if alert.lat is None or alert.lon is None or inc.lat is None or inc.lon is None:
            distance = 0.0
        else:
            distance = haversine_m(alert.lat, alert.lon, inc.lat, inc.lon)
        if distance <= spec.group_radius_m and (best is None or distance < best[0]):
            best = (distance, inc)
    if best is not None:
        incident = best[1]
        incident.last_alert_at = max(incident.last_alert_at or now, alert.last_at)
        if SEVERITY_RANK.get(alert.severity, 0) > SEVERITY_RANK.get(incident.severity, 0):
            incident.severity = alert.severity
    else:
        incident = incidents.open_incident(
            db,
            engine,
            type=spec.type,
            title=alert.title,
            title_en=alert.title_en,
            unit_id=alert.unit_id,
            domain=alert.domain,
            severity=alert.severity,
            lat=alert.lat,
            lon=alert.lon,
            group_key=group_key,
            source="rule",
            now=now,
        )
        incident.last_alert_at = alert.last_at
    alert.incident_id = incident.id


def summary(a: Alert) -> dict[str, Any]:
    return {
        "id": a.id,
        "dedup_key": a.dedup_key,
        "rule_id": a.rule_id,
        "rule_version": a.rule_version,
        "event_id": a.event_id,
        "asset_id": a.asset_id,
        "incident_id": a.incident_id,
        "unit_id": a.unit_id,
        "domain": a.domain,
        "category": a.category,
        "severity": a.severity,
        "urgency": a.urgency,
        "certainty": a.certainty,
        "title": a.title,
        "title_en": a.title_en,
        "lat": a.lat,
        "lon": a.lon,
        "first_at": a.first_at.isoformat(),
        "last_at": a.last_at.isoformat(),
        "count": a.count,
        "status": a.status,
        "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": a.acknowledged_at.isoformat() if a.acknowledged_at else None,
        "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None,
        "details": a.details,
        "evidence": a.evidence,
    }
