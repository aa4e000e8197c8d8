"""Request bodies of the media API (validated here; the service checks scope and meaning)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from toancanh.core.api.schemas import DbId

Kind = Literal["rss", "page", "social", "manual"]
SentimentLabel = Literal["positive", "neutral", "negative"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SourceIn(_Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    unit_id: DbId
    url: str = Field(default="", max_length=1000)
    domain: str | None = Field(default=None, max_length=32)
    rules: dict[str, Any] = Field(default_factory=dict)
    enabled: bool = True
    poll_minutes: int = Field(default=30, ge=1, le=1440)


class SourceUpdate(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, max_length=1000)
    domain: str | None = Field(default=None, max_length=32)
    rules: dict[str, Any] | None = None
    enabled: bool | None = None
    poll_minutes: int | None = Field(default=None, ge=1, le=1440)


class TopicIn(_Strict):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")
    name: str = Field(min_length=1, max_length=200)
    expression: str = Field(min_length=1, max_length=2000)
    unit_id: DbId
    diacritic_insensitive: bool = True
    domain: str | None = Field(default=None, max_length=32)
    enabled: bool = True
    spike_min_count: int = Field(default=5, ge=2, le=10_000)


class TopicUpdate(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    expression: str | None = Field(default=None, min_length=1, max_length=2000)
    diacritic_insensitive: bool | None = None
    domain: str | None = Field(default=None, max_length=32)
    enabled: bool | None = None
    spike_min_count: int | None = Field(default=None, ge=2, le=10_000)


class RuleCheck(_Strict):
    expression: str = Field(max_length=2000)
    diacritic_insensitive: bool = True
    text: str | None = Field(default=None, max_length=50_000)


class ItemIn(_Strict):
    """A story entered by hand (nhập tay): a newspaper cutting, a post someone reported."""

    title: str = Field(min_length=1, max_length=500)
    text: str = Field(default="", max_length=50_000)
    url: str = Field(default="", max_length=1000)
    author: str = Field(default="", max_length=200)
    unit_id: DbId
    domain: str | None = Field(default=None, max_length=32)
    published_at: datetime | None = None


class LabelIn(_Strict):
    category: str | None = Field(default=None, min_length=1, max_length=64)
    sentiment: SentimentLabel | None = None
    clear: bool = False


class TrainIn(_Strict):
    kind: Literal["category", "sentiment"]
    unit_id: DbId


class ExtractTest(_Strict):
    html: str = Field(max_length=5_000_000)
    url: str = Field(default="http://example.invalid/", max_length=1000)
    rules: dict[str, Any]
