"""Domain event bus: an in-process bus (default) and a NATS JetStream bus (production).

Domain events are written to the transactional outbox; the relay reads the outbox and calls
:meth:`Bus.publish`. Rules, the SSE endpoint and other modules subscribe by subject pattern.

Subjects look like ``toancanh.<domain>.<entity>.<verb>`` (``toancanh.assets.asset.updated``). Patterns
use the NATS wildcards: ``*`` matches exactly one token, ``>`` matches one or more trailing tokens. Every
subject and pattern must start with the bus's ``subject_prefix`` (``toancanh`` by default) on both buses,
so code that works on the in-process bus also works on NATS, whose stream only captures ``<prefix>.>``.

Two kinds of subscription, the same on both buses:

* **live** (``durable=None``): fan-out. Every live subscriber in every process receives each event
  published after it subscribed. Each subscriber has its own bounded queue (``live_queue_size``, 10,000
  by default) and one worker task that runs the handler for one event at a time, in order. When the
  queue is full the *oldest* queued event is dropped and counted (:attr:`Subscription.dropped`); a slow
  live subscriber never slows the publisher. For the SSE endpoint and dashboards, which reload state
  after a gap anyway.
* **durable** (``durable="name"``): work queue. Each event matching the pattern is delivered at least
  once to ONE of the subscribers sharing that durable name. The durable begins at the first
  ``subscribe`` with that name and keeps collecting events while nobody is subscribed. A handler that
  raises gets the event again later. Handlers must therefore be idempotent.

Handlers never run in the publisher's task: an exception in a handler is logged (logger
``toancanh.bus``, with the pattern, durable name, event id and subject) and never stops the bus or the
other subscribers. Handlers of one subscription run one at a time; different subscriptions run
concurrently. The :class:`Event` a handler receives may be shared with other subscribers: treat it, and
its ``data``, as read-only.

Deduplication: publishing an event whose ``id`` was already published within ``duplicate_window`` (2
minutes) delivers it once (JetStream's ``Nats-Msg-Id`` on NATS; a bounded table of recent ids on the
in-process bus and in each NATS live subscription), so a relay retrying after a failure does not
double-deliver.

In-process specifics (:class:`InProcessBus`): events live only in memory, so "durable" means "for the
life of the process": nothing survives a restart. A failing durable handler is retried
``len(retry_delays)`` more times by the same subscriber (after 0.05 s, 0.25 s, 1 s by default); after
the last failure the event is logged at ERROR and dropped. A durable's queue is bounded
(``durable_queue_size``); when it is full ``publish`` waits for room instead of dropping. Exception: a
durable that has no subscriber at the moment drops its oldest event (logged) rather than block
publishers forever. ``close()`` waits up to ``close_timeout`` seconds for subscribed durables to finish
their queued events.

NATS specifics (:class:`NatsBus`): see the class docstring.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import re
import time
import uuid
from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Literal

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js import JetStreamContext, api

__all__ = [
    "Bus",
    "BusError",
    "Event",
    "Handler",
    "InProcessBus",
    "NatsBus",
    "Subscription",
    "create_bus",
    "subject_matches",
    "validate_pattern",
    "validate_subject",
]

logger = logging.getLogger("toancanh.bus")

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


def create_bus(url: str, **options: Any) -> Bus:
    """``memory://`` -> :class:`InProcessBus`; ``nats://host:port[,nats://host2:port]`` (or ``tls://``) ->
    :class:`NatsBus`. ``options`` go to the constructor. Unknown scheme -> ValueError."""
    if not isinstance(url, str):
        raise ValueError(f"bus url must be a string, got {url!r}")
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme == "memory":
        return InProcessBus(**options)
    if scheme in ("nats", "tls"):
        return NatsBus(url, **options)
    raise ValueError(f"unknown bus url {url!r}: use memory:// or nats://host:port[,nats://...]")


# --------------------------------------------------------------------------------------------- helpers


def _handler_name(handler: Handler) -> str:
    return getattr(handler, "__qualname__", None) or repr(handler)


async def _call_handler(handler: Handler, event: Event, where: str) -> bool:
    """Run ``handler``; log and swallow any exception. Returns True on success."""
    try:
        await handler(event)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception(
            "bus handler %s failed on %s for event %s (%s)",
            _handler_name(handler),
            where,
            event.id,
            event.subject,
        )
        return False
    return True


async def _stop_task(task: asyncio.Task[None] | None, grace: float = 0.0) -> None:
    """Let ``task`` finish within ``grace`` seconds, then cancel it and wait until it is done.

    Never raises the task's own exception (it is logged); a cancellation of the caller still propagates."""
    if task is None or task is asyncio.current_task():
        return
    if grace > 0 and not task.done():
        await asyncio.wait({task}, timeout=grace)
    if not task.done():
        task.cancel()
        await asyncio.wait({task})
    if not task.cancelled() and task.exception() is not None:
        logger.error("bus task %s ended with an error", task.get_name(), exc_info=task.exception())


