"""The NATS JetStream bus (production). Semantics in the :class:`NatsBus` docstring."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription as NatsSubscription
from nats.js import JetStreamContext, api

from toancanh.core.bus.delivery import _LiveSubscription, _RecentIds
from toancanh.core.bus.events import (
    DEFAULT_DUPLICATE_WINDOW,
    DEFAULT_QUEUE_SIZE,
    Bus,
    BusError,
    Event,
    Handler,
    Subscription,
    _check_name,
    _pattern_tokens,
    _pattern_within,
)
from toancanh.core.bus.nats_durable import _NatsDurableSubscription

logger = logging.getLogger("toancanh.bus")


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
