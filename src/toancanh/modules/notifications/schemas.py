"""Request and response bodies of the notifications API."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from toancanh.core.bus import validate_pattern


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title_vi: str
    title_en: str
    body: str
    link: str
    event_subject: str
    created_at: datetime
    read_at: datetime | None


class UnreadCount(BaseModel):
    unread: int


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    url: str = Field(min_length=1, max_length=500)
    pattern: str = Field(default="toancanh.>", min_length=1, max_length=200)
    unit_code: str | None = Field(default=None, max_length=32)  # None: every unit
    secret: str | None = Field(default=None, min_length=16, max_length=128)  # None: generated
    active: bool = True

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip()
        try:
            parts = urlsplit(value)
        except ValueError as exc:
            raise ValueError("invalid URL") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("the URL must be http:// or https:// with a host")
        if any(c.isspace() or ord(c) < 32 for c in value):
            raise ValueError("the URL must not contain spaces or control characters")
        return value

    @field_validator("pattern")
    @classmethod
    def _check_pattern(cls, value: str) -> str:
        validate_pattern(value)
        if not value.startswith("toancanh."):
            raise ValueError("the pattern must start with 'toancanh.'")
        return value


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    url: str
    pattern: str
    unit_id: int | None
    active: bool
    last_status: str
    failures: int
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str  # shown once, at creation