class _RecentIds:
    """Ids seen in the last ``window`` seconds (at most ``max_size`` of them)."""

    def __init__(self, window: float = DEFAULT_DUPLICATE_WINDOW, max_size: int = 50_000) -> None:
        self._window = window
        self._max = max_size
        self._seen: OrderedDict[str, float] = OrderedDict()

    def _prune(self, now: float) -> None:
        seen = self._seen
        while seen and (len(seen) > self._max or next(iter(seen.values())) < now - self._window):
            seen.popitem(last=False)

    def __contains__(self, key: str) -> bool:
        self._prune(time.monotonic())
        return key in self._seen

    def add(self, key: str) -> None:
        now = time.monotonic()
        self._seen[key] = now
        self._seen.move_to_end(key)
        self._prune(now)

    def check_and_add(self, key: str) -> bool:
        """True when ``key`` was already seen (a duplicate); records it otherwise."""
        if key in self:
            return True
        self.add(key)
        return False


class _LiveSubscription(Subscription):
    """Bounded drop-oldest queue plus one worker task. Shared by both buses."""

    def __init__(
        self,
        pattern: str,
        tokens: tuple[str, ...],
        handler: Handler,
        maxsize: int,
        detach: Callable[[_LiveSubscription], Awaitable[None]],
    ) -> None:
        self.pattern = pattern
        self.durable = None
        self.tokens = tokens
        self._handler = handler
        self._maxsize = maxsize
        self._detach = detach
        self._queue: deque[Event] = deque()
        self._wake = asyncio.Event()
        self._dropped = 0
        self._closed = False
        self._where = f"live subscription {pattern!r}"
        self._task: asyncio.Task[None] | None = asyncio.create_task(self._run(), name=f"bus-live:{pattern}")

    @property
    def dropped(self) -> int:
        return self._dropped

    def offer(self, event: Event) -> None:
        if self._closed:
            return
        if len(self._queue) >= self._maxsize:
            self._queue.popleft()
            self._dropped += 1
            if self._dropped == 1 or self._dropped % 1000 == 0:
                logger.warning(
                    "%s is too slow: dropped %d event(s) so far (queue of %d full)",
                    self._where,
                    self._dropped,
                    self._maxsize,
                )
        self._queue.append(event)
        self._wake.set()

    async def _run(self) -> None:
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            while self._queue and not self._closed:
                await _call_handler(self._handler, self._queue.popleft(), self._where)

    async def unsubscribe(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.clear()
        self._wake.set()
        try:
            await self._detach(self)
        finally:
            task, self._task = self._task, None
            await _stop_task(task)


# --------------------------------------------------------------------------------------------- in-process


class _DurableGroup:
    """One in-process durable: a bounded FIFO shared by the subscribers with the same name."""

    def __init__(self, name: str, pattern: str, tokens: tuple[str, ...], maxsize: int) -> None:
        self.name = name
        self.pattern = pattern
        self.tokens = tokens
        self.maxsize = maxsize
        self.items: deque[Event] = deque()
        self.members: set[_InProcessDurableSubscription] = set()
        self.busy = 0
        self.dropped = 0
        self._changed = asyncio.Event()

    def notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_change(self, timeout: float | None = None) -> None:
        changed = self._changed
        if timeout is None:
            await changed.wait()
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout)

    async def put(self, event: Event) -> None:
        while len(self.items) >= self.maxsize:
            if not self.members:
                self.items.popleft()
                self.dropped += 1
                logger.warning(
                    "durable %r has no subscriber and %d queued events: dropped the oldest (%d so far)",
                    self.name,
                    self.maxsize,
                    self.dropped,
                )
                break
            await self.wait_change()
        self.items.append(event)
        self.notify()

    async def get(self) -> Event:
        while not self.items:
            await self.wait_change()
        event = self.items.popleft()
        self.notify()
        return event

    def put_front(self, event: Event) -> None:
        self.items.appendleft(event)
        self.notify()


