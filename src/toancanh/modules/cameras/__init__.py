"""Cameras (camera giám sát): the registry, health, live view, the camera wall and zones.

The analytics pipeline (motion, detectors, tracking, scenarios) comes in a later slice and reads the
registry and zones through `service.py`.
"""

from pathlib import Path
from typing import Any

from toancanh.core.modules import Module, NavItem
from toancanh.modules.cameras import api, forms, web
from toancanh.modules.cameras.cli import cli
from toancanh.modules.cameras.runtime import CamerasRuntime


async def _startup(app: Any) -> None:
    app.state.cameras = CamerasRuntime(app)
    await app.state.cameras.start()


async def _shutdown(app: Any) -> None:
    runtime: CamerasRuntime | None = getattr(app.state, "cameras", None)
    if runtime is not None:
        await runtime.stop()


module = Module(
    name="cameras",
    title_vi="Camera",
    title_en="Cameras",
    routers=[api.router],
    web_routers=[forms.router, web.router],
    permissions={
        # cameras.unblurred: faces and plates unblurred in views (privacy.py); other roles see them blurred
        "operator": {"cameras.read", "cameras.write", "cameras.view", "cameras.unblurred"},
        "leader": {"cameras.read", "cameras.view"},
        "agency_staff": {"cameras.read"},
        "viewer": {"cameras.read"},
        "admin": {"cameras.discover"},
    },
    nav=[
        NavItem("/cameras", "Camera", "Cameras", permission="cameras.read"),
        NavItem("/cameras/wall", "Màn hình camera", "Camera wall", permission="cameras.view"),
    ],
    cli=cli,
    on_startup=[_startup],
    on_shutdown=[_shutdown],
    templates_dir=str(Path(__file__).parent / "templates"),
)
