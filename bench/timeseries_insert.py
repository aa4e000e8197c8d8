"""Batched time-series inserts: ``core.timeseries.write_samples`` against the raw database insert rate.

``write_samples`` is how every sensor batch, connector poll and HTTP ``POST /series/{id}/samples`` lands in
the ``samples`` table. Its rate is measured in rows per second for 200,000 samples written in batches of
10,000, one transaction per batch (as one request or one poll would), on both supported databases:

- SQLite: a temporary file database in WAL mode, migrated with ``core.migrate.upgrade`` and opened through
  ``core.db.Database`` (so with the app's pragmas). Baseline: the standard library's ``sqlite3``
  ``executemany`` of a plain ``INSERT`` into ``raw_samples``, a table made from the same DDL (same primary
  key, same foreign key), in the same file, with the same pragmas and the same ``BEGIN IMMEDIATE`` per batch.
- PostgreSQL, when reachable at ``TOANCANH_BENCH_PG_URL`` (default
  ``postgresql://postgres@127.0.0.1:5432/postgres``): a temporary database created and dropped by the bench.
  Baseline: psycopg ``COPY ... FROM STDIN`` with ``write_row`` per row into ``raw_samples``, made with
  ``LIKE samples INCLUDING ALL`` plus the same foreign key.

Subject and baseline get the very same Python tuples (built before the clock starts), the rounds are
interleaved and each rate is the best of ``ROUNDS`` rounds, so the ratio survives a noisy machine. The
goal is a ratio of at least 0.5: the service's checks (finite values, last write wins) may cost at most
as much again as the bare insert. After timing, both tables must hold the same rows, or the bench fails.
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench._common import main, print_table, rate, sig, temp_pg_database
from toancanh.core import timeseries
from toancanh.core.db import Database
from toancanh.core.migrate import upgrade
from toancanh.core.units import add_unit

NAME = "timeseries_insert"
ROWS = 200_000
BATCH = 10_000
ROUNDS = 3
GOAL = 0.5
PG_URL = os.environ.get("TOANCANH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")

Row = tuple[int, int, float]
Batches = list[list[Row]]


def run() -> dict[str, Any]:
    sqlite_rate, sqlite_raw = _sqlite()
    pg = _postgres()
    pg_rate, pg_copy = pg if pg else (None, None)

    sqlite_ratio = sqlite_rate / sqlite_raw
    pg_ratio = pg_rate / pg_copy if pg_rate and pg_copy else None
    rows = [
        (f"SQLite write_samples rows/s ({ROWS:,} in batches of {BATCH:,})", f"{sqlite_rate:,.0f}"),
        ("SQLite raw sqlite3 executemany rows/s", f"{sqlite_raw:,.0f}"),
        ("SQLite ratio (goal ≥ 0.5)", f"{sqlite_ratio:.3f}"),
    ]
    if pg_rate and pg_copy and pg_ratio:
        rows += [
            ("PostgreSQL write_samples rows/s", f"{pg_rate:,.0f}"),
            ("PostgreSQL raw psycopg COPY rows/s", f"{pg_copy:,.0f}"),
            ("PostgreSQL ratio (goal ≥ 0.5)", f"{pg_ratio:.3f}"),
        ]
    else:
        rows.append(("PostgreSQL", f"not reachable at {PG_URL}; skipped"))
    print_table("timeseries_insert: batched sample writes vs the raw insert", rows)
    return {
        "rows": ROWS,
        "batch": BATCH,
        "sqlite_rows_per_s": sig(sqlite_rate),
        "sqlite_raw_rows_per_s": sig(sqlite_raw),
        "sqlite_ratio": sig(sqlite_ratio),
        "pg_rows_per_s": sig(pg_rate) if pg_rate else None,
        "pg_copy_rows_per_s": sig(pg_copy) if pg_copy else None,
        "pg_ratio": sig(pg_ratio) if pg_ratio else None,
        "goal": GOAL,
    }


# ---------------------------------------------------------------------------------------------- the data


def _rounds(series_id: int) -> Iterator[Batches]:
    """One fresh set of batches per round: a new time range each time, so every row is a real insert."""
    rng = random.Random(0)
    values = [round(rng.uniform(0, 500), 3) for _ in range(ROWS)]
    base = 1_750_000_000_000
    for r in range(ROUNDS + 1):  # + the warm-up round
        start = base + r * ROWS * 1000
        rows = [(series_id, start + i * 1000, values[i]) for i in range(ROWS)]
        yield [rows[i : i + BATCH] for i in range(0, ROWS, BATCH)]


def _best_of(measures: dict[str, Callable[[Batches], None]], series_id: int) -> dict[str, float]:
    """Rows per second of each measure, best of ROUNDS interleaved rounds after one warm-up round."""
    best = dict.fromkeys(measures, 0.0)
    for r, batches in enumerate(_rounds(series_id)):
        order = list(measures.items())
        if r % 2:
            order.reverse()  # neither side always runs on the freshly checkpointed file
        for name, fn in order:
            start = time.perf_counter()
            fn(batches)
            elapsed = time.perf_counter() - start
            if r > 0:
                best[name] = max(best[name], rate(ROWS, elapsed))
    return best


def _new_series(db: Database) -> int:
    with db.session() as s:
        unit = add_unit(s, code="01", name="Thành phố Hà Nội", kind="thành phố trung ương")
        series = timeseries.Series(key="bench.pm25", name="PM2.5", unit_id=unit.id, unit_of_measure="µg/m³")
        s.add(series)
        s.flush()
        return series.id


# ---------------------------------------------------------------------------------------------- SQLite


def _sqlite() -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="tc-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        db = Database(url)
        raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        try:
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON", "busy_timeout=10000"):
                raw.execute(f"PRAGMA {pragma}")
            ddl = raw.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'samples'"
            ).fetchone()
            raw.execute(ddl[0].replace("CREATE TABLE samples", "CREATE TABLE raw_samples", 1))
            series_id = _new_series(db)

            def service(batches: Batches) -> None:
                for batch in batches:
                    with db.session() as s:
                        timeseries.write_samples(s, batch)

            def baseline(batches: Batches) -> None:
                for batch in batches:
                    raw.execute("BEGIN IMMEDIATE")
                    raw.executemany("INSERT INTO raw_samples (series_id, ts, value) VALUES (?, ?, ?)", batch)
                    raw.execute("COMMIT")

            best = _best_of({"service": service, "raw": baseline}, series_id)
            q = "SELECT count(*), sum(value), min(ts), max(ts) FROM {}"
            _same(
                raw.execute(q.format("samples")).fetchone(), raw.execute(q.format("raw_samples")).fetchone()
            )
        finally:
            raw.close()
            db.dispose()
    return best["service"], best["raw"]


# ---------------------------------------------------------------------------------------------- PostgreSQL


def _postgres() -> tuple[float, float] | None:
    import psycopg

    try:
        psycopg.connect(PG_URL, connect_timeout=3).close()
    except psycopg.Error:
        return None
    with temp_pg_database(PG_URL) as url:
        upgrade(url)
        db = Database(url)
        raw = psycopg.connect(url)
        try:
            with raw.transaction():
                raw.execute("CREATE TABLE raw_samples (LIKE samples INCLUDING ALL)")
                raw.execute(
                    "ALTER TABLE raw_samples ADD FOREIGN KEY (series_id) "
                    "REFERENCES series (id) ON DELETE CASCADE"
                )
            series_id = _new_series(db)

            def service(batches: Batches) -> None:
                for batch in batches:
                    with db.session() as s:
                        timeseries.write_samples(s, batch)

            def baseline(batches: Batches) -> None:
                for batch in batches:
                    with (
                        raw.transaction(),
                        raw.cursor() as cur,
                        cur.copy("COPY raw_samples (series_id, ts, value) FROM STDIN") as copy,
                    ):
                        for row in batch:
                            copy.write_row(row)

            best = _best_of({"service": service, "raw": baseline}, series_id)
            q = "SELECT count(*), sum(value), min(ts), max(ts) FROM {}"
            with raw.transaction():
                _same(
                    raw.execute(q.format("samples")).fetchone(),
                    raw.execute(q.format("raw_samples")).fetchone(),
                )
        finally:
            raw.close()
            db.dispose()
    return best["service"], best["raw"]


def _same(service: Any, baseline: Any) -> None:
    """Fail loudly if the service did not store exactly what the baseline stored."""
    count, total, first, last = service
    b_count, b_total, b_first, b_last = baseline
    if (count, first, last) != (b_count, b_first, b_last) or abs(total - b_total) > 1e-6 * abs(b_total):
        raise RuntimeError(f"write_samples stored {service}, the raw insert stored {baseline}")
    if count != ROWS * (ROUNDS + 1):
        raise RuntimeError(f"expected {ROWS * (ROUNDS + 1)} rows, found {count}")


if __name__ == "__main__":
    main(NAME, run)