class _InProcessDurableSubscription(Subscription):
    def __init__(
        self, group: _DurableGroup, handler: Handler, retry_delays: Sequence[float], grace: float
    ) -> None:
        self.pattern = group.pattern
        self._grace = grace
        self.durable = group.name
        self._group = group
        self._handler = handler
        self._retry_delays = tuple(retry_delays)
        self._where = f"durable {group.name!r} ({group.pattern!r})"
        self._closed = False
        self._busy = False
        self._task: asyncio.Task[None] | None = asyncio.create_task(
            self._run(), name=f"bus-durable:{group.name}"
        )

    async def _run(self) -> None:
        group = self._group
        while not self._closed:
            event = await group.get()
            self._busy = True
            group.busy += 1
            try:
                await self._handle(event)
            except asyncio.CancelledError:
                group.put_front(event)  # at least once: another subscriber (or a later one) gets it
                raise
            finally:
                self._busy = False
                group.busy -= 1
                group.notify()

    async def _handle(self, event: Event) -> None:
        attempts = len(self._retry_delays) + 1
        for attempt in range(1, attempts + 1):
            if await _call_handler(self._handler, event, f"{self._where}, attempt {attempt}/{attempts}"):
                return
            if attempt < attempts:
                await asyncio.sleep(self._retry_delays[attempt - 1])
        logger.error(
            "%s: dropping event %s (%s) after %d failed attempts",
            self._where,
            event.id,
            event.subject,
            attempts,
        )

    async def stop(self, grace: float) -> None:
        self._closed = True
        task, self._task = self._task, None
        if task is None:
            return
        if not self._busy:
            task.cancel()
        await _stop_task(task, grace)

    async def unsubscribe(self) -> None:
        if self._closed:
            return
        self._group.members.discard(self)
        self._group.notify()
        await self.stop(grace=self._grace)  # the handler in progress may finish; the rest stays queued


class InProcessBus(Bus):
    """asyncio bus without a server, for one-process deployments and tests. See the module docstring."""

    def __init__(
        self,
        *,
        subject_prefix: str = "toancanh",
        live_queue_size: int = DEFAULT_QUEUE_SIZE,
        durable_queue_size: int = DEFAULT_QUEUE_SIZE,
        retry_delays: Sequence[float] = (0.05, 0.25, 1.0),
        duplicate_window: float = DEFAULT_DUPLICATE_WINDOW,
        close_timeout: float = 5.0,
    ) -> None:
        _check_name(subject_prefix, "subject_prefix")
        if live_queue_size < 1 or durable_queue_size < 1:
            raise ValueError("queue sizes must be >= 1")
        self.subject_prefix = subject_prefix
        self._live_queue_size = live_queue_size
        self._durable_queue_size = durable_queue_size
        self._retry_delays = tuple(retry_delays)
        self._close_timeout = close_timeout
        self._recent = _RecentIds(duplicate_window)
        self._live: list[_LiveSubscription] = []
        self._durables: dict[str, _DurableGroup] = {}
        self._started = False
        self._closed = False

    def _require_open(self) -> None:
        if self._closed:
            raise BusError("bus is closed")
        if not self._started:
            raise BusError("bus is not started")

    async def start(self) -> None:
        if self._closed:
            raise BusError("bus is closed")
        self._started = True

    async def publish(self, event: Event) -> None:
        self._require_open()
        self._check_subject(event.subject)
        if event.id in self._recent:
            logger.debug("duplicate event %s (%s) ignored", event.id, event.subject)
            return
        # A JSON round trip: rejects payloads NATS could not carry, and hands subscribers the same shapes
        # (lists for tuples, str keys) they would get from NATS.
        shared = Event.from_json(event.to_json())
        stoks = event.subject.split(".")
        for live in list(self._live):
            if _match_tokens(live.tokens, stoks):
                live.offer(shared)
        for group in list(self._durables.values()):
            if _match_tokens(group.tokens, stoks):
                await group.put(shared)
        self._recent.add(event.id)

    async def subscribe(self, pattern: str, handler: Handler, *, durable: str | None = None) -> Subscription:
        self._require_open()
        tokens = self._check_pattern(pattern)
        if durable is None:
            live = _LiveSubscription(pattern, tokens, handler, self._live_queue_size, self._detach_live)
            self._live.append(live)
            return live
        _check_name(durable, "durable name")
        group = self._durables.get(durable)
        if group is None:
            group = self._durables[durable] = _DurableGroup(
                durable, pattern, tokens, self._durable_queue_size
            )
        elif group.pattern != pattern:
            if group.members:
                raise ValueError(
                    f"durable {durable!r} is subscribed with {group.pattern!r}; cannot add {pattern!r}"
                )
            group.pattern, group.tokens = pattern, tokens
        sub = _InProcessDurableSubscription(group, handler, self._retry_delays, self._close_timeout)
        group.members.add(sub)
        group.notify()
        return sub

    async def _detach_live(self, sub: _LiveSubscription) -> None:
        with contextlib.suppress(ValueError):
            self._live.remove(sub)

    async def ping(self) -> bool:
        return self._started and not self._closed

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._close_timeout
        # Let subscribed durables finish what is queued.
        for group in self._durables.values():
            while group.members and (group.items or group.busy) and loop.time() < deadline:
                await group.wait_change(max(0.0, deadline - loop.time()))
        for group in self._durables.values():
            if group.items:
                logger.warning("durable %r: %d event(s) not handled at close", group.name, len(group.items))
            members = list(group.members)
            group.members.clear()
            for member in members:
                await member.stop(grace=max(0.0, deadline - loop.time()))
        for live in list(self._live):
            await live.unsubscribe()
        self._live.clear()


