"""The MQTT ingestion loop: device messages in, stored in batches, acknowledged only once committed.

One connection at a time, as a persistent MQTT v5 session (fixed client id, clean start off, a week of
session expiry) subscribed to `<prefix>/+/+` at QoS 1, so the broker keeps our QoS 1 messages while we are
away and re-sends whatever we had not acknowledged when we come back. Acknowledgements are manual:

- paho's network thread only appends (connection, packet id, qos, topic, payload) to the inbox;
- a worker thread takes a batch (50 ms after its first message, or 5,000 messages), parses it, stores all its
  readings with one `ingest_readings` call, its alarms with one `record_events` call and its status changes
  in one transaction, and only then acknowledges every message of the batch, in order of arrival.

So nothing acknowledged is lost. A message that can never be stored (unknown device, bad JSON, wrong types,
too large, a topic outside the convention) is logged (one line per reason per 10 s, with a count), counted
and acknowledged, or the broker would send it forever. A database failure acknowledges nothing: the batch
and the inbox are dropped, the connection is closed, and the coordinator reconnects with its backoff; the
broker then re-sends every unacknowledged message. Storing a message twice is harmless: a sample is keyed by
(series, time) and an alarm by (source, device alarm id).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from toancanh.connectors.mqtt.client import IngestClient, describe
from toancanh.connectors.mqtt.const import (
    ADMISSION_CACHE_MAX,
    ADMISSION_TTL_S,
    BATCH_MAX,
    BATCH_WINDOW_S,
    CONNECT_TIMEOUT_S,
    DOMAIN,
    DRAIN_TIMEOUT_S,
    KEEPALIVE_S,
    LOG_EVERY_S,
    LOGGER,
    RECEIVE_MAXIMUM,
    SESSION_EXPIRY_S,
)
from toancanh.connectors.mqtt.payloads import Parsed, Rejected, parse
from toancanh.core.connectors import Coordinator
from toancanh.core.db import Database, utcnow
from toancanh.core.logs import Throttled
from toancanh.modules.alerts import devices
from toancanh.modules.alerts.events import EventIn, Recorded
from toancanh.modules.alerts.telemetry import Directory, IngestResult

log = logging.getLogger(LOGGER)

IngestReadings = Callable[[list[dict[str, Any]]], IngestResult]
"""Stores a batch of readings and commits (blocking): the alerts runtime's `ingest_readings`."""
RecordEvents = Callable[[list[EventIn]], Recorded]
"""Records a batch of events and commits (blocking): the alerts runtime's `record_events`."""
Inbound = tuple[int, int, int, bytes, bytes]  # (connection, packet id, qos, topic, payload)


@dataclass(frozen=True)
class MqttConfig:
    host: str
    port: int
    tls: bool
    username: str
    password: str
    client_id: str
    prefix: str

    @classmethod
    def from_settings(cls, settings: Any) -> MqttConfig:
        url = urlsplit(settings.mqtt_url)
        if url.scheme not in ("mqtt", "mqtts") or not url.hostname:
            raise ValueError(f"mqtt_url must be mqtt://host:port or mqtts://host:port: {settings.mqtt_url!r}")
        tls = url.scheme == "mqtts"
        return cls(
            host=url.hostname,
            port=url.port or (8883 if tls else 1883),
            tls=tls,
            username=settings.mqtt_username,
            password=settings.mqtt_password,
            client_id=settings.mqtt_client_id,
            prefix=settings.mqtt_topic_prefix.strip("/"),
        )


class _Connection:
    """The state of one connection, shared between paho's thread, the worker and the event loop."""

    def __init__(self, gen: int, loop: asyncio.AbstractEventLoop) -> None:
        self.gen = gen
        self.loop = loop
        self.ready: asyncio.Future[None] = loop.create_future()
        self.ended = asyncio.Event()
        self.reason = ""
        self.back_off = False  # storing failed, or another client took our session: retry with the backoff

    def _call(self, fn: Callable[[], Any]) -> None:
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn)

    def subscribed(self) -> None:
        def done() -> None:
            if not self.ready.done():
                self.ready.set_result(None)

        self._call(done)

    def end(self, reason: str) -> None:
        if not self.reason:
            self.reason = reason

        def finish() -> None:
            if not self.ready.done():
                self.ready.set_result(None)
            self.ended.set()

        self._call(finish)


