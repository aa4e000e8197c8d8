"""Notifications (thông báo): in-app inbox, e-mail (SMTP) and webhooks, fed by the event bus."""

from pathlib import Path
from typing import Any

from toancanh.core.modules import Module
from toancanh.modules.notifications import api, web
from toancanh.modules.notifications.delivery import Dispatcher, SmtpConfig

PATTERN = "toancanh.>"


async def _startup(app: Any) -> None:
    s = app.state.settings
    smtp = None
    if s.smtp_host:
        smtp = SmtpConfig(
            s.smtp_host, s.smtp_port, s.smtp_from, s.smtp_user, s.smtp_password, s.smtp_starttls
        )
    dispatcher = Dispatcher(app.state.db, smtp=smtp, site_name=s.site_name, public_url=s.public_url)
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
    routers=[api.router, api.webhooks_router],
    web_routers=[web.router],
    permissions={"admin": {"webhooks.manage"}},
    on_startup=[_startup],
    on_shutdown=[_shutdown],
    templates_dir=str(Path(__file__).parent / "templates"),
)