# --------------------------------------------------------------------------------------------- NATS


class _NatsDurableSubscription(Subscription):
    """A pull-consumer fetch loop bound to a durable consumer."""

    def __init__(
        self, bus: NatsBus, name: str, pattern: str, handler: Handler, psub: JetStreamContext.PullSubscription
    ) -> None:
        self.pattern = pattern
        self.durable = name
        self._bus = bus
        self._handler = handler
        self._psub = psub
        self._where = f"durable {name!r} ({pattern!r})"
        self._stopping = False
        self._idle = asyncio.Event()
        self._idle.set()
        self._alive_at = datetime.now(UTC)  # when the consumer was last known to exist
        self._task = asyncio.create_task(self._run(), name=f"bus-durable:{name}")

    async def _run(self) -> None:
        bus = self._bus
        backlog = 0  # messages the server said were still pending for this consumer
        last_check = time.monotonic()
        try:
            while not self._stopping:
                # nats-py's fetch(n > 1) returns only when n messages came or the timeout passed, so a
                # trickle of events would wait. Fetch one at a time (returns on arrival); batch only to
                # catch up on a backlog, with a short timeout in case other subscribers take part of it.
                if bus.fetch_batch > 1 and backlog >= bus.fetch_batch:
                    batch, timeout = bus.fetch_batch, min(bus.fetch_timeout, 0.25)
                else:
                    batch, timeout = 1, bus.fetch_timeout
                try:
                    msgs = await self._psub.fetch(batch, timeout=timeout)
                except (nats.errors.TimeoutError, TimeoutError):
                    backlog = 0
                    if time.monotonic() - last_check >= bus.consumer_check_interval:
                        last_check = time.monotonic()
                        await self._check_consumer()
                    continue
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if self._stopping:
                        return
                    logger.warning(
                        "%s: fetch failed (%s: %s); retrying", self._where, type(exc).__name__, exc
                    )
                    backlog = 0
                    await asyncio.sleep(1.0)
                    continue
                try:
                    backlog = (msgs[-1].metadata.num_pending or 0) if msgs else 0
                except Exception:
                    backlog = 0
                self._alive_at = datetime.now(UTC)
                self._idle.clear()
                try:
                    await self._process_batch(msgs)
                finally:
                    self._idle.set()
        finally:
            bus._durable_subs.discard(self)
            with contextlib.suppress(Exception):
                await self._psub.unsubscribe()

    async def _check_consumer(self) -> None:
        """A deleted consumer (or stream: an operator, a server that lost its storage) looks to a fetch
        exactly like "no messages", so an idle loop checks now and then, and recreates what is missing."""
        bus = self._bus
        assert self.durable is not None
        checked_at = datetime.now(UTC)
        try:
            await bus._require_js().consumer_info(bus.stream, self.durable)
            self._alive_at = checked_at
            return
        except nats.js.errors.NotFoundError:
            pass
        except Exception:  # disconnected or slow: the next check will tell
            return
        logger.warning(
            "%s: the consumer or stream %s is gone; recreating it from %s",
            self._where,
            bus.stream,
            self._alive_at.isoformat(),
        )
        try:
            await bus._ensure_stream()
            await bus._ensure_consumer(self.durable, self.pattern, since=self._alive_at)
        except Exception as exc:
            logger.warning("%s: could not recreate: %s: %s", self._where, type(exc).__name__, exc)

    async def _process_batch(self, msgs: list[Msg]) -> None:
        fetched = time.monotonic()
        for i, msg in enumerate(msgs):
            if self._stopping:  # unsubscribed meanwhile: hand the rest back for immediate redelivery
                for rest in msgs[i:]:
                    with contextlib.suppress(Exception):
                        await rest.nak()
                return
            if time.monotonic() - fetched > self._bus.ack_wait / 2:
                with contextlib.suppress(Exception):
                    await msg.in_progress()
            await self._process(msg)

    async def _process(self, msg: Msg) -> None:
        bus = self._bus
        try:
            event = Event.from_json(msg.data)
        except ValueError as exc:
            logger.error("%s: undecodable message on %s terminated: %s", self._where, msg.subject, exc)
            with contextlib.suppress(Exception):
                await msg.term()
            return
        try:
            delivered = msg.metadata.num_delivered or 1
        except Exception:  # not a JetStream message: cannot happen on a pull consumer
            delivered = 1
        try:
            ok = await _call_handler(
                self._handler, event, f"{self._where}, delivery {delivered}/{bus.max_deliver}"
            )
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await msg.nak()
            raise
        try:
            if ok:
                await msg.ack()
            elif delivered >= bus.max_deliver:
                logger.error(
                    "%s: giving up on event %s (%s) after %d deliveries",
                    self._where,
                    event.id,
                    event.subject,
                    delivered,
                )
                await msg.term()
            else:
                delays = bus.retry_delays
                await msg.nak(delay=delays[min(delivered, len(delays)) - 1] if delays else None)
        except Exception as exc:
            logger.warning(
                "%s: could not ack/nak event %s: %s (it will be redelivered)", self._where, event.id, exc
            )

    async def stop(self, grace: float, *, linger: bool) -> None:
        """Stop handling. The handler in progress gets ``grace`` seconds to finish (then it is cancelled and
        its message nak'ed). With ``linger`` the outstanding pull request is left to complete in the
        background and whatever it brings is nak'ed at once; otherwise (closing the connection, which makes
        the server forget the request) the fetch is cancelled."""
        self._stopping = True
        task = self._task
        if task.done() or task is asyncio.current_task():
            return
        if not self._idle.is_set() and grace > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), grace)
        if not self._idle.is_set() or not linger:
            await _stop_task(task)

    async def unsubscribe(self) -> None:
        if self._stopping:
            return
        await self.stop(self._bus.close_timeout, linger=True)


