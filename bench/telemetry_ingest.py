"""HTTP batch ingestion of readings: `POST /api/v1/telemetry/readings` against the raw database insert rate.

A real `toancanh serve` process (its own interpreter) on a fresh database with 1,000 sensors and a few rules
loaded; a client in this process posts batches of 5,000 readings (pre-encoded JSON, two connections at a
time) and counts readings per second from the first request to the last answer. Every answer means the
readings are committed (durable), so the figure is durable ingestion. Afterwards the samples table must hold
exactly the readings sent, or the bench fails.

Baseline, in the same run and the same database engine: the raw insert rate of the same number of rows
(sqlite3 `executemany` of a plain INSERT into a copy of the samples table on SQLite; `COPY` on PostgreSQL
with `--pg`). Goals: at least 100,000 readings/s, and at least 0.4 of the raw insert rate.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
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
from toancanh.core.db import Database
from toancanh.core.migrate import upgrade
from toancanh.demo.load_world import build_load_world

NAME = "telemetry_ingest"
DEVICES = 1000
BATCH = 5000
GOAL_RATE = 100_000
GOAL_RATIO = 0.4
PG_URL = os.environ.get("TOANCANH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

RULES = [
    {
        "code": "bench-pm25",
        "name": "Bụi mịn cao",
        "when": {"type": "threshold", "measure": "pm25", "op": ">", "value": 1e9, "for_s": 60},
        "alert": {"category": "air.pm25", "severity": "moderate", "title_vi": "PM2.5 {value} tại {asset}"},
    },
    {
        "code": "bench-level",
        "name": "Mực nước tăng nhanh",
        "when": {"type": "rate_of_change", "measure": "water_level", "delta": 1e9, "within_s": 600},
        "alert": {"category": "flood.rise", "severity": "severe", "title_vi": "Nước lên nhanh tại {asset}"},
    },
]


def _bodies(codes: list[str], total: int, start_ms: int) -> list[bytes]:
    bodies = []
    sent = 0
    while sent < total:
        readings = []
        for i in range(BATCH // 2):  # two measures per reading object; every (device, time) is new
            n = sent // 2 + i
            values = {"pm25": 30.5 + i % 7, "water_level": 1.0 + (i % 3) / 10}
            readings.append({"device": codes[n % len(codes)], "ts": start_ms + n, "values": values})
        sent += BATCH
        bodies.append(orjson.dumps({"readings": readings}))
    return bodies


def _post_all(url: str, key: str, bodies: list[bytes], connections: int = 2) -> float:
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    queue = list(enumerate(bodies))
    lock = threading.Lock()
    errors: list[str] = []

    def worker() -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=60) as c:
            while True:
                with lock:
                    if not queue:
                        return
                    _, body = queue.pop()
                r = c.post("/api/v1/telemetry/readings", content=body)
                if r.status_code != 200 or r.json()["rejected"]:
                    errors.append(r.text[:300])

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[0]}")
    return elapsed


def _count(db: Database) -> int:
    from sqlalchemy import func, select

    from toancanh.core.timeseries import Sample

    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Sample)) or 0


def _measure(database_url: str, data_dir: Path, total: int, raw: Any) -> dict[str, float]:
    upgrade(database_url)
    db = Database(database_url)
    world = build_load_world(db, DEVICES)
    from toancanh.modules.alerts.service import save_rule

    with db.session() as s:
        for r in RULES:
            save_rule(s, None, r, unit_id=world.unit_id, domain="environment")
    start_ms = int(time.time() * 1000) - 3_600_000
    bodies = _bodies(world.codes, total, start_ms)
    env = {
        "TOANCANH_DATA_DIR": str(data_dir),
        "TOANCANH_DATABASE_URL": database_url,
        "TOANCANH_SECRET_KEY": "bench",
    }
    with served(env) as url:
        _post_all(url, world.api_key, bodies[:2])  # warm-up: series created, caches filled
        elapsed = _post_all(url, world.api_key, bodies[2:])
    stored = _count(db)
    db.dispose()
    if stored != total:
        raise RuntimeError(f"stored {stored} readings, sent {total}")
    subject = rate(total - 2 * BATCH, elapsed)
    baseline = raw(total)
    return {"rate": subject, "raw": baseline, "ratio": subject / baseline}


def run() -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--readings", type=int, default=600_000)
    parser.add_argument("--pg", action="store_true", help="also on PostgreSQL")
    args, _ = parser.parse_known_args()
    total = (args.readings // BATCH) * BATCH
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "toancanh.db"
        lite = _measure(
            f"sqlite:///{path}", Path(tmp), total, lambda n: raw_sqlite_insert_rate(Path(tmp) / "raw.db", n)
        )
    figures: dict[str, Any] = {
        "readings": total,
        "sqlite_readings_per_s": sig(lite["rate"]),
        "sqlite_raw_insert_per_s": sig(lite["raw"]),
        "sqlite_ratio": sig(lite["ratio"], 3),
    }
    rows = [
        (f"SQLite: readings/s through HTTP ({total:,} in batches of {BATCH:,})", f"{lite['rate']:,.0f}"),
        ("SQLite: raw insert rows/s", f"{lite['raw']:,.0f}"),
        (f"SQLite: ratio (goal ≥ {GOAL_RATIO})", f"{lite['ratio']:.3f}"),
    ]
    if args.pg:
        with temp_pg_database(PG_URL) as url, tempfile.TemporaryDirectory() as tmp:
            pg = _measure(
                url.replace("postgresql://", "postgresql+psycopg://"),
                Path(tmp),
                total,
                lambda n: raw_pg_copy_rate(url, n),
            )
        figures |= {
            "pg_readings_per_s": sig(pg["rate"]),
            "pg_raw_copy_per_s": sig(pg["raw"]),
            "pg_ratio": sig(pg["ratio"], 3),
        }
        rows += [
            ("PostgreSQL: readings/s through HTTP", f"{pg['rate']:,.0f}"),
            ("PostgreSQL: raw COPY rows/s", f"{pg['raw']:,.0f}"),
            (f"PostgreSQL: ratio (goal ≥ {GOAL_RATIO})", f"{pg['ratio']:.3f}"),
        ]
    print_table(f"HTTP batch ingestion (goal ≥ {GOAL_RATE:,} readings/s)", rows)
    return figures


if __name__ == "__main__":
    main(NAME, run)
