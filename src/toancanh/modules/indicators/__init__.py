"""Indicators (chỉ số, chỉ tiêu): the catalogue, data intake and approval, and the leader dashboard."""

from pathlib import Path
from typing import Any

from toancanh.core.modules import Module, NavItem
from toancanh.modules.indicators import api, web
from toancanh.modules.indicators.cli import cli
from toancanh.modules.indicators.service import APPROVE, MANAGE, READ, SUBMIT
from toancanh.modules.indicators.submissions import SUBMISSION


async def _startup(app: Any) -> None:
    app.state.workflow.register(SUBMISSION)


module = Module(
    name="indicators",
    title_vi="Chỉ số điều hành",
    title_en="Indicators",
    routers=[api.router],
    web_routers=[web.router],
    permissions={
        "leader": {READ, APPROVE, MANAGE},
        "operator": {READ, SUBMIT},
        "agency_staff": {READ, SUBMIT},
        "viewer": {READ},
    },
    nav=[
        NavItem("/indicators", "Chỉ số", "Indicators", permission=READ),
        NavItem("/indicators/submissions", "Nộp số liệu", "Data reports", permission=READ),
    ],
    cli=cli,
    on_startup=[_startup],
    templates_dir=str(Path(__file__).parent / "templates"),
)
