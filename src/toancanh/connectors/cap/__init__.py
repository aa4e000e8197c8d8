"""CAP alert feeds in (*nhận bản tin cảnh báo CAP*): a national weather service's warnings, or those of any
sector system that publishes OASIS Common Alerting Protocol 1.2, become events of the warning center.

Settings: `cap_feeds` (http(s) URLs or local files: a CAP alert, or an Atom/RSS feed of them), `cap_poll_s`.
Sector systems can also push one alert at a time to `POST /api/v1/alerts/cap` (the alerts module), which reads
it the same way (`parse.py`). The IOC's own public warnings go out as CAP too (`modules/alerts/cap_out.py`).
"""

from __future__ import annotations

import logging
from typing import Any

from toancanh.connectors.cap.const import DEFAULT_STATUSES, DOMAIN
from toancanh.core.connectors import Connector, Coordinator

log = logging.getLogger("toancanh.connectors.cap")


async def _setup(app: Any) -> Coordinator | None:
    from toancanh.connectors.cap.coordinator import CapCoordinator, database_units, record_via_app

    settings = app.state.settings
    if not settings.cap_feeds:
        log.info("connector cap: no feeds configured (cap_feeds): nothing to poll")
        return None

    def record(items: list[Any]) -> Any:
        return record_via_app(app, items)

    coordinator = CapCoordinator(
        settings.cap_feeds,
        record=record,
        units=database_units(app.state.db),
        poll_interval_s=settings.cap_poll_s,
        # Test, Exercise or Draft alerts are recorded only when a `cap_statuses` setting asks for them.
        statuses=getattr(settings, "cap_statuses", DEFAULT_STATUSES),
    )
    await coordinator.start()
    return coordinator


async def _teardown(app: Any) -> None:
    """Nothing to release: the app stops the coordinator, and each poll closes its own HTTP client."""


connector = Connector(
    name=DOMAIN,
    title_vi="Bản tin cảnh báo CAP",
    title_en="CAP alert feeds",
    setup=_setup,
    teardown=_teardown,
)
