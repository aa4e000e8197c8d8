"""Warning and command center (cảnh báo và chỉ huy): events, rules, alerts, incidents and SOPs."""

from pathlib import Path
from typing import Any

from toancanh.core.modules import Module, NavItem
from toancanh.modules.alerts import api, api_cap, api_devices, api_incidents, retention, sop, web
from toancanh.modules.alerts.runtime import AlertsRuntime
from toancanh.modules.alerts.sop_seed import ensure_sop_templates
from toancanh.modules.alerts.workflow import INCIDENT


async def _startup(app: Any) -> None:
    app.state.workflow.register(INCIDENT)
    with app.state.db.session() as db:
        ensure_sop_templates(db)
    app.state.alerts = AlertsRuntime(app)
    await app.state.alerts.start()


async def _shutdown(app: Any) -> None:
    runtime: AlertsRuntime | None = getattr(app.state, "alerts", None)
    if runtime is not None:
        await runtime.stop()


module = Module(
    name="alerts",
    title_vi="Cảnh báo và sự cố",
    title_en="Alerts and incidents",
    # incidents and rules before the alert ids: /api/v1/alerts/incidents, not /api/v1/alerts/{id}
    routers=[
        api_incidents.router,
        api_incidents.sops_router,
        api_cap.router,
        api_devices.router,
        api.router,
        api.telemetry_router,
    ],
    web_routers=[web.router],
    permissions={
        "operator": {
            "alerts.read",
            "alerts.ack",
            "telemetry.write",
            "rules.read",
            "rules.write",
            "incidents.read",
            "incidents.handle",
            "incidents.dispatch",
            "incidents.respond",
            "sops.run",
            "warnings.publish",
            "devices.manage",
        },
        "leader": {"alerts.read", "rules.read", "incidents.read", "sops.run", "warnings.publish"},
        "agency_staff": {"alerts.read", "incidents.read", "incidents.respond", "sops.run"},
        "viewer": {"alerts.read", "incidents.read", "rules.read"},
        "admin": {"sops.configure"},
    },
    nav=[
        NavItem("/alerts/console", "Cảnh báo", "Alerts", permission="alerts.read"),
        NavItem("/alerts/incidents", "Sự cố", "Incidents", permission="incidents.read"),
        NavItem("/alerts/rules", "Quy tắc", "Rules", permission="rules.read"),
    ],
    on_shutdown=[_shutdown],
    on_startup=[_startup, sop.start],
    templates_dir=str(Path(__file__).parent / "templates"),
    retention=retention.RULES,
)
