"""Direction and operation (chỉ đạo điều hành): leaders' directives and the tasks agencies carry out, and
the e-documents register (văn bản điện tử đến / đi), the work calendar (lịch công tác) and meetings."""

from pathlib import Path
from typing import Any

from toancanh.core.modules import Module, NavItem
from toancanh.modules.direction import (
    api,
    calendar_api,
    calendar_form,
    calendar_public,
    calendar_web,
    deadlines,
    edocs_api,
    edocs_web,
    figures,
    mobile,
    web,
)
from toancanh.modules.direction.cli import cli
from toancanh.modules.direction.workflow import DIRECTION_TASK


async def _startup(app: Any) -> None:
    app.state.workflow.register(DIRECTION_TASK)


module = Module(
    name="direction",
    title_vi="Chỉ đạo điều hành",
    title_en="Direction and operation",
    # /ranking and /stats are declared before /{task_id}
    routers=[api.directives, api.tasks, edocs_api.router, calendar_api.entries, calendar_api.meeting_router],
    web_routers=[
        edocs_web.router,
        calendar_form.router,
        calendar_web.router,
        calendar_public.router,
        mobile.router,
        web.router,
    ],
    permissions={
        "leader": {"direction.read", "direction.issue", "edocuments.write", "calendar.write"},
        "operator": {"direction.read", "edocuments.write", "calendar.write"},
        "agency_staff": {"direction.read", "direction.act"},
    },
    nav=[
        NavItem("/direction", "Chỉ đạo điều hành", "Directions", icon="✔", permission="direction.read"),
        NavItem("/direction/mobile", "Lãnh đạo (điện thoại)", "Leader (phone)", permission="direction.issue"),
        NavItem(
            "/direction/calendar", "Lịch công tác", "Work calendar", icon="📅", permission="direction.read"
        ),
    ],
    cli=cli,
    on_startup=[_startup, deadlines.start, figures.start],
    templates_dir=str(Path(__file__).parent / "templates"),
)
