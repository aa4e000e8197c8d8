"""The rss poller: every `media_poll_s` seconds, fetch the enabled media sources of kind
rss whose own period (`poll_minutes`) has passed, politely, and read them through the media pipeline."""

from __future__ import annotations

from typing import Any

from toancanh.connectors.rss.const import DOMAIN, SOURCE_KINDS
from toancanh.core.connectors import Coordinator
from toancanh.modules.media import polling


class MediaSourceCoordinator(Coordinator):
    def __init__(self, app: Any, poll_interval_s: float) -> None:
        super().__init__(DOMAIN)
        self.app = app
        self.poll_interval_s = poll_interval_s

    async def run_once(self) -> None:
        counts = await polling.poll_due(self.app, SOURCE_KINDS)
        self.count("polls")
        for k, v in counts.items():
            self.count(k, v)
        if counts["polled"] and counts["errors"] == counts["polled"]:
            self.mark_unavailable(f"every due source failed ({counts['errors']})")
            return
        self.mark_available()
