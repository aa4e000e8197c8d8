"""The fetch loop behind a :class:`NatsBus` durable subscription (a JetStream durable pull consumer)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from toancanh.core.bus.delivery import _call_handler, _stop_task
from toancanh.core.bus.events import Event, Handler, Subscription

if TYPE_CHECKING:
    from toancanh.core.bus.nats_bus import NatsBus

logger = logging.getLogger("toancanh.bus")


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
