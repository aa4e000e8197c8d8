"""What both buses share to hand events to handlers: the call that logs a failing handler, task
shutdown, the table of recent event ids (deduplication) and the live subscription (a bounded
drop-oldest queue with one worker task)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable

from toancanh.core.bus.events import DEFAULT_DUPLICATE_WINDOW, Event, Handler, Subscription

logger = logging.getLogger("toancanh.bus")


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
