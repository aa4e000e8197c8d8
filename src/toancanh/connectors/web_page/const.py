"""Constants of the web_page connector."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "web_page"
SOURCE_KINDS: Final = ("page",)  # the media sources (media_sources.kind) this connector fetches
