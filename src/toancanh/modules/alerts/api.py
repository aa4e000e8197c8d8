"""The alerts API: readings in bulk, events, alerts (acknowledge, resolve) and rules (versions, dry-run)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import orjson
import yaml
from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from toancanh.core.api.deps import CurrentPrincipal, DetachedPrincipal, SessionDep, get_database
from toancanh.core.api.schemas import DbId
from toancanh.core.auth.scope import scoped
from toancanh.core.errors import BadRequest, Forbidden
from toancanh.core.logs import Throttled
from toancanh.core.units import Unit
from toancanh.modules.alerts import events as events_service
from toancanh.modules.alerts import service
from toancanh.modules.alerts.alerting import summary as alert_summary
from toancanh.modules.alerts.models import Event
from toancanh.modules.alerts.rules import dry_run, parse_rule, parse_text
from toancanh.modules.alerts.runtime import AlertsRuntime
from toancanh.modules.alerts.schemas import (
    DryRunIn,
    EventsIn,
    ResolveIn,
    RuleIn,
    RuleText,
    as_event_in,
)

log = logging.getLogger("toancanh.alerts.api")
rejections = Throttled(log)
MAX_READINGS = 50_000

telemetry_router = APIRouter(prefix="/api/v1/telemetry", tags=["telemetry"])
router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


def _runtime(request: Request) -> AlertsRuntime:
    rt: AlertsRuntime = request.app.state.alerts
    return rt


# ---------------------------------------------------------------------------------------------- readings


@telemetry_router.post("/readings")
async def post_readings(request: Request, principal: DetachedPrincipal) -> dict[str, Any]:
    """Readings in bulk (thousands per request), from gateways and sector systems.

    Body: `{"readings": [{"device": "<asset code>", "ts": <epoch ms | ISO 8601>, "values": {"pm25": 35.2}}]}`.
    Valid readings are stored (durably, before the answer) even when others in the batch are refused; each
    refusal comes back with its index and reason.
    """
    principal.require("telemetry.write")
    body = await request.body()
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("Nội dung không phải JSON hợp lệ", f"The body is not valid JSON: {exc}") from None
    items = doc.get("readings") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise BadRequest(
            'Cần {"readings": [...]} với ít nhất một bản ghi',
            'Expected {"readings": [...]} with at least one reading',
        )
    if len(items) > MAX_READINGS:
        raise BadRequest(
            f"Tối đa {MAX_READINGS} bản ghi mỗi lần gửi", f"At most {MAX_READINGS} readings per request"
        )
    result = await asyncio.to_thread(_runtime(request).ingest_readings, items, principal=principal)
    for reason in result.reasons[:10]:
        rejections.warning(
            reason["reason_en"], "readings from %s refused: %s", principal.username, reason["reason_en"]
        )
    return result.as_dict()


# ---------------------------------------------------------------------------------------------- events


@router.post("/events")
async def post_events(body: EventsIn, request: Request, principal: DetachedPrincipal) -> dict[str, Any]:
    """Record events (manual entries, sector systems); rules see them at once."""
    principal.require("events.write")
    items = [as_event_in(e) for e in body.events]
    rec = await asyncio.to_thread(_runtime(request).record_events, items, principal)
    if rec.rejected and not rec.ids and not rec.duplicates:
        raise BadRequest("Không ghi được sự kiện nào", "No event was recorded", details=rec.rejected)
    return {
        "recorded": len(rec.ids),
        "ids": rec.ids,
        "duplicates": rec.duplicates,
        "rejected": rec.rejected,
    }


@router.get("/events")
def list_events(
    db: SessionDep,
    principal: CurrentPrincipal,
    category: str | None = Query(default=None, max_length=64),
    since: datetime | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    stmt = scoped(select(Event), principal, Event, "events.read")
    if category:
        stmt = stmt.where(Event.category.startswith(category.rstrip("*")))
    if since is not None:
        if since.tzinfo is None:
            raise BadRequest("Thời gian phải có múi giờ", "Timestamps must carry a time zone")
        stmt = stmt.where(Event.at >= since)
    return [events_service.summary(e) for e in db.scalars(stmt.order_by(Event.id.desc()).limit(limit))]


# ---------------------------------------------------------------------------------------------- alerts


@router.get("")
def list_alerts(
    db: SessionDep,
    principal: CurrentPrincipal,
    status: str | None = Query(default=None, pattern="^(active|acknowledged|resolved)$"),
    live: bool = False,
    incident_id: DbId | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=1_000_000),
) -> dict[str, Any]:
    rows, total = service.list_alerts(
        db, principal, status=status, live_only=live, incident_id=incident_id, limit=limit, offset=offset
    )
    return {"total": total, "items": [alert_summary(a) for a in rows]}


@router.get("/{alert_id:int}")
def get_alert(alert_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return alert_summary(service.get_alert(db, principal, alert_id))


@router.post("/{alert_id:int}/ack")
def ack_alert(alert_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    alert = service.get_alert(db, principal, alert_id)
    return alert_summary(service.acknowledge(db, principal, alert))


@router.post("/{alert_id:int}/resolve")
def resolve_alert(
    alert_id: DbId, body: ResolveIn, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    alert = service.get_alert(db, principal, alert_id)
    return alert_summary(service.resolve(db, principal, alert, body.comment))


# ---------------------------------------------------------------------------------------------- rules


def _definition(body: RuleText) -> dict[str, Any]:
    if body.definition is not None:
        return body.definition
    assert body.text is not None
    return parse_text(body.text, body.format).to_dict()


@router.get("/rules")
def list_rules(db: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    return [service.rule_summary(r) for r in service.list_rules(db, principal)]


@router.post("/rules", status_code=201)
def create_rule(
    body: RuleIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    rule = service.save_rule(
        db,
        principal,
        _definition(body),
        unit_id=body.unit_id,
        domain=body.domain,
        enabled=body.enabled,
        comment=body.comment,
    )
    return service.rule_summary(rule)


@router.post("/rules/validate")
def validate_rule(body: RuleText, principal: CurrentPrincipal) -> dict[str, Any]:
    principal.require("rules.read")
    spec = parse_rule(_definition(body))
    return {
        "valid": True,
        "definition": spec.to_dict(),
        "yaml": yaml.safe_dump(spec.to_dict(), allow_unicode=True),
    }


@router.post("/rules/dry-run")
def dry_run_rule(body: DryRunIn, request: Request, principal: DetachedPrincipal) -> dict[str, Any]:
    """What a rule (saved or not) would have raised over stored readings and events in [start, end).

    In a read-only session: a dry run over millions of readings takes seconds and must not hold the
    database's write lock against live ingestion meanwhile."""
    with get_database(request).read_session() as db:
        path = db.scalar(select(Unit.path).where(Unit.id == body.unit_id))
        if path is None or not principal.can("rules.read", path):
            raise Forbidden("Bạn không có quyền với đơn vị này", "You have no access to this unit")
        spec = parse_rule(_definition(body))
        result = dry_run(
            db,
            spec,
            unit_path=path,
            start_ms=int(body.start.timestamp() * 1000),
            end_ms=int(body.end.timestamp() * 1000),
            max_firings=body.max_firings,
        )
    return result.as_dict()


@router.get("/rules/{rule_id:int}")
def get_rule(rule_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    rule = service.get_rule(db, principal, rule_id)
    return {**service.rule_summary(rule), "versions": service.versions(db, rule)}


@router.put("/rules/{rule_id:int}")
def update_rule(rule_id: DbId, body: RuleIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    rule = service.get_rule(db, principal, rule_id)
    rule = service.save_rule(
        db,
        principal,
        _definition(body),
        unit_id=body.unit_id,
        domain=body.domain,
        enabled=body.enabled,
        comment=body.comment,
        rule=rule,
    )
    return service.rule_summary(rule)
