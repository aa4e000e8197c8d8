"""A private Mosquitto per test module, the coordinator on the real database, and a device-side publisher."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select

from toancanh.connectors.mqtt.broker import PrivateBroker
from toancanh.connectors.mqtt.coordinator import MqttConfig, MqttCoordinator
from toancanh.core.db import Database
from toancanh.core.timeseries import Sample, Series
from toancanh.modules.alerts import events, telemetry

PREFIX = "toancanh/v1"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBroker]:
    """An anonymous private Mosquitto shared by the module's tests (each uses its own client ids)."""
    with PrivateBroker(tmp_path_factory.mktemp("mosquitto")) as b:
        yield b


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    """A private Mosquitto for one test, which may stop and restart it."""
    with PrivateBroker(tmp_path / "mosquitto") as b:
        yield b


class Store:
    """What the alerts runtime does for the connector, done directly on the test database."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.directory = telemetry.Directory()
        self.fail_next = 0  # the next N ingest calls fail, as a database that went away would
        self.gate: threading.Event | None = None  # when set: ingest waits for it, then fails (a crash)
        self.in_ingest = threading.Event()
        self.ingest_calls = 0
        self.ingested = 0

    def ingest(self, items: list[dict[str, Any]]) -> telemetry.IngestResult:
        self.ingest_calls += 1
        if self.gate is not None:
            self.in_ingest.set()
            self.gate.wait(30)
            raise RuntimeError("the process died before committing (test)")
        if self.fail_next:
            self.fail_next -= 1
            raise RuntimeError("database is unreachable (test)")
        with self.db.session() as s:
            result = telemetry.ingest(s, self.directory, items)
        self.ingested += len(items)
        return result

    def record(self, items: list[events.EventIn]) -> events.Recorded:
        with self.db.session() as s:
            return events.record(s, items)


def make_coordinator(
    broker: PrivateBroker, store: Store, *, client_id: str | None = None, user: str = "", password: str = ""
) -> MqttCoordinator:
    config = MqttConfig(
        host="127.0.0.1",
        port=broker.port,
        tls=False,
        username=user,
        password=password,
        client_id=client_id or f"ioc-{uuid.uuid4().hex[:8]}",
        prefix=PREFIX,
    )
    coordinator = MqttCoordinator(
        config,
        db=store.db,
        directory=store.directory,
        ingest_readings=store.ingest,
        record_events=store.record,
    )
    coordinator.max_backoff_s = 2.0  # a test waits for reconnections; production keeps 30 s
    return coordinator


@contextlib.asynccontextmanager
async def running(coordinator: MqttCoordinator, *, wait: bool = True) -> AsyncIterator[MqttCoordinator]:
    await coordinator.start()
    try:
        if wait:
            await until(lambda: coordinator.available, what=f"connector available ({coordinator.last_error})")
        yield coordinator
    finally:
        await coordinator.stop()


async def until(cond: Callable[[], Any], *, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class Device:
    """A device's MQTT client (paho, MQTT 3.1.1, QoS 1) that remembers which publishes the broker acknowledged."""

    def __init__(
        self,
        broker: PrivateBroker,
        code: str,
        *,
        password: str | None = None,
        will: bool = False,
        connect: bool = True,
    ) -> None:
        self.code = code
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"dev-{code}-{uuid.uuid4().hex[:6]}")
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        if password is not None:
            self.client.username_pw_set(code, password)
        if will:
            self.client.will_set(f"{PREFIX}/{code}/status", b"offline", qos=1, retain=True)
        self.connack: Any = None
        self.connected = threading.Event()
        self.acked: set[int] = set()  # packet ids the broker acknowledged
        self._lock = threading.Lock()
        self.client.on_connect = self._on_connect
        self.client.on_publish = self._on_publish
        self.broker = broker
        if connect:
            self.client.connect("127.0.0.1", broker.port, 30)
            self.client.loop_start()

    def _on_connect(self, c: Any, u: Any, flags: Any, reason: Any, props: Any) -> None:
        self.connack = reason
        self.connected.set()

    def _on_publish(self, c: Any, u: Any, mid: int, reason: Any, props: Any) -> None:
        with self._lock:
            self.acked.add(mid)

    def wait_connack(self, timeout: float = 10) -> Any:
        assert self.connected.wait(timeout), "no CONNACK"
        return self.connack

    def publish(
        self, kind: str, payload: Any, *, code: str | None = None, qos: int = 1
    ) -> mqtt.MQTTMessageInfo:
        body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
        return self.client.publish(f"{PREFIX}/{code or self.code}/{kind}", body, qos=qos)

    def send(self, kind: str, payload: Any, **kw: Any) -> None:
        """Publish and wait for the broker's PUBACK."""
        info = self.publish(kind, payload, **kw)
        info.wait_for_publish(10)
        assert info.is_published()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def samples_of(db: Database, code: str, measure: str | None = None) -> list[tuple[int, float]]:
    """(ts, value) of a device's samples (one measure, or all), oldest first."""
    with db.session() as s:
        stmt = select(Sample.ts, Sample.value).join(Series, Series.id == Sample.series_id)
        key = Series.key == f"{code}.{measure}" if measure else Series.key.like(f"{code}.%")
        return [(int(t), float(v)) for t, v in s.execute(stmt.where(key).order_by(Sample.ts))]


def sample_count(db: Database) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Sample)) or 0)


def now_ms() -> int:
    return int(time.time() * 1000)
