"""The event envelope, subject and pattern rules, and the :class:`Bus` interface both buses implement."""

from __future__ import annotations

import json
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any

_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]+\Z")
_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,128}\Z")

DEFAULT_QUEUE_SIZE = 10_000
DEFAULT_DUPLICATE_WINDOW = 120.0


class BusError(RuntimeError):
    """The bus could not do what was asked (not started, closed, server unreachable, publish not stored)."""


# --------------------------------------------------------------------------------------------- subjects


def _tokens(value: object, what: str) -> list[str]:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    tokens = value.split(".")
    if any(not t for t in tokens):
        raise ValueError(f"{what} {value!r} has an empty token")
    return tokens


def validate_subject(subject: str) -> None:
    """Raise ValueError unless ``subject`` is a concrete subject: dot-separated, non-empty ASCII tokens of
    ``[A-Za-z0-9_-]``, no wildcards, no spaces."""
    for token in _tokens(subject, "subject"):
        if not _TOKEN_RE.match(token):
            if token in ("*", ">"):
                raise ValueError(f"subject {subject!r} must not contain wildcards")
            raise ValueError(f"subject {subject!r} has an invalid token {token!r} (allowed: A-Z a-z 0-9 _ -)")


def validate_pattern(pattern: str) -> None:
    """Raise ValueError unless ``pattern`` is a valid subscription pattern: tokens as in subjects, or ``*``,
    or ``>`` as the last token."""
    _pattern_tokens(pattern)


def _pattern_tokens(pattern: str) -> tuple[str, ...]:
    tokens = _tokens(pattern, "pattern")
    for i, tok in enumerate(tokens):
        if tok in ("*", ">"):
            if tok == ">" and i != len(tokens) - 1:
                raise ValueError(f"pattern {pattern!r}: '>' is only allowed as the last token")
            continue
        if not _TOKEN_RE.match(tok):
            raise ValueError(f"pattern {pattern!r} has an invalid token {tok!r}")
    return tuple(tokens)


def _match_tokens(pattern: Sequence[str], subject: Sequence[str]) -> bool:
    for i, p in enumerate(pattern):
        if p == ">":
            return len(subject) > i
        if i >= len(subject):
            return False
        if p != "*" and p != subject[i]:
            return False
    return len(pattern) == len(subject)


