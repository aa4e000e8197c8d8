"""Notifications API: the caller's inbox, and webhooks for administrators."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response

from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.modules.notifications import service
from toancanh.modules.notifications.schemas import (
    NotificationOut,
    UnreadCount,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
)

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
webhooks_router = APIRouter(prefix="/api/v1/webhooks", tags=["notifications"])

MANAGE = "webhooks.manage"


@router.get("")
def inbox(
    db: SessionDep,
    principal: CurrentPrincipal,
    unread: bool = False,
    limit: int = Query(default=service.PAGE, ge=1, le=200),
    before_id: DbId | None = None,
) -> list[NotificationOut]:
    """The caller's notifications, newest first (`unread=true`: only the unread ones)."""
    rows = service.inbox(db, principal, unread=unread, limit=limit, before_id=before_id)
    return [NotificationOut.model_validate(r) for r in rows]


@router.get("/unread-count")
def unread_count(db: SessionDep, principal: CurrentPrincipal) -> UnreadCount:
    return UnreadCount(unread=service.unread_count(db, principal))


@router.post("/read-all")
def read_all(db: SessionDep, principal: CurrentPrincipal) -> UnreadCount:
    service.mark_all_read(db, principal)
    return UnreadCount(unread=0)


@router.post("/{notification_id}/read")
def read(notification_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> NotificationOut:
    return NotificationOut.model_validate(service.mark_read(db, principal, notification_id))


@webhooks_router.post("", status_code=201)
def create_webhook(body: WebhookIn, db: SessionDep, principal: CurrentPrincipal) -> WebhookCreated:
    """Register a webhook; the signing secret is returned this once."""
    principal.require(MANAGE)
    hook = service.create_webhook(db, body)
    return WebhookCreated.model_validate(hook)


@webhooks_router.get("")
def list_webhooks(db: SessionDep, principal: CurrentPrincipal) -> list[WebhookOut]:
    principal.require(MANAGE)
    return [WebhookOut.model_validate(h) for h in service.webhooks(db)]


@webhooks_router.get("/{webhook_id}")
def get_webhook(webhook_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> WebhookOut:
    principal.require(MANAGE)
    return WebhookOut.model_validate(service.get_webhook(db, webhook_id))


@webhooks_router.delete("/{webhook_id}", status_code=204)
def delete_webhook(webhook_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> Response:
    principal.require(MANAGE)
    service.delete_webhook(db, webhook_id)
    return Response(status_code=204)
