"""Rules as data (quy tắc cảnh báo) and alerts: save with versions, list in scope, acknowledge, resolve.

Every save of a rule is a new version (who, when, why); the runtimes of every process reload on the
`toancanh.alerts.rule.saved` event. Acknowledging an alert records who did it and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from toancanh.core import audit, outbox
from toancanh.core.assets import DOMAINS
from toancanh.core.auth.scope import Principal, get_scoped, scoped
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, Conflict
from toancanh.core.units import Unit
from toancanh.modules.alerts import events as _events
from toancanh.modules.alerts.alerting import summary as alert_summary
from toancanh.modules.alerts.events import EventIn as EventIn  # other modules record events with these
from toancanh.modules.alerts.events import Recorded as Recorded
from toancanh.modules.alerts.incidents import incident_row as incident_row
from toancanh.modules.alerts.incidents import list_incidents as list_incidents
from toancanh.modules.alerts.models import Alert, AlertRule, AlertRuleVersion, Event
from toancanh.modules.alerts.rules import RuleSpec, parse_rule

RULE_SAVED = "toancanh.alerts.rule.saved"


def record_events(db: Session, items: list[EventIn]) -> Recorded:
    """Record events from another module (a camera's analytics, ...) in the caller's transaction."""
    return _events.record(db, items)


def add_evidence(db: Session, source: str, source_ref: str, item: dict[str, Any]) -> int | None:
    """Link one more piece of evidence (a clip cut after the event, ...) to a recorded event and to the alerts
    it raised, in the caller's transaction; the event's id, or None when no such event was recorded."""
    event = db.scalars(select(Event).where(Event.source == source, Event.source_ref == source_ref)).first()
    if event is None:
        return None
    if item not in (event.evidence or []) and len(event.evidence or []) < _events.MAX_EVIDENCE:
        event.evidence = [*(event.evidence or []), item]
    for alert in db.scalars(select(Alert).where(Alert.event_id == event.id)):
        if item not in (alert.evidence or []):
            alert.evidence = [*(alert.evidence or []), item]
    db.flush()
    return event.id


def rule_summary(r: AlertRule) -> dict[str, Any]:
    return {
        "id": r.id,
        "code": r.code,
        "name": r.name,
        "unit_id": r.unit_id,
        "domain": r.domain,
        "enabled": r.enabled,
        "version": r.version,
        "definition": r.definition,
        "updated_at": r.updated_at.isoformat() if r.updated_at else None,
    }


def _unit_path(db: Session, unit_id: int) -> str:
    path = db.scalar(select(Unit.path).where(Unit.id == unit_id))
    if path is None:
        raise BadRequest("Đơn vị không tồn tại", "Unit does not exist")
    return path


def _check_domain(domain: str) -> None:
    if domain not in DOMAINS:
        raise BadRequest(f"Lĩnh vực không hợp lệ: {domain}", f"Unknown domain: {domain}")


def save_rule(
    db: Session,
    principal: Principal | None,
    definition: dict[str, Any],
    *,
    unit_id: int,
    domain: str,
    enabled: bool = True,
    comment: str = "",
    rule: AlertRule | None = None,
) -> AlertRule:
    """Create a rule, or save a new version of `rule`. Validates everything before changing anything."""
    spec = parse_rule(definition)
    _check_domain(domain)
    path = _unit_path(db, unit_id)
    if principal is not None:
        principal.require("rules.write", path, domain)
        if rule is not None:
            principal.require("rules.write", _unit_path(db, rule.unit_id), rule.domain)
    stored = spec.to_dict()
    other = db.scalar(select(AlertRule).where(AlertRule.code == spec.code))
    if other is not None and (rule is None or other.id != rule.id):
        raise Conflict("Mã quy tắc đã tồn tại", "A rule with this code already exists")
    before = rule_summary(rule) if rule is not None else None
    if rule is None:
        rule = AlertRule(code=spec.code, name=spec.name, unit_id=unit_id, domain=domain, version=1)
        db.add(rule)
    else:
        rule.version += 1
    rule.code, rule.name, rule.unit_id, rule.domain = spec.code, spec.name, unit_id, domain
    rule.definition = stored
    rule.enabled = enabled
    rule.updated_by_id = principal.user_id if principal else None
    db.flush()
    db.add(
        AlertRuleVersion(
            rule_id=rule.id,
            version=rule.version,
            definition=stored,
            enabled=enabled,
            comment=comment[:300],
            author_id=principal.user_id if principal else None,
            author=principal.username if principal else "system",
        )
    )
    audit.record_by(
        db,
        principal,
        "alert_rule.save",
        entity_type="alert_rule",
        entity_id=rule.id,
        unit_id=rule.unit_id,
        changes={"before": before, "after": rule_summary(rule), "comment": comment},
    )
    outbox.emit(
        db,
        RULE_SAVED,
        {"id": rule.id, "code": rule.code, "version": rule.version, "enabled": rule.enabled},
        unit_id=rule.unit_id,
        domain=rule.domain,
    )
    return rule


def list_rules(db: Session, principal: Principal) -> list[AlertRule]:
    stmt = scoped(select(AlertRule), principal, AlertRule, "rules.read")
    return list(db.scalars(stmt.order_by(AlertRule.code)))


def get_rule(db: Session, principal: Principal, rule_id: int) -> AlertRule:
    return get_scoped(db, principal, AlertRule, rule_id, "rules.read")


def versions(db: Session, rule: AlertRule) -> list[dict[str, Any]]:
    rows = db.scalars(
        select(AlertRuleVersion)
        .where(AlertRuleVersion.rule_id == rule.id)
        .order_by(AlertRuleVersion.version.desc())
    )
    return [
        {
            "version": v.version,
            "definition": v.definition,
            "enabled": v.enabled,
            "comment": v.comment,
            "author": v.author,
            "at": v.at.isoformat(),
        }
        for v in rows
    ]


def spec_of(definition: dict[str, Any]) -> RuleSpec:
    return parse_rule(definition)


# ---------------------------------------------------------------------------------------------- alerts


def list_alerts(
    db: Session,
    principal: Principal,
    *,
    status: str | None = None,
    live_only: bool = False,
    incident_id: int | None = None,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Alert], int]:
    stmt = scoped(select(Alert), principal, Alert, "alerts.read")
    if status:
        stmt = stmt.where(Alert.status == status)
    if live_only:
        stmt = stmt.where(Alert.status.in_(("active", "acknowledged")))
    if incident_id is not None:
        stmt = stmt.where(Alert.incident_id == incident_id)
    if since is not None:
        stmt = stmt.where(Alert.last_at >= since)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(Alert.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def get_alert(db: Session, principal: Principal, alert_id: int) -> Alert:
    return get_scoped(db, principal, Alert, alert_id, "alerts.read")


def acknowledge(db: Session, principal: Principal, alert: Alert, now: datetime | None = None) -> Alert:
    """Record who acknowledged the alert and when (ThingsBoard forgets who; we do not)."""
    principal.require("alerts.ack", _unit_path(db, alert.unit_id), alert.domain)
    if alert.status != "active":
        raise Conflict("Cảnh báo không còn ở trạng thái mới", "The alert is no longer active")
    now = now or utcnow()
    alert.status = "acknowledged"
    alert.acknowledged_by_id = principal.user_id
    alert.acknowledged_by = principal.username
    alert.acknowledged_at = now
    _changed(db, principal, alert, "alert.acknowledge", "đã xác nhận", "acknowledged")
    return alert


def resolve(
    db: Session, principal: Principal, alert: Alert, comment: str, now: datetime | None = None
) -> Alert:
    principal.require("alerts.ack", _unit_path(db, alert.unit_id), alert.domain)
    if alert.status == "resolved":
        raise Conflict("Cảnh báo đã được xử lý", "The alert is already resolved")
    if not comment.strip():
        raise BadRequest("Cần ghi chú khi kết thúc cảnh báo", "A comment is required to resolve an alert")
    alert.status = "resolved"
    alert.resolved_at = now or utcnow()
    alert.details = {**alert.details, "resolution": comment[:1000], "resolved_by": principal.username}
    _changed(db, principal, alert, "alert.resolve", "đã kết thúc", "resolved")
    return alert


def _changed(db: Session, principal: Principal, alert: Alert, action: str, vi: str, en: str) -> None:
    audit.record_by(
        db,
        principal,
        action,
        entity_type="alert",
        entity_id=alert.id,
        unit_id=alert.unit_id,
        changes={"status": alert.status},
    )
    outbox.emit(
        db,
        f"toancanh.alerts.alert.{action.split('.')[1]}d",
        {
            **alert_summary(alert),
            "title_vi": f"{principal.username} {vi} cảnh báo: {alert.title}",
            "title_en": f"{principal.username} {en} the alert: {alert.title_en or alert.title}",
            # The news of an acknowledgement is minor (no sound, no SMS); the alert's own severity stays told.
            "severity": "minor",
            "alert_severity": alert.severity,
        },
        unit_id=alert.unit_id,
        domain=alert.domain,
    )