def _pattern_within(inner: Sequence[str], outer: Sequence[str]) -> bool:
    """True when every subject matched by pattern ``inner`` is matched by pattern ``outer``."""
    for i, o in enumerate(outer):
        if o == ">":
            return len(inner) > i
        if i >= len(inner) or inner[i] == ">":
            return False
        if o != "*" and inner[i] != o:
            return False
    return len(inner) == len(outer)


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS matching: ``*`` matches exactly one token, ``>`` one or more trailing tokens.

    Raises ValueError for an invalid pattern or subject (empty tokens, bad characters, wildcards in the
    subject)."""
    ptoks = _pattern_tokens(pattern)
    validate_subject(subject)
    return _match_tokens(ptoks, subject.split("."))


def _check_name(name: str, what: str) -> None:
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ValueError(f"{what} {name!r} must be 1-128 characters of A-Z a-z 0-9 _ -")


# --------------------------------------------------------------------------------------------- event


@dataclass(frozen=True, slots=True)
class Event:
    """The envelope every subscriber receives."""

    id: str
    subject: str
    at: datetime
    data: dict[str, Any]
    unit_id: int | None = None
    unit_path: str | None = None
    domain: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"event id must be a non-empty string, got {self.id!r}")
        validate_subject(self.subject)
        if not isinstance(self.at, datetime) or self.at.tzinfo is None or self.at.utcoffset() is None:
            raise ValueError(f"event time must be an aware datetime, got {self.at!r}")
        if self.at.utcoffset() != timedelta(0) or self.at.tzinfo is not UTC:
            object.__setattr__(self, "at", self.at.astimezone(UTC))
        if not isinstance(self.data, dict):
            raise TypeError(f"event data must be a dict, got {type(self.data).__name__}")
        if self.unit_id is not None and (isinstance(self.unit_id, bool) or not isinstance(self.unit_id, int)):
            raise TypeError(f"unit_id must be an int or None, got {self.unit_id!r}")
        for name in ("unit_path", "domain"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise TypeError(f"{name} must be a str or None, got {value!r}")

    @classmethod
    def create(
        cls,
        subject: str,
        data: dict[str, Any] | None = None,
        *,
        unit_id: int | None = None,
        unit_path: str | None = None,
        domain: str | None = None,
        id: str | None = None,  # noqa: A002 - mirrors the field name
        at: datetime | None = None,
    ) -> Event:
        """An event with a fresh uuid4-hex id, stamped now (UTC) unless given."""
        return cls(
            id=id or uuid.uuid4().hex,
            subject=subject,
            at=at or datetime.now(UTC),
            data={} if data is None else data,
            unit_id=unit_id,
            unit_path=unit_path,
            domain=domain,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "subject": self.subject,
            "at": self.at.isoformat(),
            "data": self.data,
            "unit_id": self.unit_id,
            "unit_path": self.unit_path,
            "domain": self.domain,
        }

    def to_json(self) -> bytes:
        """UTF-8 JSON. Raises TypeError/ValueError when ``data`` is not JSON-serialisable (NaN included)."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Event:
        """Parse :meth:`to_json` output; raises ValueError on anything malformed."""
        try:
            obj = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"event is not valid JSON: {exc}") from exc
        if not isinstance(obj, dict):
            raise ValueError("event JSON must be an object")
        try:
            at_raw = obj["at"]
            if not isinstance(at_raw, str):
                raise ValueError("'at' must be an ISO 8601 string")
            return cls(
                id=obj["id"],
                subject=obj["subject"],
                at=datetime.fromisoformat(at_raw),
                data={} if obj.get("data") is None else obj["data"],
                unit_id=obj.get("unit_id"),
                unit_path=obj.get("unit_path"),
                domain=obj.get("domain"),
            )
        except KeyError as exc:
            raise ValueError(f"event JSON lacks {exc.args[0]!r}") from exc
        except TypeError as exc:
            raise ValueError(f"event JSON is malformed: {exc}") from exc


Handler = Callable[[Event], Awaitable[None]]


# --------------------------------------------------------------------------------------------- interfaces


class Subscription(ABC):
    """Handle returned by :meth:`Bus.subscribe`."""

    pattern: str
    durable: str | None

    @property
    def dropped(self) -> int:
        """Events dropped because this subscription's queue was full (live subscriptions only)."""
        return 0

    @abstractmethod
    async def unsubscribe(self) -> None:
        """Stop delivery to this subscriber. Idempotent. A durable keeps collecting events for its name."""


class Bus(ABC):
    """The event bus interface shared by :class:`InProcessBus` and :class:`NatsBus`."""

    subject_prefix: str

    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def publish(self, event: Event) -> None:
        """Publish; returns once the bus has accepted the event. Raises (BusError, ValueError) on failure so
        the outbox relay can retry; idempotent by ``event.id`` within the duplicate window."""

    @abstractmethod
    async def subscribe(self, pattern: str, handler: Handler, *, durable: str | None = None) -> Subscription:
        """Live fan-out when ``durable`` is None, else a shared at-least-once work queue named ``durable``."""

    @abstractmethod
    async def ping(self) -> bool:
        """True when the bus can take events (for /readyz). Never raises."""

    async def __aenter__(self) -> Bus:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _check_subject(self, subject: str) -> None:
        validate_subject(subject)
        if not subject.startswith(self.subject_prefix + "."):
            raise ValueError(f"subject {subject!r} must start with {self.subject_prefix + '.'!r}")

    def _check_pattern(self, pattern: str) -> tuple[str, ...]:
        tokens = _pattern_tokens(pattern)
        if tokens[0] != self.subject_prefix:
            raise ValueError(f"pattern {pattern!r} must start with {self.subject_prefix + '.'!r}")
        return tokens