class NatsBus(Bus):
    """NATS JetStream bus.

    * ``start`` connects (client name ``toancanh``; once connected it reconnects forever, but the *first*
      connect gives up after ``start_timeout`` seconds with BusError) and ensures the stream ``stream``
      with subjects ``<subject_prefix>.>``, file storage, ``max_age`` and ``duplicate_window``. An
      existing stream is updated when its subjects (ours are added to its list), ``max_age`` or
      ``duplicate_window`` differ; a storage or replica difference is only logged (JetStream cannot
      change storage in place).
    * ``publish`` is ``js.publish(subject, json, headers={"Nats-Msg-Id": event.id})`` with the expected
      stream set, awaiting the stream's ack: it raises BusError when the event was not stored, and
      JetStream drops a re-publish of the same id within ``duplicate_window``. When no stream answers
      at all (deleted, or a server that lost its storage) it recreates the stream and tries once more;
      likewise an idle durable loop checks every ``consumer_check_interval`` seconds that its consumer
      still exists, and when not recreates it (and the stream), starting from the time it was last
      known to exist.
    * Live subscriptions are **core NATS subscriptions** on the pattern (JetStream-published messages
      reach core subscribers too). Chosen because they cost no server-side consumer per subscriber (the
      SSE endpoint may hold one per browser), add no hop, and need no consumer re-creation on reconnect.
      What it gives up: events published while this client is disconnected are not replayed (live means
      live; SSE clients reload state on reconnect), and a core subscriber also sees a re-published
      duplicate, which each live subscription filters out with a table of recent ids. An ordered
      JetStream consumer would replay gaps, at the price of one server consumer per subscriber.
    * Durable subscriptions use a **durable pull consumer** named ``durable`` and filtered by the
      pattern: explicit ack after the handler succeeds, ``nak(delay)`` when it raises (the delay picked
      from ``retry_delays`` by delivery count), ``term`` after ``max_deliver`` deliveries (logged at
      ERROR) and for undecodable messages. Every process subscribing with the same name shares the
      consumer, so each event goes to one of them. A new consumer starts at new events
      (``durable_deliver="new"``; ``"all"`` replays the stream); an existing one resumes where it
      stopped. It is updated in place when ``ack_wait`` or ``max_deliver`` changed, and recreated
      (resuming after its ack floor) when its filter changed, because nats-server 2.9 stalls after an
      in-place filter change. Each subscription runs one background task that fetches one message at
      a time (lowest latency), or up to ``fetch_batch`` while catching up on a backlog, and handles
      them in order, sending "in progress" for a message that waited more than ``ack_wait / 2``.
      ``unsubscribe`` lets the outstanding pull request run out in the background and naks whatever
      it brings, so nothing waits ``ack_wait`` for its redelivery.
    * ``ping``: connected, and a round trip (flush) plus the stream's info within ``ping_timeout``.
    * ``close``: durable loops finish the message in hand (up to ``close_timeout``) and give back the
      rest of their batch (nak), live workers stop, then the connection drains.
    """

    def __init__(
        self,
        url: str = "nats://127.0.0.1:4222",
        *,
        stream: str = "TOANCANH",
        subject_prefix: str = "toancanh",
        max_age: float = 7 * 24 * 3600.0,
        duplicate_window: float = DEFAULT_DUPLICATE_WINDOW,
        storage: Literal["file", "memory"] = "file",
        replicas: int = 1,
        ack_wait: float = 30.0,
        max_deliver: int = 10,
        retry_delays: Sequence[float] = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0),
        fetch_batch: int = 10,
        fetch_timeout: float = 5.0,
        consumer_check_interval: float = 30.0,
        durable_deliver: Literal["new", "all"] = "new",
        live_queue_size: int = DEFAULT_QUEUE_SIZE,
        request_timeout: float = 5.0,
        start_timeout: float = 10.0,
        ping_timeout: float = 2.0,
        close_timeout: float = 5.0,
        name: str = "toancanh",
    ) -> None:
        servers = [s.strip() for s in url.split(",") if s.strip()]
        if not servers or any("://" not in s for s in servers):
            raise ValueError(f"bad NATS url {url!r}: expected nats://host:port[,nats://host:port]")
        _check_name(stream, "stream")
        _check_name(subject_prefix, "subject_prefix")
        if max_deliver < 1 or fetch_batch < 1 or live_queue_size < 1:
            raise ValueError("max_deliver, fetch_batch and live_queue_size must be >= 1")
        if storage not in ("file", "memory") or durable_deliver not in ("new", "all"):
            raise ValueError("storage must be 'file' or 'memory'; durable_deliver 'new' or 'all'")
        self.servers = servers
        self.stream = stream
        self.subject_prefix = subject_prefix
        self.max_age = float(max_age)
        self.duplicate_window = float(duplicate_window)
        self.storage = storage
        self.replicas = replicas
        self.ack_wait = float(ack_wait)
        self.max_deliver = max_deliver
        self.retry_delays = tuple(float(d) for d in retry_delays)
        self.fetch_batch = fetch_batch
        self.fetch_timeout = float(fetch_timeout)
        self.consumer_check_interval = float(consumer_check_interval)
        self.durable_deliver = durable_deliver
        self.live_queue_size = live_queue_size
        self.request_timeout = float(request_timeout)
        self.start_timeout = float(start_timeout)
        self.ping_timeout = float(ping_timeout)
        self.close_timeout = float(close_timeout)
        self.name = name
        self._nc: NATS | None = None
        self._js: JetStreamContext | None = None
        self._live: dict[_LiveSubscription, NatsSubscription] = {}
        self._durable_subs: set[_NatsDurableSubscription] = set()
        self._closed = False

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        if self._closed:
            raise BusError("bus is closed")
        if self._nc is not None:
            return
        nc = NATS()
        try:
            await asyncio.wait_for(
                nc.connect(
                    servers=self.servers,
                    name=self.name,
                    connect_timeout=max(1, math.ceil(min(self.start_timeout, 5.0))),
                    reconnect_time_wait=2,
                    max_reconnect_attempts=-1,
                    allow_reconnect=True,
                    error_cb=self._on_error,
                    disconnected_cb=self._on_disconnected,
                    reconnected_cb=self._on_reconnected,
                    closed_cb=self._on_closed,
                ),
                self.start_timeout,
            )
        except Exception as exc:
            with contextlib.suppress(Exception):
                await nc.close()
            raise BusError(
                f"cannot connect to NATS at {','.join(self.servers)}: {type(exc).__name__}: {exc}"
            ) from exc
        self._nc = nc
        self._js = nc.jetstream(timeout=self.request_timeout)
        try:
            await self._ensure_stream()
        except BaseException:
            self._nc = self._js = None
            with contextlib.suppress(Exception):
                await nc.close()
            raise

    async def _on_error(self, exc: Exception) -> None:
        logger.warning("NATS error: %s: %s", type(exc).__name__, exc)

    async def _on_disconnected(self) -> None:
        if not self._closed and self._nc is not None:
            logger.warning("NATS disconnected; reconnecting")

    async def _on_reconnected(self) -> None:
        url = self._nc.connected_url if self._nc is not None else None
        logger.info("NATS reconnected to %s", url.netloc if url is not None else "?")

    async def _on_closed(self) -> None:
        logger.info("NATS connection closed")

    def _stream_config(self) -> api.StreamConfig:
        return api.StreamConfig(
            name=self.stream,
            subjects=[f"{self.subject_prefix}.>"],
            retention=api.RetentionPolicy.LIMITS,
            discard=api.DiscardPolicy.OLD,
            storage=api.StorageType.FILE if self.storage == "file" else api.StorageType.MEMORY,
            max_age=self.max_age,
            duplicate_window=self.duplicate_window,
            num_replicas=self.replicas,
        )

    async def _ensure_stream(self) -> None:
        js = self._require_js()
        desired = self._stream_config()
        try:
            try:
                info = await js.stream_info(self.stream)
            except nats.js.errors.NotFoundError:
                try:
                    await js.add_stream(desired)
                    logger.info("created stream %s for %s", self.stream, desired.subjects)
                    return
                except nats.js.errors.BadRequestError:
                    info = await js.stream_info(self.stream)  # created meanwhile by another process?
            current = info.config
            subjects = list(current.subjects or [])
            changes: dict[str, Any] = {}
            wanted_subject = f"{self.subject_prefix}.>"
            if (
                wanted_subject not in subjects
            ):  # add ours, dropping those it covers (JetStream refuses overlaps)
                wanted = _pattern_tokens(wanted_subject)
                kept = [s for s in subjects if not _pattern_within(_pattern_tokens(s), wanted)]
                changes["subjects"] = [*kept, wanted_subject]
            if not math.isclose(current.max_age or 0.0, self.max_age, abs_tol=1e-3):
                changes["max_age"] = self.max_age
            if not math.isclose(current.duplicate_window or 0.0, self.duplicate_window, abs_tol=1e-3):
                changes["duplicate_window"] = self.duplicate_window
            if current.storage != desired.storage or (current.num_replicas or 1) != self.replicas:
                logger.warning(
                    "stream %s has storage=%s replicas=%s, configured %s/%s; recreate it to change that",
                    self.stream,
                    current.storage,
                    current.num_replicas,
                    desired.storage,
                    self.replicas,
                )
            if changes:
                await js.update_stream(current.evolve(**changes))
                logger.info("updated stream %s: %s", self.stream, changes)
        except (nats.errors.Error, nats.js.errors.Error, TimeoutError) as exc:
            raise BusError(
                f"cannot create or update JetStream stream {self.stream!r}: {type(exc).__name__}: {exc}"
            ) from exc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        durables = list(self._durable_subs)
        self._durable_subs.clear()
        await asyncio.gather(
            *(d.stop(self.close_timeout, linger=False) for d in durables), return_exceptions=True
        )
        for live in list(self._live):
            await live.unsubscribe()
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            try:
                await asyncio.wait_for(nc.drain(), self.close_timeout)
            except Exception as exc:
                logger.warning("NATS drain failed (%s); closing", exc)
            if not nc.is_closed:
                with contextlib.suppress(Exception):
                    await nc.close()

    def _require_js(self) -> JetStreamContext:
        if self._closed:
            raise BusError("bus is closed")
        if self._js is None:
            raise BusError("bus is not started")
        return self._js

    def _require_nc(self) -> NATS:
        self._require_js()
        assert self._nc is not None
        return self._nc

    # ----------------------------------------------------------------- publish / subscribe

    async def publish(self, event: Event) -> None:
        js = self._require_js()
        self._check_subject(event.subject)
        payload = event.to_json()
        for attempt in (1, 2):
            try:
                ack = await js.publish(
                    event.subject,
                    payload,
                    timeout=self.request_timeout,
                    stream=self.stream,
                    headers={"Nats-Msg-Id": event.id},
                )
            except nats.js.errors.NoStreamResponseError as exc:
                # Nobody answered: the stream is gone (deleted, or a server that lost its storage).
                if attempt == 2:
                    raise BusError(
                        f"publish of event {event.id} ({event.subject}): no stream answered"
                    ) from exc
                logger.warning(
                    "no JetStream stream answered on %s; ensuring stream %s", event.subject, self.stream
                )
                await self._ensure_stream()
                continue
            except (nats.errors.Error, nats.js.errors.Error, TimeoutError, OSError) as exc:
                raise BusError(
                    f"publish of event {event.id} ({event.subject}) failed: {type(exc).__name__}: {exc}"
                ) from exc
            if ack.duplicate:
                logger.debug("duplicate event %s (%s) not stored again", event.id, event.subject)
            return

    async def subscribe(self, pattern: str, handler: Handler, *, durable: str | None = None) -> Subscription:
        nc = self._require_nc()
        tokens = self._check_pattern(pattern)
        if durable is not None:
            return await self._subscribe_durable(pattern, handler, durable)
        live = _LiveSubscription(pattern, tokens, handler, self.live_queue_size, self._detach_live)
        recent = _RecentIds(self.duplicate_window)
        where = f"live subscription {pattern!r}"

        async def on_msg(msg: Msg) -> None:
            try:
                event = Event.from_json(msg.data)
            except ValueError as exc:
                logger.error("%s: undecodable message on %s skipped: %s", where, msg.subject, exc)
                return
            if not recent.check_and_add(event.id):
                live.offer(event)

        try:
            self._live[live] = await nc.subscribe(pattern, cb=on_msg)
            await nc.flush(
                timeout=max(1, math.ceil(self.request_timeout))
            )  # server knows the interest when we return
        except BaseException as exc:
            await live.unsubscribe()
            if isinstance(exc, Exception):
                raise BusError(f"cannot subscribe to {pattern!r}: {type(exc).__name__}: {exc}") from exc
            raise
        return live

    async def _detach_live(self, live: _LiveSubscription) -> None:
        nsub = self._live.pop(live, None)
        if nsub is not None:
            with contextlib.suppress(Exception):
                await nsub.unsubscribe()

    def _consumer_config(self, name: str, pattern: str) -> api.ConsumerConfig:
        return api.ConsumerConfig(
            name=name,
            durable_name=name,
            filter_subject=pattern,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.NEW if self.durable_deliver == "new" else api.DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_deliver=self.max_deliver,
        )

    async def _ensure_consumer(self, name: str, pattern: str, *, since: datetime | None = None) -> None:
        """Create the durable (from new events, or from ``since`` when given) or bring it up to date."""
        js = self._require_js()
        desired = self._consumer_config(name, pattern)
        try:
            info = await js.consumer_info(self.stream, name)
        except nats.js.errors.NotFoundError:
            created = desired
            if since is not None:
                created = desired.evolve(deliver_policy=api.DeliverPolicy.BY_START_TIME, opt_start_time=since)
            try:
                await js.add_consumer(self.stream, config=created)
                logger.info("created durable consumer %s on %s for %s", name, self.stream, pattern)
                return
            except nats.js.errors.BadRequestError:
                info = await js.consumer_info(self.stream, name)  # another process won the race
        current = info.config
        if current.deliver_subject:
            raise BusError(
                f"consumer {name!r} on stream {self.stream!r} is a push consumer; use another name"
            )
        if current.filter_subject != pattern:
            await self._recreate_consumer(info, desired)
        elif not math.isclose(current.ack_wait or 0.0, self.ack_wait, abs_tol=1e-3) or (
            current.max_deliver != self.max_deliver
        ):
            updated = desired.evolve(
                deliver_policy=current.deliver_policy,
                opt_start_seq=current.opt_start_seq,
                opt_start_time=current.opt_start_time,
            )
            try:
                await js.add_consumer(self.stream, config=updated)
            except nats.js.errors.Error as exc:
                raise BusError(
                    f"cannot update durable consumer {name!r}: {type(exc).__name__}: {exc}"
                ) from exc
            logger.info(
                "updated durable consumer %s: ack_wait %s, max_deliver %s",
                name,
                self.ack_wait,
                self.max_deliver,
            )

    async def _recreate_consumer(self, info: api.ConsumerInfo, desired: api.ConsumerConfig) -> None:
        """Give a durable a new filter by deleting and recreating it, resuming after its ack floor.

        nats-server 2.9 accepts an in-place filter change but then stalls: a stored message that the new
        filter skips holds back the next matching one until another pull request comes (seconds, every
        time). Messages after the ack floor that the old consumer had acknowledged are delivered again
        (at least once)."""
        js = self._require_js()
        name = str(desired.durable_name)
        floor, delivered = info.ack_floor, info.delivered
        if floor is not None and floor.consumer_seq:
            start = floor.stream_seq + 1
        elif delivered is not None:  # never acknowledged anything: resume where it had got to
            start = delivered.stream_seq + 1
        else:
            start = 1
        config = desired.evolve(deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start)
        try:
            with contextlib.suppress(nats.js.errors.NotFoundError):
                await js.delete_consumer(self.stream, name)
            await js.add_consumer(self.stream, config=config)
        except nats.js.errors.Error as exc:
            raise BusError(
                f"cannot change durable {name!r} from {info.config.filter_subject!r} to "
                f"{desired.filter_subject!r}: {type(exc).__name__}: {exc}"
            ) from exc
        logger.warning(
            "durable consumer %s now filters %s (was %s); recreated, resuming at stream sequence %d",
            name,
            desired.filter_subject,
            info.config.filter_subject,
            start,
        )

    async def _subscribe_durable(self, pattern: str, handler: Handler, name: str) -> Subscription:
        _check_name(name, "durable name")
        js = self._require_js()
        try:
            await self._ensure_consumer(name, pattern)
            psub = await js.pull_subscribe_bind(name, stream=self.stream)
        except BusError:
            raise
        except (nats.errors.Error, nats.js.errors.Error, TimeoutError) as exc:
            raise BusError(
                f"cannot subscribe durable {name!r} to {pattern!r}: {type(exc).__name__}: {exc}"
            ) from exc
        sub = _NatsDurableSubscription(self, name, pattern, handler, psub)
        self._durable_subs.add(sub)
        return sub

    async def ping(self) -> bool:
        nc, js = self._nc, self._js
        if self._closed or nc is None or js is None or not nc.is_connected:
            return False
        try:
            await nc.flush(timeout=max(1, math.ceil(self.ping_timeout)))
            await asyncio.wait_for(js.stream_info(self.stream), self.ping_timeout)
        except Exception as exc:
            logger.warning("NATS ping failed: %s: %s", type(exc).__name__, exc)
            return False
        return True
