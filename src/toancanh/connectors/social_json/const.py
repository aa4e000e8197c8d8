"""Constants of the social_json connector."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "social_json"
SOURCE_KINDS: Final = ("social",)  # the media sources (media_sources.kind) this connector fetches
