"""MQTT ingestion against a real (private) Mosquitto and the real database: what a device publishes lands once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from tests.connectors.mqtt.conftest import (
    PREFIX,
    Device,
    Store,
    make_coordinator,
    now_ms,
    running,
    sample_count,
    samples_of,
    until,
)
from toancanh.connectors.mqtt import connector
from toancanh.connectors.mqtt.broker import PrivateBroker
from toancanh.connectors.mqtt.coordinator import MqttConfig
from toancanh.connectors.mqtt.payloads import Rejected, parse, split_topic
from toancanh.core.assets import Asset
from toancanh.core.db import Database, utcnow
from toancanh.core.outbox import OutboxEvent
from toancanh.modules.alerts import devices
from toancanh.modules.alerts.models import Event
from toancanh.settings import Settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def asset(db: Database, code: str) -> Asset:
    with db.session() as s:
        a = s.scalar(select(Asset).where(Asset.code == code))
        assert a is not None
        s.expunge(a)
        return a


def db_asset(s: Any, world: Any, code: str) -> Asset:
    a: Asset | None = s.get(Asset, world.assets[code].id)
    assert a is not None
    return a


def outbox_subjects(db: Database, subject: str) -> list[dict[str, Any]]:
    with db.session() as s:
        return [e.data for e in s.scalars(select(OutboxEvent).where(OutboxEvent.subject == subject))]


# ---------------------------------------------------------------------------------------------- the convention


def test_topic_and_payload_convention() -> None:
    now = utcnow()
    ms = int(now.timestamp() * 1000)
    assert split_topic(PREFIX, b"toancanh/v1/aq-a2/readings") == ("aq-a2", "readings")
    for bad in (
        b"toancanh/v1/aq-a2/other",
        b"toancanh/v2/aq-a2/readings",
        b"toancanh/v1/a/b/readings",
        b"\xff",
    ):
        with pytest.raises(Rejected) as err:
            split_topic(PREFIX, bad)
        assert err.value.reason == "topic"
    one = parse(PREFIX, b"toancanh/v1/aq-a2/readings", b'{"ts": 1, "values": {"pm25": 3}}', now, ms)
    assert one is not None and one.readings == [{"device": "aq-a2", "ts": 1, "values": {"pm25": 3}}]
    many = parse(PREFIX, b"toancanh/v1/aq-a2/readings", orjson.dumps([{"values": {"t": 1}}] * 3), now, ms)
    assert many is not None and many.readings is not None and len(many.readings) == 3
    hb = parse(PREFIX, b"toancanh/v1/aq-a2/heartbeat", b'{"battery": 87, "rssi": -71, "fw": "1.2"}', now, ms)
    assert hb is not None and hb.readings == [
        {"device": "aq-a2", "ts": None, "values": {"battery": 87, "rssi": -71}}
    ]
    bare = parse(PREFIX, b"toancanh/v1/aq-a2/heartbeat", b"", now, ms)
    assert bare is not None and bare.presence is not None and bare.presence.online
    alarm = parse(
        PREFIX, b"toancanh/v1/aq-a2/alarm", b'{"id": 7, "category": "fire.smoke", "title": "Khoi"}', now, ms
    )
    assert alarm is not None and alarm.alarm is not None and alarm.alarm.source_ref == "aq-a2:7"
    status = parse(PREFIX, b"toancanh/v1/aq-a2/status", b"offline", now, ms)
    assert status is not None and status.presence is not None and not status.presence.online
    assert parse(PREFIX, b"toancanh/v1/aq-a2/status", b"", now, ms) is None  # a retained status cleared
    cases = {
        b"toancanh/v1/aq-a2/readings": [b"{", b"[]", b'{"values": 3}', b'{"values": {}}', b"[1]"],
        b"toancanh/v1/aq-a2/alarm": [b'{"category": "x", "title": "t"}', b'{"id": true, "title": "t"}'],
        b"toancanh/v1/aq-a2/status": [b"maybe"],
        b"toancanh/v1/aq-a2/heartbeat": [b'{"ts": "yesterday"}', b"[]"],
    }
    for topic, payloads in cases.items():
        for payload in payloads:
            with pytest.raises(Rejected):
                parse(PREFIX, topic, payload, now, ms)
    with pytest.raises(Rejected) as err:
        parse(PREFIX, b"toancanh/v1/aq-a2/readings", b" " * (256 * 1024 + 1), now, ms)
    assert err.value.reason == "too_large"


def test_config_from_settings(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, mqtt_url="mqtts://broker.example:8884", mqtt_topic_prefix="/toancanh/v1/")
    cfg = MqttConfig.from_settings(s)
    assert (cfg.host, cfg.port, cfg.tls, cfg.prefix) == ("broker.example", 8884, True, "toancanh/v1")
    assert MqttConfig.from_settings(Settings(data_dir=tmp_path)).port == 1883
    with pytest.raises(ValueError):
        MqttConfig.from_settings(Settings(data_dir=tmp_path, mqtt_url="http://x"))


# ---------------------------------------------------------------------------------------------- the stream


async def test_readings_land_in_series_and_last_state(
    broker: PrivateBroker, db: Database, world: Any
) -> None:
    store = Store(db)
    async with running(make_coordinator(broker, store)) as coord:
        dev = Device(broker, "aq-a2")
        t = now_ms() - 10_000
        dev.send("readings", {"ts": t, "values": {"pm25": 35.2, "temp": 31.5}})
        dev.send(
            "readings",
            [{"ts": t + 1000, "values": {"pm25": 36.0}}, {"ts": t + 2000, "values": {"pm25": 37.5}}],
        )
        await until(lambda: len(samples_of(db, "aq-a2")) == 4, what="4 samples")
        dev.close()
        assert samples_of(db, "aq-a2", "pm25") == [(t, 35.2), (t + 1000, 36.0), (t + 2000, 37.5)]
        assert samples_of(db, "aq-a2", "temp") == [(t, 31.5)]
        a = asset(db, "aq-a2")
        assert a.last_state == {"pm25": 37.5, "temp": 31.5}
        assert a.last_seen_at is not None and int(a.last_seen_at.timestamp() * 1000) == t + 2000
        assert coord.counters["received"] == 2
        assert coord.counters["stored_readings"] == 4
        assert coord.counters["batches"] >= 1
        assert coord.status()["available"] is True


async def test_bad_messages_are_rejected_counted_logged_and_the_stream_goes_on(
    broker: PrivateBroker, db: Database, world: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="toancanh.connectors.mqtt")
    store = Store(db)
    async with running(make_coordinator(broker, store)) as coord:
        dev = Device(broker, "aq-a2")
        t = now_ms()
        for _ in range(5):
            dev.publish("readings", b"{not json")  # a flood of one reason: logged once
        dev.publish("readings", {"values": {"pm25": 1}}, code="no-such-device")
        dev.publish("readings", b'{"values": {"pm25": ' + b"1" * (300 * 1024) + b"}}")
        dev.publish("firmware", {"v": 1})  # outside the convention
        dev.publish("readings", {"values": "35"})
        dev.publish("readings", {"ts": t, "values": {"pm25": "high", "temp": 30}})  # one good value of two
        dev.publish("alarm", {"category": "fire.smoke", "title": "no id"})
        dev.publish("alarm", {"id": "a1", "category": "Fire Smoke!", "title": "bad category"})
        dev.send("readings", {"ts": t + 1, "values": {"pm25": 12.5}})
        await until(lambda: len(samples_of(db, "aq-a2")) == 2, what="the good readings")
        await until(lambda: coord.counters.get("rejected:alarm") == 1, what="the alarm refused by record()")
        dev.close()
        assert samples_of(db, "aq-a2") == [(t, 30.0), (t + 1, 12.5)]
        c = coord.counters
        assert c["rejected:malformed"] == 5
        assert c["rejected:unknown_device"] == 1
        assert c["rejected:too_large"] == 1
        assert c["rejected:topic"] == 1
        assert c["rejected:invalid"] == 2  # values not an object; an alarm without id
        assert c["rejected:reading"] == 1  # "high" is not a number
        assert c["received"] == 13
        assert coord.available
        with db.session() as s:
            assert s.scalar(select(Event.id)) is None
    lines = [r.getMessage() for r in caplog.records if r.name == "toancanh.connectors.mqtt"]
    for reason in ("malformed", "unknown_device", "too_large", "topic", "invalid", "reading", "alarm"):
        assert any(f"rejected ({reason})" in line for line in lines), (reason, lines)
    assert sum("rejected (malformed)" in line for line in lines) == 1  # rate-limited


async def test_an_alarm_is_one_event_even_when_published_twice(
    broker: PrivateBroker, db: Database, world: Any
) -> None:
    store = Store(db)
    alarm = {
        "id": "42",
        "category": "fire.smoke",
        "severity": "extreme",
        "title": "Báo khói bếp ăn",
        "ts": now_ms() - 1000,
        "payload": {"zone": 3},
    }
    async with running(make_coordinator(broker, store)) as coord:
        dev = Device(broker, "hyd-a")
        dev.send("alarm", alarm)
        dev.send("alarm", alarm)  # a device that did not get our PUBACK sends it again
        await until(lambda: coord.counters.get("received") == 2, what="both alarms")
        await until(lambda: coord.counters.get("batches", 0) >= 1 and not coord.status()["queued"])
        dev.send("alarm", alarm)  # and once more, in a later batch
        await until(lambda: coord.counters.get("duplicate_alarms", 0) >= 2, what="duplicates counted")
        dev.close()
    with db.session() as s:
        rows = s.scalars(select(Event)).all()
        assert len(rows) == 1
        e = rows[0]
        assert (e.source, e.source_ref, e.category, e.severity) == (
            "sensor",
            "hyd-a:42",
            "fire.smoke",
            "extreme",
        )
        assert e.asset_id == world.assets["hyd-a"].id and e.unit_id == world.assets["hyd-a"].unit_id
        assert e.payload == {"zone": 3} and e.title == "Báo khói bếp ăn"


async def test_status_will_and_heartbeats(broker: PrivateBroker, db: Database, world: Any) -> None:
    store = Store(db)
    async with running(make_coordinator(broker, store)):
        dev = Device(broker, "cam-a1", will=True)
        dev.send("status", b"online")
        await until(lambda: asset(db, "cam-a1").status == "online", what="online")
        dev.send("heartbeat", {"battery": 87, "rssi": -71, "uptime_s": 3600})
        await until(lambda: len(samples_of(db, "cam-a1")) == 3, what="heartbeat values as readings")
        assert {v for _, v in samples_of(db, "cam-a1")} == {87.0, -71.0, 3600.0}
        # the device dies without saying goodbye: the broker publishes its Last Will ("offline", retained)
        dev.client._sock_close()
        dev.client.loop_stop()
        await until(lambda: asset(db, "cam-a1").status == "offline", what="the Last Will", timeout=60)
        assert len(outbox_subjects(db, "toancanh.core.device.offline")) == 1
        back = Device(broker, "cam-a1")
        back.send("heartbeat", b"")  # a bare heartbeat: seen now, back online
        await until(lambda: asset(db, "cam-a1").status == "online", what="back online")
        assert len(outbox_subjects(db, "toancanh.core.device.online")) == 1
        info = back.client.publish(f"{PREFIX}/cam-a1/status", b"", qos=1, retain=True)  # clears the Will
        info.wait_for_publish(10)
        back.close()


async def test_heartbeat_timeout_goes_offline_once_then_a_reading_brings_it_back(
    broker: PrivateBroker, db: Database, world: Any
) -> None:
    store = Store(db)
    with db.session() as s:
        devices.issue_credentials(s, db_asset(s, world, "aq-a2"), heartbeat_s=60)
    async with running(make_coordinator(broker, store)):
        dev = Device(broker, "aq-a2")
        dev.send("heartbeat", {"ts": now_ms()})
        await until(lambda: asset(db, "aq-a2").last_seen_at is not None, what="seen")
        later = utcnow() + timedelta(seconds=61)
        with db.session() as s:
            lost = devices.check_heartbeats(s, later)
        assert [(e.category, e.asset_code, e.severity) for e in lost] == [
            ("device.offline", "aq-a2", "moderate")
        ]
        with db.session() as s:
            assert devices.check_heartbeats(s, later + timedelta(minutes=5)) == []  # once per outage
        assert asset(db, "aq-a2").status == "offline"
        assert len(outbox_subjects(db, "toancanh.core.device.offline")) == 1
        dev.send("readings", {"values": {"pm25": 20}})
        await until(lambda: asset(db, "aq-a2").status == "online", what="back online")
        assert len(outbox_subjects(db, "toancanh.core.device.online")) == 1
        dev.close()


# ---------------------------------------------------------------------------------------------- failures


async def test_a_failed_database_write_is_not_acknowledged_and_comes_again(
    broker: PrivateBroker, db: Database, world: Any
) -> None:
    store = Store(db)
    store.fail_next = 1
    n = 300
    t = now_ms() - 600_000
    async with running(make_coordinator(broker, store)) as coord:
        dev = Device(broker, "aq-a2")
        for i in range(n):
            dev.publish("readings", {"ts": t + i, "values": {"pm25": i}})
        await until(lambda: len(dev.acked) == n, what="the broker acknowledged every publish")
        await until(lambda: len(samples_of(db, "aq-a2")) == n, what="every reading, after the retry")
        dev.close()
        assert coord.counters["failed_batches"] == 1
        assert coord.counters["connections"] == 2  # it reconnected to be sent the batch again
        assert coord.available
    assert [ts for ts, _ in samples_of(db, "aq-a2")] == [t + i for i in range(n)]


async def test_a_crash_before_commit_loses_nothing(broker: PrivateBroker, db: Database, world: Any) -> None:
    """The process dies while a batch is being written: nothing was acknowledged, the next process gets it all."""
    client_id = "ioc-crash-test"
    n = 200
    t = now_ms() - 600_000
    crashing = Store(db)
    crashing.gate = threading.Event()
    first = make_coordinator(broker, crashing, client_id=client_id)
    first.drain_timeout_s = 0  # a crash does not drain
    await first.start()
    await until(lambda: first.available, what="first process connected")
    dev = Device(broker, "aq-a2")
    for i in range(n):
        dev.publish("readings", {"ts": t + i, "values": {"pm25": i}})
    await until(lambda: len(dev.acked) == n, what="publishes acknowledged by the broker")
    await until(crashing.in_ingest.is_set, what="a batch being written")
    stopping = asyncio.create_task(first.stop())
    await until(lambda: first._client is None, what="the connection dropped")
    crashing.gate.set()  # the write fails: the batch was never committed
    await stopping
    assert sample_count(db) == 0
    assert first.counters.get("stored_readings", 0) == 0

    store = Store(db)
    async with running(make_coordinator(broker, store, client_id=client_id)) as second:
        await until(
            lambda: len(samples_of(db, "aq-a2")) == n, what="everything, redelivered to the next process"
        )
        assert second.session_present is True
    dev.close()
    assert [ts for ts, _ in samples_of(db, "aq-a2")] == [t + i for i in range(n)]


async def test_broker_restart_mid_stream_keeps_every_acknowledged_message(
    own_broker: PrivateBroker, db: Database, world: Any
) -> None:
    n = 3000
    t = now_ms() - 3_600_000
    store = Store(db)
    published: dict[int, int] = {}  # packet id -> message number (fewer than 65,535: ids are not reused)
    async with running(make_coordinator(own_broker, store)) as coord:
        dev = Device(own_broker, "aq-a2")

        def acked_numbers() -> set[int]:
            return {published[mid] for mid in list(dev.acked) if mid in published}

        def publish_all() -> None:
            for i in range(n):
                while len(dev.client._out_messages) > 500:
                    time.sleep(0.001)
                info = dev.publish("readings", {"ts": t + i, "values": {"pm25": float(i)}})
                published[info.mid] = i
                time.sleep(0.0002)

        sender = threading.Thread(target=publish_all, daemon=True)
        sender.start()
        await until(lambda: len(acked_numbers()) > n // 3, what="a third of the stream acknowledged")
        await asyncio.to_thread(own_broker.restart)
        await until(lambda: not sender.is_alive(), what="the publisher done", timeout=120)
        await until(lambda: coord.available, what="reconnected", timeout=60)
        # what the publisher got a PUBACK for must all arrive; the publisher re-sends the rest itself
        await until(
            lambda: {ts - t for ts, _ in samples_of(db, "aq-a2")} >= acked_numbers(),
            what="every acknowledged message stored",
            timeout=120,
        )
        await until(lambda: not dev.client._out_messages, what="publisher queue empty", timeout=120)
        await until(lambda: len(samples_of(db, "aq-a2")) == n, what="all messages", timeout=120)
        dev.close()
        assert coord.counters["connections"] >= 2  # it noticed the broker go away, and came back
    rows = samples_of(db, "aq-a2")
    stamps = [ts for ts, _ in rows]
    assert len(stamps) == len(set(stamps)) == n  # each exactly once
    assert all(value == ts - t for ts, value in rows)


# ---------------------------------------------------------------------------------------------- broker auth


@pytest.fixture(scope="module")
def auth_broker(tmp_path_factory: pytest.TempPathFactory) -> Any:
    service = ("toancanh", "service-password-1")
    folder = tmp_path_factory.mktemp("mosquitto-auth")
    passwd = f"{service[0]}:{devices.broker_hash(service[1])}\n"
    with PrivateBroker(folder, passwd=passwd, acl=f"user {service[0]}\ntopic read {PREFIX}/#\n") as b:
        yield b, service


def write_broker_files(db: Database, broker: PrivateBroker, service: tuple[str, str]) -> None:
    with db.session() as s:
        passwd, acl = devices.broker_files(s, *service)
    broker.write_auth(passwd, acl)
    broker.reload()


async def connack_of(broker: PrivateBroker, code: str, password: str) -> Any:
    """Connect as a device until the broker has read its new files (a reload is asynchronous)."""
    deadline = time.monotonic() + 10
    while True:
        dev = Device(broker, code, password=password)
        reason = dev.wait_connack()
        dev.close()
        if not reason.is_failure or time.monotonic() > deadline:
            return reason
        await asyncio.sleep(0.1)


async def test_broker_refuses_a_wrong_password_and_a_foreign_topic(
    auth_broker: Any, db: Database, world: Any
) -> None:
    broker, service = auth_broker
    with db.session() as s:
        _, aq_secret = devices.issue_credentials(s, db_asset(s, world, "aq-a2"))
        _, cam_secret = devices.issue_credentials(s, db_asset(s, world, "cam-a1"))
    write_broker_files(db, broker, service)
    assert not (await connack_of(broker, "aq-a2", aq_secret)).is_failure  # the $7$ hash works in Mosquitto

    store = Store(db)
    coord = make_coordinator(broker, store, user=service[0], password="wrong-password")
    async with running(coord, wait=False):
        await until(lambda: coord.failures >= 1, what="the service login refused")
        assert "refused by the broker" in coord.last_error and not coord.available
    async with running(make_coordinator(broker, store, user=service[0], password=service[1])) as coord:
        wrong = Device(broker, "aq-a2", password=cam_secret)
        reason = wrong.wait_connack()
        assert reason.is_failure and reason.getName() in ("Not authorized", "Bad user name or password")
        wrong.publish("readings", {"values": {"pm25": 999}})
        wrong.close()

        intruder = Device(broker, "aq-a2", password=aq_secret)
        assert not intruder.wait_connack().is_failure
        info = intruder.publish("readings", {"values": {"pm25": 1}}, code="cam-a1")
        with contextlib.suppress(RuntimeError):  # Mosquitto 2.0 drops it and may close the connection
            info.wait_for_publish(2)
        intruder.close()
        aq = Device(broker, "aq-a2", password=aq_secret)
        aq.send("readings", {"values": {"pm25": 2}})
        await until(lambda: samples_of(db, "aq-a2"), what="aq-a2's own reading")
        aq.close()
        assert [v for _, v in samples_of(db, "aq-a2")] == [2.0]
        assert samples_of(db, "cam-a1") == []
        assert coord.counters["received"] == 1  # the foreign-topic message never reached us


async def test_a_disabled_device_is_ignored_before_the_broker_is_reloaded(
    auth_broker: Any, db: Database, world: Any
) -> None:
    broker, service = auth_broker
    with db.session() as s:
        _, secret = devices.issue_credentials(s, db_asset(s, world, "aq-a2"))
    write_broker_files(db, broker, service)
    assert not (await connack_of(broker, "aq-a2", secret)).is_failure
    with db.session() as s:
        devices.disable_credentials(s, db_asset(s, world, "aq-a2"))
    store = Store(db)
    async with running(make_coordinator(broker, store, user=service[0], password=service[1])) as coord:
        dev = Device(broker, "aq-a2", password=secret)
        assert not dev.wait_connack().is_failure  # the broker still has the old files
        dev.send("readings", {"values": {"pm25": 1}})
        await until(lambda: coord.counters.get("rejected:disabled") == 1, what="refused by the IOC")
        dev.close()
    assert samples_of(db, "aq-a2") == []
    write_broker_files(db, broker, service)
    assert (await connack_of_refused(broker, "aq-a2", secret)).is_failure


async def connack_of_refused(broker: PrivateBroker, code: str, password: str) -> Any:
    deadline = time.monotonic() + 10
    while True:
        dev = Device(broker, code, password=password)
        reason = dev.wait_connack()
        dev.close()
        if reason.is_failure or time.monotonic() > deadline:
            return reason
        await asyncio.sleep(0.1)


# ---------------------------------------------------------------------------------------------- in the app


async def test_the_app_starts_the_connector_when_enabled(
    broker: PrivateBroker, settings: Settings, db: Database
) -> None:
    from fastapi.testclient import TestClient

    from tests.conftest import build_world
    from toancanh.app import create_app

    settings.connectors = ["mqtt"]
    settings.mqtt_url = broker.url
    settings.mqtt_client_id = "ioc-app-test"
    app = create_app(settings, database=db)
    with TestClient(app):
        build_world(db)
        if not hasattr(app.state, "alerts"):
            pytest.skip("the alerts runtime is not wired yet")
        coord = app.state.connectors.get("mqtt")
        assert coord is not None
        await until(lambda: coord.available, what="connector available in the app")
        dev = Device(broker, "aq-a2")
        dev.send("readings", {"values": {"pm25": 40.5}})
        await until(lambda: samples_of(db, "aq-a2"), what="the reading, through the alerts runtime")
        dev.close()
        assert coord.status()["counters"]["stored_readings"] == 1
    assert connector.name == "mqtt" and connector.cli is not None
