"""Trang tin đọc theo quy tắc CSS/XPath/regex lưu cùng nguồn
(News pages read by the CSS/XPath/regex rules stored with each source).

The sources themselves (address, unit, extraction rules, period) are records of the media module
(`/media/sources`); this connector only fetches them, in one process at a time (the lease
`connector:web_page`), through the process's one polite fetcher (robots.txt, per-host rate limit, conditional
requests). Settings: `media_poll_s` (how often to look for due sources), `media_host_interval_s`.
"""

from __future__ import annotations

from toancanh.connectors.web_page.const import DOMAIN, SOURCE_KINDS
from toancanh.core.connectors import Connector
from toancanh.modules.media.polling import connector_setup

connector = Connector(
    name=DOMAIN,
    title_vi="Trang tin (trích xuất theo quy tắc)",
    title_en="News pages by extraction rules",
    setup=connector_setup(DOMAIN, SOURCE_KINDS),
)
