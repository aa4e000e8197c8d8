"""MQTT ingestion end to end: devices publish QoS 1 to Mosquitto, the IOC stores every reading, none lost.

A private Mosquitto (anonymous, persistence on, no cap on queued messages) and a real `toancanh serve` process
(its own interpreter) with `connectors = ["mqtt"]` on a fresh database holding 1,000 sensors and a few rules.
Publisher processes (raw MQTT 3.1.1 sockets, pre-encoded packets, up to 1,000 publishes in flight each, so
they cost little CPU) send 200,000 messages from the 1,000 devices at full speed, one reading of 1-3 values
per message, QoS 1. The figure is messages per second from the first publish to the moment the last reading
is committed (the samples table is polled), so it is the sustained rate of the whole path: broker, paho,
batching, `ingest_readings` (validation, series, last state, the rule engine's queue) and the commits.
Afterwards the samples table must hold exactly the readings sent, or the bench fails.

Baseline, in the same run and database engine: the raw insert rate of as many rows (sqlite3 `executemany`
into a plain copy of the samples table; `COPY` on PostgreSQL with `--pg`). Goals: at least 10,000 messages/s
with no loss, and the ratio of readings/s to the raw rate.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import select
import socket
import sqlite3
import struct
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench._common import (
    main,
    print_table,
    rate,
    raw_pg_copy_rate,
    raw_sqlite_insert_rate,
    served,
    sig,
    temp_pg_database,
)
from toancanh.connectors.mqtt.broker import PrivateBroker
from toancanh.core.db import Database
from toancanh.core.migrate import upgrade
from toancanh.demo.load_world import build_load_world

NAME = "mqtt_ingest"
DEVICES = 1000
PUBLISHERS = 2
WINDOW = 1000  # publishes in flight per publisher connection
GOAL_RATE = 10_000
PREFIX = "toancanh/v1"
MEASURES = ("pm25", "temp", "humidity")
PG_URL = os.environ.get("TOANCANH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

RULES = [
    {
        "code": "bench-pm25",
        "name": "Bụi mịn cao",
        "when": {"type": "threshold", "measure": "pm25", "op": ">", "value": 1e9, "for_s": 60},
        "alert": {"category": "air.pm25", "severity": "moderate", "title_vi": "PM2.5 {value} tại {asset}"},
    },
    {
        "code": "bench-temp",
        "name": "Nhiệt độ tăng nhanh",
        "when": {"type": "rate_of_change", "measure": "temp", "delta": 1e9, "within_s": 600},
        "alert": {"category": "weather.heat", "severity": "severe", "title_vi": "Nóng lên nhanh tại {asset}"},
    },
]


# ---------------------------------------------------------------------------------------------- publishers


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(b: bytes) -> bytes:
    return struct.pack("!H", len(b)) + b


def _publish_packet(topic: bytes, payload: bytes, mid: int) -> bytes:
    body = _string(topic) + struct.pack("!H", mid) + payload
    return b"\x32" + _varint(len(body)) + body  # PUBLISH, QoS 1


def _messages(codes: list[str], total: int, start_ms: int) -> list[tuple[bytes, bytes]]:
    """(topic, payload) of `total` messages over the devices: 1-3 values each, unique times per device."""
    out = []
    for i in range(total):
        d, k = i % len(codes), i // len(codes)
        values = {m: round(10 + (i * 7 + j) % 400 / 3, 2) for j, m in enumerate(MEASURES[: 1 + i % 3])}
        payload = orjson.dumps({"ts": start_ms + k, "values": values})
        out.append((f"{PREFIX}/{codes[d]}/readings".encode(), payload))
    return out


def _readings_in(messages: list[tuple[bytes, bytes]]) -> int:
    return sum(len(orjson.loads(p)["values"]) for _, p in messages)


def _publisher(
    port: int, name: str, messages: list[tuple[bytes, bytes]], start: Any, out: Any
) -> None:  # pragma: no cover - runs in a child process
    """Connect (MQTT 3.1.1), wait for the start signal, publish everything at QoS 1, count the PUBACKs."""
    packets = [_publish_packet(t, p, i % 65535 + 1) for i, (t, p) in enumerate(messages)]
    sock = socket.create_connection(("127.0.0.1", port))
    connect = _string(b"MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60) + _string(name.encode())
    sock.sendall(b"\x10" + _varint(len(connect)) + connect)
    assert sock.recv(4)[3] == 0, "CONNACK refused"
    start.wait()
    began = time.time()
    sock.setblocking(False)
    sent = acked = 0
    pending = bytearray()
    received = b""
    n = len(packets)
    while acked < n:
        while sent < n and sent - acked < WINDOW:
            pending += packets[sent]
            sent += 1
        if pending:
            with contextlib.suppress(BlockingIOError):
                del pending[: sock.send(pending)]
        readable, _, _ = select.select([sock], [sock] if pending else [], [], 5)
        if readable:
            data = sock.recv(1 << 16)
            if not data:
                raise RuntimeError("the broker closed the publisher's connection")
            received += data
            whole = len(received) // 4  # only PUBACKs (4 bytes) come to a publisher
            acked += whole
            received = received[whole * 4 :]
    sock.close()
    out.put((began, time.time(), acked))


def _publish_all(port: int, messages: list[tuple[bytes, bytes]]) -> tuple[float, float, int]:
    """Publish from PUBLISHERS processes at once; (first publish, last PUBACK, PUBACKs) as epoch seconds."""
    ctx = mp.get_context("fork")
    start, out = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_publisher, args=(port, f"bench-pub-{j}", messages[j::PUBLISHERS], start, out))
        for j in range(PUBLISHERS)
    ]
    for p in procs:
        p.start()
    time.sleep(1.0)  # connected and packets built
    start.set()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(30)
    return min(r[0] for r in results), max(r[1] for r in results), sum(r[2] for r in results)


# ---------------------------------------------------------------------------------------------- measuring


def _counter(database_url: str) -> Any:
    """count(*) of samples on its own connection (not the server's)."""
    if database_url.startswith("sqlite"):
        conn = sqlite3.connect(database_url.split("///", 1)[1])
        return lambda: conn.execute("SELECT count(*) FROM samples").fetchone()[0]
    import psycopg

    pg = psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)
    return lambda: pg.execute("SELECT count(*) FROM samples").fetchone()[0]  # type: ignore[index]


