"""Constants of the rss connector."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "rss"
SOURCE_KINDS: Final = ("rss",)  # the media sources (media_sources.kind) this connector fetches
