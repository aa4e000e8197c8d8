"""Alert rules: a dry run over 10 million stored readings, and the live engine's evaluation rate.

``python -m bench rules_dryrun`` (or ``python -m bench.rules_dryrun [--rows N] [--pg]``; the environment
variables ``TOANCANH_BENCH_RULES_ROWS`` and ``TOANCANH_BENCH_RULES_PG=1`` do the same under ``python -m
bench``). On one database (SQLite, a temporary file, by default; with ``--pg`` a temporary PostgreSQL database
at ``TOANCANH_BENCH_PG_URL``):

- The fixture: a commune with 1,000 water-level sensors (assets), one series each, and ``--rows`` samples
  (default 10,000,000: 10,000 per series, one a minute) written with ``core.timeseries.write_samples`` the
  way ingestion writes them: in time order, batches of 500 minutes of every sensor (500,000 rows), one
  transaction each. Its rate is printed (the insert rate), it is not the figure.
- ``dry run``: ``rules.dry_run`` of a threshold rule held for 2 minutes (``water_level > 2.5``,
  ``for_s: 120``, auto-clear) over the whole range; readings per second. Baseline: the raw scan rate of the
  same rows, a bare driver cursor (``sqlite3`` / a psycopg server-side cursor) reading ``SELECT series_id,
  ts, value FROM samples`` in batches of 50,000, measured before and after the dry run (the best of the
  two, so a cold cache does not flatter the ratio). The dry run must read every row, and its firings are
  checked against the data. Goal: a ratio of at least 0.25 (the dry run also orders the rows by time and
  evaluates each one), and 10 million readings in under 60 s.
- ``live``: ``RuleEngine.feed_readings`` with 20 rules loaded (threshold, rate of change, k of n, absence,
  geofence over 10 measures), in batches of 10,000 readings from the same 1,000 sensors, 90% of them of
  measures no rule reads (the usual mix of a gateway's traffic), and again with every reading read by
  two rules. Baseline: a bare Python loop that does one dict lookup per reading, the least any evaluation
  can do. Goal: at least 300,000 readings per second in the usual mix.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench._common import main, print_table, rate, sig, temp_pg_database
from toancanh.core import timeseries
from toancanh.core.assets import Asset
from toancanh.core.db import Database
from toancanh.core.migrate import upgrade
from toancanh.core.units import add_unit
from toancanh.modules.alerts.rules import (
    AssetInfo,
    LoadedRule,
    Reading,
    RuleEngine,
    dry_run,
    parse_rule,
)

NAME = "rules_dryrun"
ROWS = int(os.environ.get("TOANCANH_BENCH_RULES_ROWS", "10000000"))
USE_PG = os.environ.get("TOANCANH_BENCH_RULES_PG", "") not in ("", "0")
PG_URL = os.environ.get("TOANCANH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SENSORS = 1000
BATCH_MINUTES = 500
SCAN_CHUNK = 50_000
T0 = 1_750_000_000_000
MIN = 60_000
THRESHOLD = 2.5
HOLD_S = 120
RATIO_GOAL = 0.25
SECONDS_GOAL_10M = 60.0
LIVE_GOAL = 300_000
LIVE_BATCH = 10_000
LIVE_ROUNDS = 5
UNIT_PATH = "/01/00664/"

RULE = {
    "code": "water-level-high",
    "name": "Mực nước vượt mức báo động",
    "when": {"type": "threshold", "measure": "water_level", "op": ">", "value": THRESHOLD, "for_s": HOLD_S},
    "alert": {
        "category": "flood.water_level",
        "severity": "severe",
        "title_vi": "Mực nước {value} m tại {asset}",
        "auto_clear": True,
    },
}


def run(rows: int | None = None, pg: bool | None = None) -> dict[str, Any]:
    rows = ROWS if rows is None else rows
    pg = USE_PG if pg is None else pg
    minutes = max(1, rows // SENSORS)
    rows = minutes * SENSORS
    backend = "PostgreSQL" if pg else "SQLite"
    with _database(pg) as (url, settle, scan):
        db = Database(url)
        try:
            series_ids = _world(db)
            insert_rate = _load(db, series_ids, minutes)
            settle()
            scan_before = scan()
            dry_rate, dry_s, result = _dry_run(db, minutes)
            scan_after = scan()
        finally:
            db.dispose()
    scan_rate = max(scan_before, scan_after)
    _check(result, rows, minutes)
    live = _live()

    ratio = dry_rate / scan_rate
    seconds_10m = dry_s * 10_000_000 / rows
    print_table(
        f"rules_dryrun: a rule over {rows:,} stored readings ({backend}), and the live engine",
        [
            ("fixture: write_samples rows/s (time order, 500,000-row batches)", f"{insert_rate:,.0f}"),
            ("raw driver scan of the samples rows/s (baseline)", f"{scan_rate:,.0f}"),
            (f"dry run readings/s (threshold held {HOLD_S} s)", f"{dry_rate:,.0f}"),
            (f"dry run ratio to the raw scan (goal ≥ {RATIO_GOAL})", f"{ratio:.3f}"),
            (f"dry run seconds ({rows:,} readings)", f"{dry_s:.1f}"),
            ("dry run seconds per 10M readings (goal < 60)", f"{seconds_10m:.1f}"),
            ("dry run firings (raised + cleared)", f"{result.total_firings:,}"),
            ("live: bare loop, one dict lookup per reading/s (baseline)", f"{live['floor']:,.0f}"),
            ("live: feed_readings, 20 rules, 90% unread measures/s", f"{live['mixed']:,.0f}"),
            ("live: ratio to the bare loop", f"{live['mixed'] / live['floor']:.3f}"),
            (f"live: goal ≥ {LIVE_GOAL:,}/s", "met" if live["mixed"] >= LIVE_GOAL else "NOT MET"),
            ("live: feed_readings, every reading read by 2 rules/s", f"{live['all']:,.0f}"),
        ],
    )
    return {
        "backend": backend.lower(),
        "rows": rows,
        "insert_rows_per_s": sig(insert_rate),
        "scan_rows_per_s": sig(scan_rate),
        "dryrun_readings_per_s": sig(dry_rate),
        "dryrun_ratio": sig(ratio),
        "dryrun_s": sig(dry_s),
        "dryrun_s_per_10m": sig(seconds_10m),
        "dryrun_firings": result.total_firings,
        "live_floor_per_s": sig(live["floor"]),
        "live_mixed_per_s": sig(live["mixed"]),
        "live_mixed_ratio": sig(live["mixed"] / live["floor"]),
        "live_all_matching_per_s": sig(live["all"]),
        "ratio_goal": RATIO_GOAL,
        "live_goal_per_s": LIVE_GOAL,
    }


# ---------------------------------------------------------------------------------------------- databases


@contextmanager
def _database(pg: bool) -> Iterator[tuple[str, Callable[[], None], Callable[[], float]]]:
    """A fresh migrated database; what settles it after the load; the baseline (the raw scan rate)."""
    if not pg:
        with tempfile.TemporaryDirectory(prefix="tc-bench-") as tmp:
            path = Path(tmp) / "bench.db"
            url = f"sqlite:///{path}"
            upgrade(url)

            def settle() -> None:
                raw = sqlite3.connect(path)
                try:
                    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # reads from the main file, not the WAL
                finally:
                    raw.close()

            def scan() -> float:
                raw = sqlite3.connect(path)
                try:
                    return _timed_scan(raw.execute("SELECT series_id, ts, value FROM samples"))
                finally:
                    raw.close()

            yield url, settle, scan
        return
    import psycopg

    with temp_pg_database(PG_URL) as url:
        upgrade(url)

        def settle() -> None:
            with psycopg.connect(url, autocommit=True) as raw:
                raw.execute("VACUUM ANALYZE samples")

        def scan() -> float:
            with psycopg.connect(url) as raw, raw.cursor(name="bench_scan") as cur:
                cur.execute("SELECT series_id, ts, value FROM samples")
                return _timed_scan(cur)

        yield url, settle, scan


def _timed_scan(cur: Any) -> float:
    start = time.perf_counter()
    n = 0
    while batch := cur.fetchmany(SCAN_CHUNK):
        n += len(batch)
    return rate(n, time.perf_counter() - start)


# ---------------------------------------------------------------------------------------------- the data


def _world(db: Database) -> list[int]:
    with db.session() as s:
        prov = add_unit(s, code="01", name="Thành phố Hà Nội", kind="thành phố trung ương")
        commune = add_unit(s, code="00664", name="Xã Đại Thanh", kind="xã", parent=prov)
        assets = [
            Asset(
                code=f"WL-{i:04d}",
                type="sensor",
                domain="utilities",
                name=f"Trạm đo mực nước {i}",
                unit_id=commune.id,
                lat=20.9 + i * 1e-4,
                lon=105.8,
            )
            for i in range(SENSORS)
        ]
        s.add_all(assets)
        s.flush()
        series = [
            timeseries.Series(
                key=f"{a.code}.water_level",
                name="Mực nước",
                unit_id=commune.id,
                asset_id=a.id,
                domain="utilities",
            )
            for a in assets
        ]
        s.add_all(series)
        s.flush()
        return [x.id for x in series]


def _level(i: int, minute: int) -> float:
    """A water level that rises above the threshold for about 18 minutes of every 97, with some jitter."""
    jitter = ((i * 7919 + minute * 104_729) % 401 - 200) / 1000
    return 1.5 + 1.2 * math.sin(2 * math.pi * (minute + 13 * i) / 97) + jitter


def _load(db: Database, series_ids: list[int], minutes: int) -> float:
    start = time.perf_counter()
    for m0 in range(0, minutes, BATCH_MINUTES):
        span = range(m0, min(minutes, m0 + BATCH_MINUTES))
        batch = [(sid, T0 + m * MIN, _level(i, m)) for i, sid in enumerate(series_ids) for m in span]
        with db.session() as s:
            timeseries.write_samples(s, batch)
    return rate(len(series_ids) * minutes, time.perf_counter() - start)


def _expected_firings(minutes: int) -> int:
    """Raised and cleared firings, computed straight from the data (held >= HOLD_S, 600 s cooldown)."""
    hold = HOLD_S // 60
    total = 0
    for i in range(SENSORS):
        since: int | None = None
        active = False
        last_fired: int | None = None
        for m in range(minutes):
            if _level(i, m) > THRESHOLD:
                since = m if since is None else since
                if not active and m - since >= hold and (last_fired is None or m - last_fired >= 10):
                    active, last_fired = True, m
                    total += 1
            else:
                if since is not None and active:
                    total += 1
                since, active = None, False
    return total


# ---------------------------------------------------------------------------------------------- dry run


def _dry_run(db: Database, minutes: int) -> tuple[float, float, Any]:
    spec = parse_rule(RULE)
    with db.session() as s:
        start = time.perf_counter()
        # from a day before the data: the first, empty window jumps straight to the first sample
        result = dry_run(
            s, spec, unit_path=UNIT_PATH, start_ms=T0 - 86_400_000, end_ms=T0 + minutes * MIN, max_firings=200
        )
        seconds = time.perf_counter() - start
    return rate(result.readings_scanned, seconds), seconds, result


def _check(result: Any, rows: int, minutes: int) -> None:
    if result.readings_scanned != rows:
        raise RuntimeError(f"the dry run read {result.readings_scanned} readings of {rows}")
    expected = _expected_firings(minutes)
    if result.total_firings != expected:
        raise RuntimeError(f"the dry run found {result.total_firings} firings, the data holds {expected}")


# ---------------------------------------------------------------------------------------------- live


def _live_rules() -> list[LoadedRule]:
    measures = [
        "water_level",
        "rain",
        "pm25",
        "noise",
        "temperature",
        "humidity",
        "smoke",
        "co2",
        "flow",
        "wind",
    ]
    zone = {
        "type": "Polygon",
        "coordinates": [
            [[105.79, 20.89], [105.81, 20.89], [105.81, 20.91], [105.79, 20.91], [105.79, 20.89]]
        ],
    }
    whens: list[dict[str, Any]] = []
    for i, m in enumerate(measures):
        whens.append({"type": "threshold", "measure": m, "op": ">", "value": 0.999, "for_s": 60 * (i % 3)})
        kind = i % 4
        if kind == 0:
            whens.append({"type": "rate_of_change", "measure": m, "delta": 0.95, "within_s": 600})
        elif kind == 1:
            whens.append({"type": "k_of_n", "measure": m, "op": ">", "value": 0.99, "k": 50, "within_s": 300})
        elif kind == 2:
            whens.append({"type": "absence", "measure": m, "after_s": 3600})
        else:
            whens.append(
                {"type": "geofence", "zone": zone, "lat_measure": f"{m}_lat", "lon_measure": f"{m}_lon"}
            )
    rules = []
    for n, when in enumerate(whens):
        spec = parse_rule(
            {
                "code": f"live-{n:02d}",
                "name": "Quy tắc thử",
                "when": when,
                "alert": {"category": "test.live", "severity": "minor", "title_vi": "{asset}: {value}"},
            }
        )
        rules.append(LoadedRule(n + 1, 1, UNIT_PATH, spec, 2))
    return rules


def _live() -> dict[str, float]:
    assets = {
        i: AssetInfo(i, f"S-{i:04d}", f"Cảm biến {i}", "sensor", "environment", 2, UNIT_PATH, 20.9, 105.8)
        for i in range(SENSORS)
    }
    rules = _live_rules()
    readers: dict[str, int] = {}
    for r in rules:
        for m in r.spec.measures() or ():
            readers[m] = readers.get(m, 0) + 1
    read = sorted(readers)
    read_twice = sorted(m for m, n in readers.items() if n == 2)
    unread = [f"other_{k}" for k in range(30)]
    rng = random.Random(7)

    def batches(measures: list[str], share_read: float) -> list[list[Reading]]:
        out = []
        ts = T0
        for _ in range(20):
            batch = []
            for j in range(LIVE_BATCH):
                ts += 5
                m = rng.choice(measures) if rng.random() < share_read else rng.choice(unread)
                batch.append(Reading(j % SENSORS, m, ts, rng.random()))
            out.append(batch)
        return out

    mixed = batches(read, 0.1)
    every = batches(read_twice, 1.0)

    def engine_rate(data: list[list[Reading]]) -> float:
        best = 0.0
        for _ in range(LIVE_ROUNDS):
            engine = RuleEngine()
            engine.load(rules)
            engine.watch_assets(assets.values())
            start = time.perf_counter()
            for batch in data:
                engine.feed_readings(batch, assets.get)
            best = max(best, rate(len(data) * LIVE_BATCH, time.perf_counter() - start))
        return best

    def floor_rate(data: list[list[Reading]]) -> float:
        index = {m: (m,) for m in read}
        best = 0.0
        for _ in range(LIVE_ROUNDS):
            start = time.perf_counter()
            get = index.get
            for batch in data:
                for r in batch:
                    get(r.measure)
            best = max(best, rate(len(data) * LIVE_BATCH, time.perf_counter() - start))
        return best

    return {"floor": floor_rate(mixed), "mixed": engine_rate(mixed), "all": engine_rate(every)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=ROWS, help="stored readings (default %(default)s)")
    parser.add_argument("--pg", action="store_true", default=USE_PG, help="PostgreSQL instead of SQLite")
    args = parser.parse_args()
    main(NAME, lambda: run(args.rows, args.pg))
