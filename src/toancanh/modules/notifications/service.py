"""Notifications (thông báo): a user's inbox, webhooks, notification routes, and `notify` for other modules.

Other modules either emit events (the worker in `delivery.py` routes them, see `routing.py`) or, for a
message that is no event, call :func:`notify` in their own transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from toancanh.core import audit
from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, NotFound
from toancanh.core.units import Unit, unit_by_code
from toancanh.modules.notifications.models import Delivery, Notification, NotificationRoute, Webhook
from toancanh.modules.notifications.schemas import RouteIn, WebhookIn

PAGE = 50


def notify(
    db: Session,
    user_ids: Iterable[int],
    title_vi: str,
    title_en: str = "",
    *,
    body: str = "",
    link: str = "",
) -> list[Notification]:
    """In-app notifications for active users, in the caller's transaction."""
    ids = set(db.scalars(select(User.id).where(User.id.in_(set(user_ids)), User.active.is_(True))))
    rows = [
        Notification(
            user_id=uid,
            title_vi=title_vi[:300],
            title_en=(title_en or title_vi)[:300],
            body=body[:2000],
            link=link[:300] if link.startswith("/") and not link.startswith("//") else "",
            created_at=utcnow(),
        )
        for uid in sorted(ids)
    ]
    db.add_all(rows)
    db.flush()
    return rows


def inbox(
    db: Session,
    principal: Principal,
    *,
    unread: bool = False,
    limit: int = PAGE,
    before_id: int | None = None,
) -> list[Notification]:
    """The caller's notifications, newest first."""
    stmt = select(Notification).where(Notification.user_id == principal.user_id)
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    if before_id:
        stmt = stmt.where(Notification.id < before_id)
    return list(db.scalars(stmt.order_by(Notification.id.desc()).limit(limit)))


def unread_count(db: Session, principal: Principal) -> int:
    stmt = select(func.count()).where(
        Notification.user_id == principal.user_id, Notification.read_at.is_(None)
    )
    return int(db.scalar(stmt) or 0)


def own(db: Session, principal: Principal, notification_id: int) -> Notification:
    """One of the caller's notifications; 404 for anyone else's (no leak)."""
    row = db.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == principal.user_id
        )
    )
    if row is None:
        raise NotFound("Không tìm thấy thông báo", "No such notification")
    return row


def mark_read(
    db: Session, principal: Principal, notification_id: int, now: datetime | None = None
) -> Notification:
    row = own(db, principal, notification_id)
    if row.read_at is None:
        row.read_at = now or utcnow()
    return row


