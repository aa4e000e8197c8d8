"""SIEM and firewall alerts in (*tiếp nhận cảnh báo an toàn thông tin*): Wazuh JSON alerts, syslog (RFC 5424
and RFC 3164) and ArcSight CEF over UDP and TCP, recorded as events of the domain `infosec`; default rules
raise alerts and open incidents that run the information-security response procedure; `/siem` shows them by
severity, asset and unit.

Settings (docs/siem.md): `siem_syslog_host`, `siem_syslog_udp_port`, `siem_syslog_tcp_port`,
`siem_wazuh_alerts_file`, `siem_wazuh_from_start`, `siem_default_unit`, `siem_min_severity`,
`siem_syslog_max_level`, `siem_rate_per_s`, `siem_rate_burst`; enable with `connectors = ["siem"]`. Needs
the alerts module. Alerts can also be pushed to `POST /api/v1/siem/wazuh` and `POST /api/v1/siem/syslog`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from toancanh.connectors.siem.const import DOMAIN, LOGGER
from toancanh.core.connectors import Connector, Coordinator
from toancanh.core.modules import NavItem

log = logging.getLogger(LOGGER)


async def _setup(app: Any) -> Coordinator | None:
    import asyncio

    from toancanh.connectors.siem.api import pipeline_of
    from toancanh.connectors.siem.coordinator import SiemCoordinator
    from toancanh.connectors.siem.pipeline import Pipeline, SiemConfig
    from toancanh.connectors.siem.seed import ensure_seed

    if getattr(app.state, "alerts", None) is None:
        log.error('connector siem needs the alerts module (modules = [..., "alerts"]); not started')
        return None

    def seed() -> dict[str, int]:
        with app.state.db.session() as s:
            return ensure_seed(s)

    created = await asyncio.to_thread(seed)
    if created["rules"]:
        app.state.alerts.reload_rules()
    config = SiemConfig.from_settings(app.state.settings)
    if not (config.syslog_udp_port or config.syslog_tcp_port or config.wazuh_alerts_file):
        log.info("connector siem: no listener configured; alerts can still be pushed over HTTP")
        return None
    shared = pipeline_of(app)
    coordinator = SiemCoordinator(config, Pipeline(app.state.db, shared.record, config))
    await coordinator.start()
    return coordinator


def _routers() -> list[Any]:
    from toancanh.connectors.siem import api

    return [api.router]


def _web_routers() -> list[Any]:
    from toancanh.connectors.siem import web

    return [web.router]


connector = Connector(
    name=DOMAIN,
    title_vi="Cảnh báo an toàn thông tin (SIEM, tường lửa)",
    title_en="SIEM and firewall alerts",
    setup=_setup,
    routers=_routers(),
    web_routers=_web_routers(),
    templates_dir=str(Path(__file__).parent / "templates"),
    nav=[NavItem("/siem", "An toàn thông tin", "Infosec", permission="alerts.read")],
)
