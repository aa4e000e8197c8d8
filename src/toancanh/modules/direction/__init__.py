"""Direction and operation (chỉ đạo điều hành): leaders' directives and the tasks agencies carry out."""

from pathlib import Path
from typing import Any

from toancanh.core.modules import Module, NavItem
from toancanh.modules.direction import api, deadlines, web
from toancanh.modules.direction.workflow import DIRECTION_TASK


async def _startup(app: Any) -> None:
    app.state.workflow.register(DIRECTION_TASK)


module = Module(
    name="direction",
    title_vi="Chỉ đạo điều hành",
    title_en="Direction and operation",
    # /ranking and /stats are declared before /{task_id}
    routers=[api.directives, api.tasks],
    web_routers=[web.router],
    permissions={
        "leader": {"direction.read", "direction.issue"},
        "operator": {"direction.read"},
        "agency_staff": {"direction.read", "direction.act"},
    },
    nav=[NavItem("/direction", "Chỉ đạo điều hành", "Directions", icon="✔", permission="direction.read")],
    on_startup=[_startup, deadlines.start],
    templates_dir=str(Path(__file__).parent / "templates"),
)
