"""Notifications (thông báo): a user's inbox, webhooks, and `notify` for other modules.

Other modules either emit events (the worker in `delivery.py` routes them, see `routing.py`) or, for a
message that is no event, call :func:`notify` in their own transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, NotFound
from toancanh.core.units import unit_by_code
from toancanh.modules.notifications.models import Delivery, Notification, Webhook
from toancanh.modules.notifications.schemas import WebhookIn

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


def create_webhook(db: Session, body: WebhookIn) -> Webhook:
    unit_id = None
    if body.unit_code:
        try:
            unit_id = unit_by_code(db, body.unit_code).id
        except NotFound as exc:
            raise BadRequest(
                "Đơn vị không tồn tại", "Unknown unit", details={"unit_code": body.unit_code}
            ) from exc
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
    return hook


def webhooks(db: Session) -> list[Webhook]:
    return list(db.scalars(select(Webhook).order_by(Webhook.id)))


def get_webhook(db: Session, webhook_id: int) -> Webhook:
    hook = db.get(Webhook, webhook_id)
    if hook is None:
        raise NotFound("Không tìm thấy webhook", "No such webhook")
    return hook


def delete_webhook(db: Session, webhook_id: int) -> None:
    db.delete(get_webhook(db, webhook_id))


def deliveries(db: Session, *, webhook_id: int | None = None, limit: int = PAGE) -> list[Delivery]:
    """The delivery log, newest first (optionally one webhook's)."""
    stmt = select(Delivery)
    if webhook_id is not None:
        stmt = stmt.where(Delivery.channel == "webhook", Delivery.target == f"webhook:{webhook_id}")
    return list(db.scalars(stmt.order_by(Delivery.id.desc()).limit(limit)))