def mark_all_read(db: Session, principal: Principal, now: datetime | None = None) -> int:
    result = db.execute(
        update(Notification)
        .where(Notification.user_id == principal.user_id, Notification.read_at.is_(None))
        .values(read_at=now or utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


# ------------------------------------------------------------------------------------------ webhooks


def _unit_id(db: Session, unit_code: str | None, unit_id: int | None = None) -> int | None:
    if unit_id is not None:
        if db.get(Unit, unit_id) is None:
            raise BadRequest("Đơn vị không tồn tại", "Unknown unit", details={"unit_id": unit_id})
        return unit_id
    if not unit_code:
        return None
    try:
        return unit_by_code(db, unit_code).id
    except NotFound as exc:
        raise BadRequest("Đơn vị không tồn tại", "Unknown unit", details={"unit_code": unit_code}) from exc


def create_webhook(db: Session, body: WebhookIn, principal: Principal | None = None) -> Webhook:
    unit_id = _unit_id(db, body.unit_code)
    hook = Webhook(
        name=body.name.strip(),
        url=body.url,
        secret=body.secret or secrets.token_urlsafe(32),
        pattern=body.pattern,
        unit_id=unit_id,
        active=body.active,
        created_at=utcnow(),
    )
    db.add(hook)
    db.flush()
    audit.record_by(
        db,
        principal,
        "webhook.create",
        entity_type="webhook",
        entity_id=hook.id,
        unit_id=unit_id,
        changes=_webhook_summary(hook),  # never the secret
    )
    return hook


def _webhook_summary(hook: Webhook) -> dict[str, Any]:
    return {"name": hook.name, "url": hook.url, "pattern": hook.pattern, "unit_id": hook.unit_id}


def webhooks(db: Session) -> list[Webhook]:
    return list(db.scalars(select(Webhook).order_by(Webhook.id)))


def get_webhook(db: Session, webhook_id: int) -> Webhook:
    hook = db.get(Webhook, webhook_id)
    if hook is None:
        raise NotFound("Không tìm thấy webhook", "No such webhook")
    return hook


def delete_webhook(db: Session, webhook_id: int, principal: Principal | None = None) -> None:
    hook = get_webhook(db, webhook_id)
    audit.record_by(
        db,
        principal,
        "webhook.delete",
        entity_type="webhook",
        entity_id=hook.id,
        unit_id=hook.unit_id,
        changes=_webhook_summary(hook),
    )
    db.delete(hook)


def deliveries(
    db: Session,
    *,
    webhook_id: int | None = None,
    channel: str | None = None,
    status: str | None = None,
    limit: int = PAGE,
) -> list[Delivery]:
    """The delivery log, newest first (optionally one webhook's, one channel's, or in one status)."""
    stmt = select(Delivery)
    if webhook_id is not None:
        stmt = stmt.where(Delivery.channel == "webhook", Delivery.target == f"webhook:{webhook_id}")
    if channel:
        stmt = stmt.where(Delivery.channel == channel)
    if status:
        stmt = stmt.where(Delivery.status == status)
    return list(db.scalars(stmt.order_by(Delivery.id.desc()).limit(limit)))


# ------------------------------------------------------------------------------------------ routes


def route_summary(route: NotificationRoute) -> dict[str, Any]:
    return {
        "name": route.name,
        "active": route.active,
        "pattern": route.pattern,
        "unit_id": route.unit_id,
        "domain": route.domain,
        "min_severity": route.min_severity,
        "categories": list(route.categories),
        "channels": list(route.channels),
        "roles": list(route.roles),
        "user_ids": list(route.user_ids),
        "extra": list(route.extra),
    }


def _apply(db: Session, route: NotificationRoute, body: RouteIn) -> None:
    """Copy a validated body onto `route`, checking what only the database knows (unit, users)."""
    unit_id = _unit_id(db, body.unit_code, body.unit_id)
    if body.user_ids:
        known = set(db.scalars(select(User.id).where(User.id.in_(body.user_ids))))
        missing = [i for i in body.user_ids if i not in known]
        if missing:
            raise BadRequest("Người dùng không tồn tại", "Unknown users", details={"user_ids": missing[:20]})
    route.name = body.name
    route.active = body.active
    route.pattern = body.pattern
    route.unit_id = unit_id
    route.domain = body.domain
    route.min_severity = body.min_severity
    route.categories = list(body.categories)
    route.channels = list(body.channels)
    route.roles = list(body.roles)
    route.user_ids = list(body.user_ids)
    route.extra = [{"channel": e.channel, "address": e.address} for e in body.extra]


def create_route(db: Session, body: RouteIn, principal: Principal | None = None) -> NotificationRoute:
    route = NotificationRoute()
    _apply(db, route, body)
    db.add(route)
    db.flush()
    audit.record_by(
        db,
        principal,
        "notification_route.create",
        entity_type="notification_route",
        entity_id=route.id,
        unit_id=route.unit_id,
        changes=route_summary(route),
    )
    return route


def routes(db: Session) -> list[NotificationRoute]:
    return list(db.scalars(select(NotificationRoute).order_by(NotificationRoute.id)))


def get_route(db: Session, route_id: int) -> NotificationRoute:
    route = db.get(NotificationRoute, route_id)
    if route is None:
        raise NotFound("Không tìm thấy tuyến thông báo", "No such notification route")
    return route


def update_route(
    db: Session, route_id: int, body: RouteIn, principal: Principal | None = None
) -> NotificationRoute:
    route = get_route(db, route_id)
    before = route_summary(route)
    _apply(db, route, body)
    route.updated_at = utcnow()
    db.flush()
    audit.record_by(
        db,
        principal,
        "notification_route.update",
        entity_type="notification_route",
        entity_id=route.id,
        unit_id=route.unit_id,
        changes=audit.diff(before, route_summary(route)),
    )
    return route


def delete_route(db: Session, route_id: int, principal: Principal | None = None) -> None:
    route = get_route(db, route_id)
    audit.record_by(
        db,
        principal,
        "notification_route.delete",
        entity_type="notification_route",
        entity_id=route.id,
        unit_id=route.unit_id,
        changes=route_summary(route),
    )
    db.delete(route)
