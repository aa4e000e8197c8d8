"""Video analytics (phân tích hình ảnh), first slice: per camera, motion first, a detector plugin on the
motion regions, a tracker, zone logic (enter/leave with inertia, loitering, line crossing) and events with
their best snapshot recorded through the alerts module.

Pipelines start only with the setting `vision_enabled` (off by default: a small server has two cores), each
camera's in the process holding its lease `vision:<id>`: the single process of a commune, or one of a
province's workers (never an API replica).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from toancanh.core.modules import Module, NavItem
from toancanh.modules.vision import api, web


async def _startup(app: Any) -> None:
    if not app.state.settings.vision_enabled:
        return
    from toancanh.modules.vision.runtime import VisionRuntime

    app.state.vision = VisionRuntime(app)
    await app.state.vision.start()


async def _shutdown(app: Any) -> None:
    runtime = getattr(app.state, "vision", None)
    if runtime is not None:
        import asyncio

        await asyncio.to_thread(runtime.stop)


module = Module(
    name="vision",
    title_vi="Phân tích hình ảnh",
    title_en="Video analytics",
    routers=[api.router],
    web_routers=[web.router],
    nav=[NavItem("/vision", "Phân tích hình ảnh", "Video analytics", permission="cameras.read")],
    templates_dir=str(Path(__file__).parent / "templates"),
    on_startup=[_startup],
    on_shutdown=[_shutdown],
)
