"""Request and response bodies of the notifications API."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from toancanh.core.api.schemas import DbId
from toancanh.core.assets import DOMAINS
from toancanh.core.bus import validate_pattern
from toancanh.modules.notifications.addresses import CHANNELS
from toancanh.modules.notifications.addresses import normalize as normalize_address


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


# ------------------------------------------------------------------------------------------ routes

SEVERITIES = ("minor", "moderate", "severe", "extreme")  # CAP 1.2, lowest first
ROUTE_ROLES = ("operator", "leader", "agency_staff", "viewer", "admin")
_CATEGORY = re.compile(r"[a-z0-9_-]{1,40}(\.[a-z0-9_-]{1,40}){0,3}")


def _check_subject_pattern(value: str) -> str:
    try:
        validate_pattern(value)
    except ValueError as exc:
        raise ValueError(f"Mẫu chủ đề không hợp lệ / invalid subject pattern: {exc}") from exc
    if not value.startswith("toancanh."):
        raise ValueError("Mẫu chủ đề phải bắt đầu bằng 'toancanh.' / the pattern must start with 'toancanh.'")
    return value


class ExtraAddress(BaseModel):
    """An address outside the user list: an e-mail, a mobile number for SMS, or a Zalo recipient."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(max_length=20)
    address: str = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _normalize(self) -> ExtraAddress:
        if self.channel not in CHANNELS:
            raise ValueError(
                f"Kênh không hợp lệ: {self.channel!r} (email, sms, zalo) / unknown channel: {self.channel!r}"
            )
        self.address = normalize_address(self.channel, self.address)  # AddressError is a ValueError
        return self


class RouteIn(BaseModel):
    """A notification route, created or replaced whole."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    active: bool = True
    pattern: str = Field(default="toancanh.alerts.>", min_length=1, max_length=200)
    unit_id: DbId | None = None  # None (and no unit_code): every unit
    unit_code: str | None = Field(default=None, max_length=32)
    domain: str | None = Field(default=None, max_length=32)  # None: every domain
    min_severity: str = Field(default="severe", max_length=12)
    categories: list[str] = Field(default_factory=list, max_length=20)  # alert categories; empty: every one
    channels: list[str] = Field(min_length=1, max_length=3)
    roles: list[str] = Field(default_factory=list, max_length=len(ROUTE_ROLES))
    user_ids: list[DbId] = Field(default_factory=list, max_length=200)
    extra: list[ExtraAddress] = Field(default_factory=list, max_length=100)

    @field_validator("pattern")
    @classmethod
    def _check_pattern(cls, value: str) -> str:
        return _check_subject_pattern(value)

    @field_validator("domain")
    @classmethod
    def _check_domain(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if value not in DOMAINS:
            raise ValueError(f"Lĩnh vực không hợp lệ: {value!r} / unknown domain: {value!r}")
        return value

    @field_validator("min_severity")
    @classmethod
    def _check_severity(cls, value: str) -> str:
        if value not in SEVERITIES:
            raise ValueError(
                f"Mức độ không hợp lệ: {value!r} (minor, moderate, severe, extreme) / unknown severity"
            )
        return value

    @field_validator("categories")
    @classmethod
    def _check_categories(cls, value: list[str]) -> list[str]:
        out = []
        for category in value:
            category = category.strip().lower()
            if not _CATEGORY.fullmatch(category):
                raise ValueError(
                    f"Nhóm cảnh báo không hợp lệ: {category[:40]!r} (ví dụ fire, flood.street) / "
                    f"invalid alert category: {category[:40]!r} (e.g. fire, flood.street)"
                )
            if category not in out:
                out.append(category)
        return out

    @field_validator("channels")
    @classmethod
    def _check_channels(cls, value: list[str]) -> list[str]:
        for channel in value:
            if channel not in CHANNELS:
                raise ValueError(
                    f"Kênh không hợp lệ: {channel!r} (email, sms, zalo) / unknown channel: {channel!r}"
                )
        return [c for c in CHANNELS if c in value]

    @field_validator("roles")
    @classmethod
    def _check_roles(cls, value: list[str]) -> list[str]:
        for role in value:
            if role not in ROUTE_ROLES:
                raise ValueError(
                    f"Vai trò không hợp lệ: {role!r} ({', '.join(ROUTE_ROLES)}) / unknown role: {role!r}"
                )
        return [r for r in ROUTE_ROLES if r in value]

    @model_validator(mode="after")
    def _check_whole(self) -> RouteIn:
        if self.unit_id is not None and self.unit_code:
            raise ValueError("Chỉ chọn unit_id hoặc unit_code / give unit_id or unit_code, not both")
        self.unit_code = self.unit_code or None
        self.user_ids = sorted(set(self.user_ids))
        for item in self.extra:
            if item.channel not in self.channels:
                raise ValueError(
                    f"Địa chỉ {item.address} thuộc kênh {item.channel} mà tuyến không dùng / "
                    f"the address {item.address} is for {item.channel}, a channel the route does not use"
                )
        unique = {(e.channel, e.address): e for e in self.extra}
        self.extra = list(unique.values())
        if not (self.roles or self.user_ids or self.extra):
            raise ValueError(
                "Tuyến cần người nhận: vai trò, người dùng hoặc địa chỉ / "
                "a route needs recipients: roles, users or addresses"
            )
        return self


class RouteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    active: bool
    pattern: str
    unit_id: int | None
    domain: str | None
    min_severity: str
    categories: list[str]
    channels: list[str]
    roles: list[str]
    user_ids: list[int]
    extra: list[dict[str, str]]
    created_at: datetime
    updated_at: datetime


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    target: str
    event_id: str
    subject: str
    status: str
    attempts: int
    last_error: str
    provider_id: str
    created_at: datetime
    sent_at: datetime | None


class RecipientOutcome(BaseModel):
    channel: str
    to: str  # the address ("" when the user has none for this channel)
    user: str = ""  # the username, for a user's address
    ok: bool
    status: str  # "sent", or what went wrong


class RouteTestResult(BaseModel):
    route_id: int
    sent: int
    failed: int
    outcomes: list[RecipientOutcome]
