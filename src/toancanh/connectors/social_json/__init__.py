"""Bài đăng mạng xã hội từ một API trả JSON, ánh xạ trường theo nguồn
(Social posts from an API answering JSON, fields mapped per source).

The sources themselves (address, unit, extraction rules, period) are records of the media module
(`/media/sources`); this connector only fetches them, in one process at a time (the lease
`connector:social_json`), through the process's one polite fetcher (robots.txt, per-host rate limit,
conditional requests). Settings: `media_poll_s` (how often to look for due sources), `media_host_interval_s`.
"""

from __future__ import annotations

from toancanh.connectors.social_json.const import DOMAIN, SOURCE_KINDS
from toancanh.core.connectors import Connector
from toancanh.modules.media.polling import connector_setup

connector = Connector(
    name=DOMAIN,
    title_vi="Mạng xã hội (JSON API)",
    title_en="Social posts (JSON API)",
    setup=connector_setup(DOMAIN, SOURCE_KINDS),
)
