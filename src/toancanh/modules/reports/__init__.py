"""Citizen field reports (phản ánh hiện trường): from a phone photo to a rated resolution."""

from pathlib import Path
from typing import Any

from toancanh.core.modules import Module, NavItem
from toancanh.modules.reports import (
    api,
    dashboard,
    deadlines,
    hotline,
    moderation_api,
    open311,
    retention,
    service,
    stats,
    web,
)
from toancanh.modules.reports.workflow import FIELD_REPORT


async def _startup(app: Any) -> None:
    app.state.workflow.register(FIELD_REPORT)
    with app.state.db.session() as db:
        service.ensure_categories(db)


module = Module(
    name="reports",
    title_vi="Phản ánh hiện trường",
    title_en="Field reports",
    # stats and moderation first: /stats and /blocks, not /{report_id}
    routers=[stats.router, moderation_api.router, api.router, open311.router],
    web_routers=[web.router, hotline.router, dashboard.router],
    permissions={
        "operator": {
            "reports.read",
            "reports.assign",
            "reports.handle",
            "reports.moderate",
            "reports.identity",
            "reports.extend",
        },
        # leaders approve deadline extensions (gia hạn), as the head of an agency or of the unit
        "leader": {"reports.read", "reports.identity", "reports.extend"},
        "agency_staff": {"reports.read", "reports.handle"},
        "viewer": {"reports.read"},
        "admin": {"reports.configure"},
    },
    nav=[
        NavItem("/reports/queue", "Phản ánh", "Reports", permission="reports.read"),
        NavItem("/reports/stats", "Thống kê", "Statistics", permission="reports.read"),
    ],
    on_startup=[_startup, deadlines.start],
    templates_dir=str(Path(__file__).parent / "templates"),
    retention=retention.RULES,
)
