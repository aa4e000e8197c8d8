"""Notifications API: the caller's inbox; webhooks, notification routes and the delivery log for
administrators."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response

from toancanh.core.api.deps import CurrentPrincipal, DetachedPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.modules.notifications import service
from toancanh.modules.notifications.delivery import Dispatcher
from toancanh.modules.notifications.schemas import (
    DeliveryOut,
    NotificationOut,
    RecipientOutcome,
    RouteIn,
    RouteOut,
    RouteTestResult,
    UnreadCount,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
)

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])
webhooks_router = APIRouter(prefix="/api/v1/webhooks", tags=["notifications"])
routes_router = APIRouter(prefix="/api/v1/notification-routes", tags=["notifications"])

MANAGE = "webhooks.manage"
MANAGE_CHANNELS = "notifications.manage"  # routes, gateways and the delivery log (administrators)


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


@router.get("/deliveries")
def deliveries(
    db: SessionDep,
    principal: CurrentPrincipal,
    channel: Literal["email", "sms", "zalo", "webhook"] | None = None,
    status: Literal["pending", "retry", "sent", "failed"] | None = None,
    limit: int = Query(default=service.PAGE, ge=1, le=500),
) -> list[DeliveryOut]:
    """The delivery log of e-mails, SMS, Zalo messages and webhook calls, newest first."""
    principal.require(MANAGE_CHANNELS)
    rows = service.deliveries(db, channel=channel, status=status, limit=limit)
    return [DeliveryOut.model_validate(r) for r in rows]


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
    hook = service.create_webhook(db, body, principal)
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
    service.delete_webhook(db, webhook_id, principal)
    return Response(status_code=204)


# ------------------------------------------------------------------------------------------ routes


@routes_router.get("")
def list_routes(db: SessionDep, principal: CurrentPrincipal) -> list[RouteOut]:
    principal.require(MANAGE_CHANNELS)
    return [RouteOut.model_validate(r) for r in service.routes(db)]


@routes_router.post("", status_code=201)
def create_route(body: RouteIn, db: SessionDep, principal: CurrentPrincipal) -> RouteOut:
    """A notification route: which alerts reach whom (roles, users, addresses) on which channels."""
    principal.require(MANAGE_CHANNELS)
    return RouteOut.model_validate(service.create_route(db, body, principal))


@routes_router.get("/{route_id}")
def get_route(route_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> RouteOut:
    principal.require(MANAGE_CHANNELS)
    return RouteOut.model_validate(service.get_route(db, route_id))


@routes_router.put("/{route_id}")
def update_route(route_id: DbId, body: RouteIn, db: SessionDep, principal: CurrentPrincipal) -> RouteOut:
    """Replace a route with `body` (every field; the ones left out take their defaults)."""
    principal.require(MANAGE_CHANNELS)
    return RouteOut.model_validate(service.update_route(db, route_id, body, principal))


@routes_router.delete("/{route_id}", status_code=204)
def delete_route(route_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> Response:
    principal.require(MANAGE_CHANNELS)
    service.delete_route(db, route_id, principal)
    return Response(status_code=204)


@routes_router.post("/{route_id}/test")
async def test_route(route_id: DbId, request: Request, principal: DetachedPrincipal) -> RouteTestResult:
    """Send a test message to the route's recipients now; the outcome for each recipient."""
    principal.require(MANAGE_CHANNELS)
    dispatcher: Dispatcher = request.app.state.notifications
    sent = await dispatcher.send_test(route_id, principal)
    outcomes = [
        RecipientOutcome(channel=o.channel, to=o.to, user=o.user, ok=o.ok, status=o.status) for o in sent
    ]
    ok = sum(o.ok for o in outcomes)
    return RouteTestResult(route_id=route_id, sent=ok, failed=len(outcomes) - ok, outcomes=outcomes)
