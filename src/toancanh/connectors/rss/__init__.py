"""Báo điện tử qua RSS 2.0 / Atom 1.0 (News sites' RSS 2.0 and Atom 1.0 feeds).

The sources themselves (address, unit, extraction rules, period) are records of the media module
(`/media/sources`); this connector only fetches them, in one process at a time (the lease
`connector:rss`), through the process's one polite fetcher (robots.txt, per-host rate limit, conditional
requests). Settings: `media_poll_s` (how often to look for due sources), `media_host_interval_s`.
"""

from __future__ import annotations

from toancanh.connectors.rss.const import DOMAIN, SOURCE_KINDS
from toancanh.core.connectors import Connector
from toancanh.modules.media.polling import connector_setup

connector = Connector(
    name=DOMAIN,
    title_vi="Tin RSS/Atom",
    title_en="RSS and Atom news feeds",
    setup=connector_setup(DOMAIN, SOURCE_KINDS),
)