def _wait_rows(count: Any, rows: int, timeout_s: float) -> float:
    deadline = time.time() + timeout_s
    while True:
        n = count()
        if n >= rows:
            return time.time()
        if time.time() > deadline:
            raise RuntimeError(f"only {n:,} of {rows:,} readings stored after {timeout_s:.0f} s")
        time.sleep(0.02)


def _measure(database_url: str, data_dir: Path, total: int, raw: Any) -> dict[str, Any]:
    upgrade(database_url)
    db = Database(database_url)
    world = build_load_world(db, DEVICES)
    rules = 0
    try:
        from toancanh.modules.alerts.service import save_rule

        with db.session() as s:
            for r in RULES:
                save_rule(s, None, r, unit_id=world.unit_id, domain="environment")
                rules += 1
    except ImportError:
        pass  # no rule engine in this tree: the bench measures storage alone
    db.dispose()
    start_ms = int(time.time() * 1000) - 3_600_000
    warmup = _messages(world.codes, DEVICES * 3, start_ms - 10 * DEVICES)  # every series created first
    stream = _messages(world.codes, total, start_ms)
    warm_rows, rows = _readings_in(warmup), _readings_in(stream)
    count = _counter(database_url)
    with PrivateBroker(data_dir / "mosquitto") as broker:
        env = {
            "TOANCANH_DATA_DIR": str(data_dir),
            "TOANCANH_DATABASE_URL": database_url,
            "TOANCANH_SECRET_KEY": "bench",
            "TOANCANH_CONNECTORS": '["mqtt"]',
            "TOANCANH_MQTT_URL": broker.url,
            "TOANCANH_MQTT_CLIENT_ID": "bench-ioc",
        }
        with served(env) as url:
            _publish_all(broker.port, warmup)
            _wait_rows(count, warm_rows, 120)
            first, last_ack, acked = _publish_all(broker.port, stream)
            done = _wait_rows(count, warm_rows + rows, 600)
            connector = httpx.get(f"{url}/readyz", timeout=10).json().get("connectors", {}).get("mqtt", {})
    stored = count() - warm_rows
    if acked != total or stored != rows:
        raise RuntimeError(
            f"sent {total:,} messages ({rows:,} readings), {acked:,} acknowledged, {stored:,} stored"
        )
    elapsed = done - first
    baseline = raw(rows)
    return {
        "messages_per_s": rate(total, elapsed),
        "readings_per_s": rate(rows, elapsed),
        "publish_per_s": rate(total, last_ack - first),
        "raw": baseline,
        "ratio": rate(rows, elapsed) / baseline,
        "rows": rows,
        "rules": rules,
        "counters": connector.get("counters", {}),
    }


