"""Epidemic monitoring (giám sát dịch bệnh): cases (anonymized outside the health sector), contacts, tests,
quarantine, lockdown points, quarantine zones, vaccination coverage and treatment capacity per commune, and
the weekly epidemic level per commune from a criteria table kept as data (COVID-19 under QĐ 4800/QĐ-BYT
ships)."""

from pathlib import Path

from toancanh.core.modules import Module, NavItem
from toancanh.modules.health import api, service, web

module = Module(
    name="health",
    title_vi="Giám sát dịch bệnh",
    title_en="Epidemic monitoring",
    routers=[api.router],
    web_routers=[web.router],
    # health.personal counts only on health-sector grants (domains naming "health"): service.personal_ok
    permissions={
        "operator": {service.READ, service.WRITE, service.PERSONAL},
        "agency_staff": {service.READ, service.WRITE, service.PERSONAL},
        "leader": {service.READ},
        "viewer": {service.READ},
    },
    nav=[NavItem("/health", "Dịch bệnh", "Epidemics", icon="✚", permission=service.READ)],
    on_startup=[service.start],
    templates_dir=str(Path(__file__).parent / "templates"),
)
