"""The rss connector's coordinator: the media module's one source poller, on the kinds in const.py
(every `media_poll_s` seconds, the due sources, fetched politely, read through the media pipeline)."""

from __future__ import annotations

from toancanh.modules.media.polling import SourcePoller

__all__ = ["SourcePoller"]