def run() -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--pg", action="store_true", help="also on PostgreSQL")
    args, _ = parser.parse_known_args()
    total = max(DEVICES, args.messages // DEVICES * DEVICES)
    with tempfile.TemporaryDirectory(prefix="tc-bench-") as tmp:
        lite = _measure(
            f"sqlite:///{Path(tmp) / 'toancanh.db'}",
            Path(tmp),
            total,
            lambda n: raw_sqlite_insert_rate(Path(tmp) / "raw.db", n),
        )
    batches = lite["counters"].get("batches", 0)
    figures: dict[str, Any] = {
        "messages": total,
        "devices": DEVICES,
        "rules": lite["rules"],
        "sqlite_messages_per_s": sig(lite["messages_per_s"]),
        "sqlite_readings_per_s": sig(lite["readings_per_s"]),
        "sqlite_publish_per_s": sig(lite["publish_per_s"]),
        "sqlite_raw_insert_per_s": sig(lite["raw"]),
        "sqlite_ratio": sig(lite["ratio"], 3),
        "sqlite_lost": 0,
        "goal_messages_per_s": GOAL_RATE,
    }
    rows = [
        (
            f"SQLite: messages/s end to end ({total:,} from {DEVICES:,} devices, QoS 1)",
            f"{lite['messages_per_s']:,.0f}",
        ),
        (f"SQLite: readings/s ({lite['rows']:,} readings)", f"{lite['readings_per_s']:,.0f}"),
        ("SQLite: publish rate into the broker, messages/s", f"{lite['publish_per_s']:,.0f}"),
        ("SQLite: raw insert rows/s", f"{lite['raw']:,.0f}"),
        ("SQLite: ratio readings/s ÷ raw insert", f"{lite['ratio']:.3f}"),
        ("SQLite: lost", "0"),
        (
            "SQLite: batches (mean messages per batch)",
            f"{batches:,} ({(total + DEVICES * 3) / max(1, batches):,.0f})",
        ),
    ]
    if args.pg:
        with temp_pg_database(PG_URL) as url, tempfile.TemporaryDirectory(prefix="tc-bench-") as tmp:
            pg_url = url.replace("postgresql://", "postgresql+psycopg://")
            pg = _measure(pg_url, Path(tmp), total, lambda n: raw_pg_copy_rate(url, n))
        figures |= {
            "pg_messages_per_s": sig(pg["messages_per_s"]),
            "pg_readings_per_s": sig(pg["readings_per_s"]),
            "pg_raw_copy_per_s": sig(pg["raw"]),
            "pg_ratio": sig(pg["ratio"], 3),
            "pg_lost": 0,
        }
        rows += [
            ("PostgreSQL: messages/s end to end", f"{pg['messages_per_s']:,.0f}"),
            ("PostgreSQL: readings/s", f"{pg['readings_per_s']:,.0f}"),
            ("PostgreSQL: raw COPY rows/s", f"{pg['raw']:,.0f}"),
            ("PostgreSQL: ratio readings/s ÷ raw COPY", f"{pg['ratio']:.3f}"),
            ("PostgreSQL: lost", "0"),
        ]
    print_table(f"MQTT ingestion, QoS 1, no loss (goal ≥ {GOAL_RATE:,} messages/s)", rows)
    return figures


if __name__ == "__main__":
    main(NAME, run)
