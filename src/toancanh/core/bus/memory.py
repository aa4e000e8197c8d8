"""The in-process bus: asyncio queues in one process, no server. Semantics in the package docstring."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Sequence

from toancanh.core.bus.delivery import _call_handler, _LiveSubscription, _RecentIds, _stop_task
from toancanh.core.bus.events import (
    DEFAULT_DUPLICATE_WINDOW,
    DEFAULT_QUEUE_SIZE,
    Bus,
    BusError,
    Event,
    Handler,
    Subscription,
    _check_name,
    _match_tokens,
)

logger = logging.getLogger("toancanh.bus")


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
    """asyncio bus without a server, for one-process deployments and tests. See the package docstring."""

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
