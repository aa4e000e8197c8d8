"""Helpers shared by the benches: timing, the human table and the one-line JSON result."""

from __future__ import annotations

import json
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.table import Table


def timed(
    fn: Callable[[], int | None], *, min_seconds: float = 1.0, warmup: bool = True
) -> tuple[int, float]:
    """Call ``fn`` until at least ``min_seconds`` have passed; return ``(operations, seconds)``.

    ``fn`` returns how many operations one call did (None counts as 1), so a batch call can count its items.
    With ``warmup`` one call runs first, untimed, to fill caches and trigger lazy set-up.
    """
    if warmup:
        fn()
    ops = 0
    start = time.perf_counter()
    while True:
        done = fn()
        ops += 1 if done is None else done
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return ops, elapsed


def best_rates(
    measures: dict[str, Callable[[], int | None]], *, rounds: int = 5, seconds_per_round: float = 0.25
) -> dict[str, float]:
    """Operations per second of each measure: the best of ``rounds`` interleaved rounds.

    Interleaving puts the subject and its baseline under the same machine conditions (a neighbour's load,
    the clock speed) and the best round is the one least disturbed, so their ratio is steadier than with
    one long run of each.
    """
    best = dict.fromkeys(measures, 0.0)
    for fn in measures.values():
        fn()  # warm-up
    for _ in range(rounds):
        for name, fn in measures.items():
            best[name] = max(best[name], rate(*timed(fn, min_seconds=seconds_per_round, warmup=False)))
    return best


def rate(ops: int, seconds: float) -> float:
    """Operations per second."""
    return ops / seconds if seconds > 0 else float("inf")


def sig(value: float, digits: int = 4) -> float:
    """Round to ``digits`` significant digits, for readable figures."""
    return float(f"{value:.{digits}g}")


def print_table(title: str, rows: list[tuple[str, str]]) -> None:
    """Print a two-column table (figure, value) for people."""
    table = Table(title=title)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in rows:
        table.add_row(name, value)
    Console(file=sys.stdout).print(table)


def emit_json(name: str, figures: dict[str, Any]) -> None:
    """Print the bench's figures as one JSON line, ``{"bench": name, ...}``; it must be the last line."""
    sys.stdout.flush()
    print(json.dumps({"bench": name, **figures}), flush=True)


def main(name: str, run: Callable[[], dict[str, Any]]) -> None:
    """Run one bench from its own ``if __name__ == "__main__"`` block: its table, then the JSON line."""
    emit_json(name, run())


@contextmanager
def temp_pg_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for one bench run, dropped afterwards; yields its URL."""
    import psycopg

    name = f"tc_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(env: dict[str, str], *, timeout_s: float = 60.0) -> Iterator[str]:
    """`toancanh serve` in its own process (so the load generator does not share its interpreter); yields
    its base URL once /healthz answers, and stops it afterwards."""
    import os
    import subprocess

    import httpx

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from toancanh.cli import main; main()", "serve", "--port", str(port)],
        env={**os.environ, "TOANCANH_LOG_LEVEL": "WARNING", **env},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def raw_sqlite_insert_rate(path: Any, rows: int, batch: int = 5000) -> float:
    """Baseline: rows/s of a plain sqlite3 `executemany` INSERT into a samples-shaped table (the product's own
    connection pragmas: WAL, NORMAL sync, the same page cache), one `BEGIN IMMEDIATE` transaction per batch,
    in a file of its own."""
    import sqlite3

    from toancanh.core.db import SQLITE_PRAGMAS

    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        conn.execute(pragma)
    conn.execute(
        "CREATE TABLE raw_samples (series_id INTEGER, ts INTEGER, value REAL, PRIMARY KEY (series_id, ts))"
    )
    data = [(i % 3000, i, float(i)) for i in range(rows)]
    started = time.perf_counter()
    for i in range(0, rows, batch):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO raw_samples VALUES (?, ?, ?)", data[i : i + batch])
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - started
    conn.close()
    return rate(rows, elapsed)


def raw_pg_copy_rate(url: str, rows: int, batch: int = 5000) -> float:
    """Baseline: rows/s of psycopg `COPY ... FROM STDIN` into a samples-shaped table, one commit per batch."""
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(
            "CREATE TABLE raw_samples "
            "(series_id bigint, ts bigint, value double precision, PRIMARY KEY (series_id, ts))"
        )
        conn.commit()
        data = [(i % 3000, i, float(i)) for i in range(rows)]
        started = time.perf_counter()
        for i in range(0, rows, batch):
            with conn.cursor() as cur, cur.copy("COPY raw_samples FROM STDIN") as copy:
                for row in data[i : i + batch]:
                    copy.write_row(row)
            conn.commit()
        return rate(rows, time.perf_counter() - started)