class MqttCoordinator(Coordinator):
    """Device messages from the broker to the database (see the module docstring)."""

    max_backoff_s = 30.0

    def __init__(
        self,
        config: MqttConfig,
        *,
        db: Database,
        directory: Directory,
        ingest_readings: IngestReadings,
        record_events: RecordEvents,
    ) -> None:
        super().__init__(DOMAIN)
        self.config = config
        self.drain_timeout_s = DRAIN_TIMEOUT_S
        self._db = db
        self._directory = directory
        self._ingest = ingest_readings
        self._record = record_events
        self._inbox: list[Inbound] = []
        self._first_at = 0.0
        self._wake = threading.Event()
        self._halt = False
        self._busy = False
        self._worker: threading.Thread | None = None
        self._gen = 0
        self._min_gen = 0  # messages of older connections are dropped unacknowledged
        self._conn: _Connection | None = None
        self._client: IngestClient | None = None
        self._admitted: dict[str, tuple[str | None, float]] = {}
        self._reject_log = Throttled(log, LOG_EVERY_S)  # one line per reason per 10 s, with a count
        self.session_present: bool | None = None

    # ------------------------------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._halt = False
        self._worker = threading.Thread(target=self._work, name="mqtt-ingest", daemon=True)
        self._worker.start()
        await super().start()

    async def stop(self) -> None:
        if self.drain_timeout_s > 0 and self.available:
            await asyncio.to_thread(self._drain, self.drain_timeout_s)
        await super().stop()
        self._halt = True
        self._wake.set()
        if self._worker is not None:
            await asyncio.to_thread(self._worker.join, 10)

    def _drain(self, timeout_s: float) -> None:
        """Let the worker store and acknowledge what has arrived before the connection closes."""
        deadline = time.monotonic() + timeout_s
        while (self._inbox or self._busy) and time.monotonic() < deadline:
            time.sleep(0.01)

    def status(self) -> dict[str, Any]:
        out = super().status()
        out["broker"] = f"{'mqtts' if self.config.tls else 'mqtt'}://{self.config.host}:{self.config.port}"
        out["client_id"] = self.config.client_id
        out["session_present"] = self.session_present
        out["queued"] = len(self._inbox)
        return out

    # ------------------------------------------------------------------------------------------ connection

    async def run_once(self) -> None:
        cfg = self.config
        self._gen += 1
        conn = _Connection(self._gen, asyncio.get_running_loop())
        client = self._new_client(conn)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        self._conn, self._client = conn, client
        try:
            await asyncio.to_thread(
                client.connect, cfg.host, cfg.port, KEEPALIVE_S, clean_start=False, properties=props
            )
            client.loop_start()
            try:
                await asyncio.wait_for(asyncio.shield(conn.ready), CONNECT_TIMEOUT_S)
            except TimeoutError:
                raise ConnectionError("no CONNACK/SUBACK from the broker in time") from None
            if conn.reason:
                raise ConnectionError(conn.reason)
            self.mark_available()
            self.count("connections")
            log.info(
                "connector mqtt: subscribed to %s/+/+ at %s:%s (session kept: %s)",
                cfg.prefix,
                cfg.host,
                cfg.port,
                self.session_present,
            )
            await conn.ended.wait()
            if conn.back_off:
                raise ConnectionError(conn.reason)
            # A connection that worked and then ended (the broker restarted, the network dropped): unavailable
            # now, and the next attempt comes at once rather than after the backoff of earlier failures.
            self.mark_unavailable(conn.reason or "connection closed")
        finally:
            self._client = None
            await asyncio.to_thread(self._close, client)

    def _new_client(self, conn: _Connection) -> IngestClient:
        cfg = self.config
        gen = conn.gen
        inbox = self._inbox
        wake = self._wake

        def sink(topic: bytes, mid: int, qos: int, payload: bytes) -> None:
            inbox.append((gen, mid, qos, topic, payload))
            if len(inbox) == 1:
                self._first_at = time.monotonic()
                wake.set()

        client = IngestClient(cfg.client_id, sink)
        if cfg.username:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls:
            client.tls_set()

        def on_connect(c: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
            if reason.is_failure:
                conn.end(f"refused by the broker: {describe(reason)}")
                return
            self.session_present = bool(getattr(flags, "session_present", False))
            if not self.session_present and self.counters.get("connections"):
                log.warning(
                    "connector mqtt: the broker did not keep our session (client id %s): messages sent while "
                    "we were away may be lost; check its persistence and persistent_client_expiration",
                    cfg.client_id,
                )
            # retainHandling=1: retained status messages come once, when the subscription is new
            c.subscribe(f"{cfg.prefix}/+/+", options=SubscribeOptions(qos=1, retainHandling=1))

        def on_subscribe(c: Any, userdata: Any, mid: int, reasons: Any, properties: Any) -> None:
            failed = [describe(r) for r in reasons if r.is_failure]
            if failed:
                conn.end(f"subscription refused: {', '.join(failed)}")
            else:
                conn.subscribed()

        def on_disconnect(c: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
            if describe(reason) == "Session taken over":  # two processes with one client id: do not fight
                conn.back_off = True
            conn.end(f"disconnected: {describe(reason)}")

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_disconnect = on_disconnect
        return client

    @staticmethod
    def _close(client: IngestClient) -> None:
        """Disconnect (the acknowledgements already queued go out first) and stop the network thread."""
        try:
            client.disconnect()
        except Exception:
            log.debug("disconnect failed", exc_info=True)
        stopper = threading.Thread(target=client.loop_stop, daemon=True)
        stopper.start()
        stopper.join(5)

    # ------------------------------------------------------------------------------------------ worker

    def _work(self) -> None:
        inbox = self._inbox
        while not self._halt:
            if not inbox:
                self._wake.wait(0.5)
                self._wake.clear()
                if not inbox:
                    continue
            deadline = self._first_at + BATCH_WINDOW_S
            while len(inbox) < BATCH_MAX and not self._halt:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                time.sleep(min(left, 0.005))
            self._busy = True
            try:
                n = min(len(inbox), BATCH_MAX)
                batch = inbox[:n]
                del inbox[:n]  # appends only ever go to the end, so this needs no lock
                if inbox:
                    self._first_at = time.monotonic() - BATCH_WINDOW_S  # the rest is already due
                self._handle(batch)
            except Exception as exc:  # the database (or a bug): acknowledge nothing, let the broker resend
                self._fail(exc)
            finally:
                self._busy = False

    def _handle(self, batch: list[Inbound]) -> None:
        floor = self._min_gen
        live = [m for m in batch if m[0] >= floor]
        if not live:
            return
        self.count("received", len(live))
        self.count("batches")
        now = utcnow()
        now_ms = int(now.timestamp() * 1000)
        prefix = self.config.prefix
        parsed: list[tuple[Parsed, bytes]] = []
        for _gen, _mid, _qos, topic, payload in live:
            try:
                p = parse(prefix, topic, payload, now, now_ms)
            except Rejected as r:
                self._reject(r.reason, "%s on %s", r.detail, _show(topic))
                continue
            if p is not None:
                parsed.append((p, topic))
        verdicts = self._admit({p.code for p, _ in parsed})
        readings: list[dict[str, Any]] = []
        reading_topics: list[bytes] = []
        alarms: list[EventIn] = []
        presence: list[devices.Presence] = []
        for p, topic in parsed:
            reason = verdicts.get(p.code)
            if reason:
                self._reject(reason, "%s on %s", p.code, _show(topic))
            elif p.readings is not None:
                readings.extend(p.readings)
                reading_topics.extend([topic] * len(p.readings))
            elif p.alarm is not None:
                alarms.append(p.alarm)
            elif p.presence is not None:
                presence.append(p.presence)
        if readings:
            result = self._ingest(readings)
            self.count("stored_readings", result.accepted)
            if result.rejected:
                self.count("rejected:reading", result.rejected)
                first: dict[str, Any] = (result.reasons or [{"index": 0, "reason_en": "?"}])[0]
                where = _show(reading_topics[first["index"]])
                self._reject_log.warning("reading", "rejected (reading): %s on %s", first["reason_en"], where)
        if alarms:
            rec = self._record(alarms)
            self.count("stored_events", len(rec.ids))
            if rec.duplicates:
                self.count("duplicate_alarms", rec.duplicates)
            for bad in rec.rejected:
                self._reject("alarm", "%s (%s)", bad["reason_en"], alarms[bad["index"]].source_ref)
        if presence:
            with self._db.session() as s:
                devices.apply_presence(s, self._directory, presence, now)
        self._ack(live)

    def _ack(self, batch: list[Inbound]) -> None:
        conn, client = self._conn, self._client
        if conn is None or client is None:
            return  # the connection is gone: the broker re-sends these; storing them again is harmless
        mids = [mid for gen, mid, qos, _t, _p in batch if gen == conn.gen and qos == 1]
        client.ack_many(mids)

    def _reject(self, reason: str, message: str, *args: Any) -> None:
        self.count(f"rejected:{reason}")
        self._reject_log.warning(reason, f"rejected ({reason}): {message}", *args)

    def _admit(self, codes: set[str]) -> dict[str, str | None]:
        """May each device report? Cached for ADMISSION_TTL_S; unknown codes cost one query per batch."""
        now = time.monotonic()
        out: dict[str, str | None] = {}
        missing = []
        for code in codes:
            hit = self._admitted.get(code)
            if hit is not None and hit[1] > now:
                out[code] = hit[0]
            else:
                missing.append(code)
        if missing:
            with self._db.session() as s:
                found = devices.admission(s, missing)
            if len(self._admitted) > ADMISSION_CACHE_MAX:
                self._admitted.clear()
            for code, reason in found.items():
                self._admitted[code] = (reason, now + ADMISSION_TTL_S)
                out[code] = reason
        return out

    def _fail(self, exc: Exception) -> None:
        """Storing failed: drop what this connection delivered (unacknowledged) and reconnect."""
        log.error("connector mqtt: storing a batch failed; reconnecting to get it again", exc_info=exc)
        self.count("failed_batches")
        self._min_gen = self._gen + 1
        del self._inbox[:]
        conn = self._conn
        if conn is not None:
            conn.back_off = True
            conn.end(f"storing failed: {type(exc).__name__}: {exc}"[:300])


def _show(topic: bytes) -> str:
    return topic[:200].decode(errors="replace")
