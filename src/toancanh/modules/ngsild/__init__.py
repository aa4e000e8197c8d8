"""NGSI-LD context broker (ETSI GS CIM 009): the IOC's entities, assets and last readings at /ngsi-ld/v1,
with batch operations, subscriptions (HTTP notifications from the bus) and the temporal API."""

from typing import Any

from toancanh.core.modules import Module
from toancanh.modules.ngsild import api, api_batch, api_more, web
from toancanh.modules.ngsild.service import READ, WRITE
from toancanh.modules.ngsild.subscriptions import Notifier


async def _startup(app: Any) -> None:
    notifier = Notifier(app.state.db)
    await notifier.start(app.state.bus)
    app.state.ngsild_notifier = notifier


async def _shutdown(app: Any) -> None:
    notifier: Notifier | None = getattr(app.state, "ngsild_notifier", None)
    if notifier is not None:
        await notifier.close()


module = Module(
    name="ngsild",
    title_vi="Giao diện NGSI-LD",
    title_en="NGSI-LD API",
    routers=[api.router, api_batch.router, api_more.router, api.contexts_router],
    web_routers=[web.router],
    permissions={
        "operator": {READ, WRITE},
        "leader": {READ},
        "agency_staff": {READ},
        "viewer": {READ},
    },
    on_startup=[_startup],
    on_shutdown=[_shutdown],
)
