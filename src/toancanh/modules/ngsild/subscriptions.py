"""NGSI-LD subscriptions and their HTTP notifications (thông báo khi thực thể thay đổi).

A subscription names entities (type, and id or idPattern), optionally watched attributes, a q and a geoQ, and
an HTTP endpoint. When a stored entity is created or changed (the outbox event `toancanh.ngsild.entity.*`)
or an IOC asset changes (`toancanh.core.asset.*`), the notifier, a durable consumer of the bus, POSTs a
Notification to every matching subscription's endpoint, with the entity as the subscription's owner may read
it, in their @context and format. Throttling, expiresAt and isActive are honoured; timesSent, lastSuccess and
lastFailure are kept.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.assets import Asset
from toancanh.core.auth import service as auth_service
from toancanh.core.auth.models import User
from toancanh.core.bus import Event
from toancanh.core.db import Database, utcnow
from toancanh.core.errors import AppError
from toancanh.modules.ngsild import assets_view, context, geoquery, qlang, service
from toancanh.modules.ngsild.context import Context
from toancanh.modules.ngsild.errors import NgsiError, bad_data
from toancanh.modules.ngsild.models import NgsiSubscription
from toancanh.modules.ngsild.representation import check_datetime, compact_entity, is_uri, iso, now_iso

log = logging.getLogger("toancanh.ngsild.notify")
PATTERNS = ("toancanh.ngsild.entity.>", "toancanh.core.asset.>")
DURABLE = "ngsild-notify"
ACCEPTS = ("application/json", "application/ld+json")


# ------------------------------------------------------------------------------------------------ parsing


def parse(body: dict[str, Any], ctx: Context, *, partial: bool = False) -> dict[str, Any]:
    """Validate a subscription (or, `partial`, a PATCH fragment of one); returns its expanded spec."""
    spec: dict[str, Any] = {}
    if not partial and body.get("type") != "Subscription":
        raise bad_data('a subscription has "type": "Subscription"')
    if "id" in body and not is_uri(body["id"]):
        raise bad_data("the subscription id must be a URI")
    if "entities" in body:
        ents = body["entities"]
        if not isinstance(ents, list) or not ents:
            raise bad_data("entities must be a non-empty array")
        spec["entities"] = []
        for e in ents:
            if not isinstance(e, dict) or not isinstance(e.get("type"), str):
                raise bad_data("each entities item needs a type")
            item: dict[str, Any] = {"type": ctx.expand(e["type"])}
            if "id" in e:
                if not is_uri(e["id"]):
                    raise bad_data("entities[].id must be a URI")
                item["id"] = e["id"]
            if "idPattern" in e:
                try:
                    re.compile(e["idPattern"])
                except (re.error, TypeError):
                    raise bad_data("entities[].idPattern is not a regular expression") from None
                item["idPattern"] = e["idPattern"]
            spec["entities"].append(item)
    if "watchedAttributes" in body:
        wa = body["watchedAttributes"]
        if not isinstance(wa, list) or not wa or not all(isinstance(a, str) for a in wa):
            raise bad_data("watchedAttributes must be a non-empty array of names")
        spec["watched"] = [ctx.expand(a) for a in wa]
    if not partial and "entities" not in spec and "watched" not in spec:
        raise bad_data("a subscription needs entities or watchedAttributes")
    if "timeInterval" in body:
        raise NgsiError("OperationNotSupported", "periodic subscriptions (timeInterval) are not supported")
    if "q" in body:
        if not isinstance(body["q"], str):
            raise bad_data("q must be a string")
        qlang.parse(body["q"])
        spec["q"] = body["q"]
    if "geoQ" in body:
        g = body["geoQ"]
        if not isinstance(g, dict):
            raise bad_data("geoQ must be an object")
        coords = g.get("coordinates")
        coords_text = coords if isinstance(coords, str) else orjson.dumps(coords).decode()
        geoquery.parse(
            g.get("georel"), g.get("geometry"), coords_text, ctx.expand(g.get("geoproperty") or "location")
        )
        spec["geoQ"] = {
            "georel": g.get("georel"),
            "geometry": g.get("geometry"),
            "coordinates": coords_text,
            "geoproperty": ctx.expand(g.get("geoproperty") or "location"),
        }
    if "notification" in body:
        spec["notification"] = _notification(body["notification"], ctx)
    elif not partial:
        raise bad_data("a subscription needs notification.endpoint.uri")
    if "expiresAt" in body:
        check_datetime(body["expiresAt"], "expiresAt")
    if "throttling" in body:
        t = body["throttling"]
        if isinstance(t, bool) or not isinstance(t, int | float) or t < 0:
            raise bad_data("throttling must be a non-negative number of seconds")
    if "isActive" in body and not isinstance(body["isActive"], bool):
        raise bad_data("isActive must be true or false")
    return spec


def _notification(n: Any, ctx: Context) -> dict[str, Any]:
    if not isinstance(n, dict) or not isinstance(n.get("endpoint"), dict):
        raise bad_data("notification.endpoint is required")
    uri = n["endpoint"].get("uri")
    if not isinstance(uri, str) or not re.match(r"^https?://[^\s]+$", uri):
        raise bad_data("notification.endpoint.uri must be an http(s) URL")
    accept = n["endpoint"].get("accept", "application/json")
    if accept not in ACCEPTS:
        raise bad_data(f"notification.endpoint.accept must be one of {', '.join(ACCEPTS)}")
    fmt = n.get("format", "normalized")
    if fmt not in ("normalized", "keyValues", "simplified", "concise"):
        raise bad_data("notification.format must be normalized or keyValues")
    attrs = n.get("attributes")
    if attrs is not None and (not isinstance(attrs, list) or not all(isinstance(a, str) for a in attrs)):
        raise bad_data("notification.attributes must be an array of names")
    return {
        "uri": uri,
        "accept": accept,
        "format": fmt,
        "attributes": [ctx.expand(a) for a in attrs] if attrs else None,
    }


def _expires(body: dict[str, Any]) -> datetime | None:
    raw = body.get("expiresAt")
    return datetime.fromisoformat(raw.replace("Z", "+00:00")) if isinstance(raw, str) else None


# ------------------------------------------------------------------------------------------------ storage


def create(db: Session, principal: Any, body: dict[str, Any], ctx: Context) -> NgsiSubscription:
    principal.require(service.READ)
    spec = parse(body, ctx)
    sub_id = body.get("id") or f"urn:ngsi-ld:Subscription:{uuid.uuid4().hex}"
    if db.scalar(select(NgsiSubscription.id).where(NgsiSubscription.sub_id == sub_id)) is not None:
        raise NgsiError("AlreadyExists", f"subscription {sub_id} already exists")
    row = NgsiSubscription(
        sub_id=sub_id,
        user_id=principal.user_id,
        body={k: v for k, v in body.items() if k not in ("@context", "id")},
        context=ctx.source,
        spec=spec,
        is_active=body.get("isActive", True),
        expires_at=_expires(body),
        times_sent=0,
    )
    db.add(row)
    db.flush()
    return row


def _visible(principal: Any) -> Any:
    stmt = select(NgsiSubscription)
    if not principal.is_admin:
        stmt = stmt.where(NgsiSubscription.user_id == principal.user_id)
    return stmt


def get(db: Session, principal: Any, sub_id: str) -> NgsiSubscription:
    principal.require(service.READ)
    row = db.scalar(_visible(principal).where(NgsiSubscription.sub_id == sub_id))
    if row is None:
        raise NgsiError("ResourceNotFound", f"subscription {sub_id} not found")
    return row


def listing(db: Session, principal: Any, limit: int, offset: int) -> tuple[list[NgsiSubscription], int]:
    principal.require(service.READ)
    rows = list(db.scalars(_visible(principal).order_by(NgsiSubscription.id)))
    return rows[offset : offset + limit], len(rows)


def update(db: Session, principal: Any, sub_id: str, fragment: dict[str, Any], ctx: Context) -> None:
    row = get(db, principal, sub_id)
    if fragment.get("id", sub_id) != sub_id:
        raise bad_data("the id of a subscription cannot change")
    parse(fragment, ctx, partial=True)
    merged = {**row.body, **{k: v for k, v in fragment.items() if k not in ("@context", "id")}}
    row.spec = parse({**merged, "type": "Subscription"}, ctx)
    row.body = merged
    if ctx.source is not None:
        row.context = ctx.source
    row.is_active = merged.get("isActive", True)
    row.expires_at = _expires(merged)
    db.flush()


def delete(db: Session, principal: Any, sub_id: str) -> None:
    db.delete(get(db, principal, sub_id))
    db.flush()


def status_of(row: NgsiSubscription) -> str:
    if row.expires_at is not None and row.expires_at <= utcnow():
        return "expired"
    return "active" if row.is_active else "paused"


def render(row: NgsiSubscription) -> tuple[dict[str, Any], Context]:
    """The subscription in its owner's terms, with the broker's status members."""
    ctx = context.from_value(row.context)
    body = dict(row.body)
    notification = dict(body.get("notification") or {})
    notification["timesSent"] = row.times_sent
    notification["status"] = (
        "failed"
        if (row.last_failure and (not row.last_success or row.last_failure > row.last_success))
        else "ok"
    )
    for name, at in (
        ("lastNotification", row.last_notification),
        ("lastSuccess", row.last_success),
        ("lastFailure", row.last_failure),
    ):
        if at is not None:
            notification[name] = iso(at)
    body["notification"] = notification
    return {"id": row.sub_id, **body, "isActive": row.is_active, "status": status_of(row)}, ctx


# ------------------------------------------------------------------------------------------------ matching


@dataclass
class Outgoing:
    sub_pk: int
    uri: str
    accept: str
    payload: dict[str, Any]
    link: str | None


def _entity_selected(spec: dict[str, Any], view: service.EntityView) -> bool:
    ents = spec.get("entities")
    if not ents:
        return True
    for e in ents:
        if e["type"] not in view.types:
            continue
        if "id" in e and e["id"] != view.id:
            continue
        if "idPattern" in e and not re.search(e["idPattern"], view.id):
            continue
        return True
    return False


def plan(db: Session, eid: str, changed: list[str] | None) -> list[Outgoing]:
    """The notifications one entity change calls for."""
    now = utcnow()
    out: list[Outgoing] = []
    rows = db.scalars(select(NgsiSubscription).where(NgsiSubscription.is_active.is_(True)))
    principals: dict[int, Any] = {}
    for row in rows:
        spec = row.spec
        if row.expires_at is not None and row.expires_at <= now:
            continue
        watched = spec.get("watched")
        if watched and changed is not None and not set(watched) & set(changed):
            continue
        throttle = row.body.get("throttling")
        if throttle and row.last_notification and now - row.last_notification < timedelta(seconds=throttle):
            continue
        if row.user_id not in principals:
            user = db.get(User, row.user_id)
            principals[row.user_id] = (
                auth_service.principal_for(db, user, via="token")
                if user is not None and user.active
                else None
            )
        principal = principals[row.user_id]
        if principal is None:
            continue
        try:
            view = service.get_entity(db, principal, eid)
        except AppError:
            continue  # gone, or outside what the owner may read
        ctx = context.from_value(row.context)
        if not _entity_selected(spec, view):
            continue
        if spec.get("q") and not qlang.matches(qlang.parse(spec["q"]), view.attrs, ctx.expand):
            continue
        if spec.get("geoQ"):
            g = spec["geoQ"]
            geo = geoquery.parse(g["georel"], g["geometry"], g["coordinates"], g["geoproperty"])
            if geo is not None and not service.geo_matches(view, geo):
                continue
        n = spec["notification"]
        attrs = set(n["attributes"]) if n.get("attributes") else None
        entity = compact_entity(
            view.id,
            view.types,
            view.attrs,
            ctx,
            key_values=n["format"] in ("keyValues", "simplified"),
            pick=attrs,
        )
        payload: dict[str, Any] = {
            "id": f"urn:ngsi-ld:Notification:{uuid.uuid4().hex}",
            "type": "Notification",
            "subscriptionId": row.sub_id,
            "notifiedAt": now_iso(),
            "data": [entity],
        }
        link = None
        if n["accept"] == "application/ld+json":
            payload["@context"] = ctx.body_value()
        else:
            link = context.link_header(ctx)
        row.last_notification = now
        out.append(Outgoing(row.id, n["uri"], n["accept"], payload, link))
    return out


def record(db: Session, results: list[tuple[int, bool]]) -> None:
    now = utcnow()
    for pk, ok in results:
        row = db.get(NgsiSubscription, pk)
        if row is None:
            continue
        row.times_sent += 1
        row.last_notification = now
        if ok:
            row.last_success = now
        else:
            row.last_failure = now


# ------------------------------------------------------------------------------------------------ notifier


class Notifier:
    """Consumes entity and asset events from the bus and sends the notifications they call for."""

    def __init__(self, db: Database, timeout_s: float = 5.0) -> None:
        self.db = db
        self.http = httpx.AsyncClient(timeout=timeout_s)
        self.subscriptions: list[Any] = []

    async def start(self, bus: Any) -> None:
        for pattern in PATTERNS:
            self.subscriptions.append(
                await bus.subscribe(pattern, self.handle, durable=DURABLE + "-" + pattern.split(".")[1])
            )

    async def close(self) -> None:
        for sub in self.subscriptions:
            await sub.unsubscribe()
        await self.http.aclose()

    async def handle(self, event: Event) -> None:
        target = _target(event)
        if target is None:
            return
        outgoing = await asyncio.to_thread(self._plan, *target)
        if not outgoing:
            return
        results = await asyncio.gather(*(self._send(o) for o in outgoing))
        await asyncio.to_thread(
            self._record, [(o.sub_pk, ok) for o, ok in zip(outgoing, results, strict=True)]
        )

    def _plan(self, eid: str, changed: list[str] | None) -> list[Outgoing]:
        # only reads: on SQLite it must not queue for the write lock once per entity change
        with self.db.read_session() as db:
            if eid.startswith("asset:"):
                asset = db.get(Asset, int(eid[6:]))
                if asset is None:
                    return []
                eid = assets_view.entity_id(asset)
            return plan(db, eid, changed)

    def _record(self, results: list[tuple[int, bool]]) -> None:
        with self.db.session() as db:
            record(db, results)

    async def _send(self, o: Outgoing) -> bool:
        headers = {"Content-Type": o.accept}
        if o.link:
            headers["Link"] = o.link
        try:
            r = await self.http.post(o.uri, content=orjson.dumps(o.payload), headers=headers)
        except httpx.HTTPError as exc:
            log.warning("notification to %s failed: %s", o.uri, exc)
            return False
        if r.status_code >= 300:
            log.warning("notification to %s answered %s", o.uri, r.status_code)
            return False
        return True


def _target(event: Event) -> tuple[str, list[str] | None] | None:
    """(entity id, changed attribute IRIs or None for "any") of an event, or None when it concerns none."""
    subject = event.subject
    if subject.startswith(service.SUBJECT):
        if subject.endswith(".deleted"):
            return None
        return str(event.data.get("id")), list(event.data.get("attrs") or [])
    if subject in ("toancanh.core.asset.created", "toancanh.core.asset.updated") and "id" in event.data:
        return f"asset:{int(event.data['id'])}", None
    return None
