"""Notifications (thông báo): in-app inbox, e-mail, SMS and Zalo by notification routes, and webhooks, fed
by the event bus."""

from pathlib import Path
from typing import Any

from toancanh.core.modules import Module, NavItem
from toancanh.modules.notifications import api, web, web_channels
from toancanh.modules.notifications.api import MANAGE_CHANNELS
from toancanh.modules.notifications.delivery import Dispatcher

PATTERN = "toancanh.>"


async def _startup(app: Any) -> None:
    s = app.state.settings
    dispatcher = Dispatcher.from_settings(app.state.db, s)
    dispatcher.subscription = await app.state.bus.subscribe(
        PATTERN, dispatcher.handle, durable=s.notifications_durable
    )
    app.state.notifications = dispatcher


async def _shutdown(app: Any) -> None:
    dispatcher: Dispatcher | None = getattr(app.state, "notifications", None)
    if dispatcher is not None:
        await dispatcher.close()


module = Module(
    name="notifications",
    title_vi="Thông báo",
    title_en="Notifications",
    routers=[api.router, api.webhooks_router, api.routes_router],
    web_routers=[web.router, web_channels.router],
    permissions={"admin": {"webhooks.manage", MANAGE_CHANNELS}},
    nav=[
        NavItem(
            "/notifications/channels", "Kênh thông báo", "Notification channels", permission=MANAGE_CHANNELS
        )
    ],
    on_startup=[_startup],
    on_shutdown=[_shutdown],
    templates_dir=str(Path(__file__).parent / "templates"),
)
