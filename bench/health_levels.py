"""Weekly epidemic levels for every commune of Viet Nam: `health.service.compute_week` over 3,321 communes
(the number after 1 July 2025) under the shipped QĐ 4800/QĐ-BYT table.

Set-up (untimed): one province holding 3,321 communes with populations of 2,000 to 60,000, each with
vaccination figures and a capacity assessment, and `--cases` cases (default 100,000) confirmed in the week,
spread over the communes with a skew (a few communes hold most of them), a quarter found in quarantine.

Measured:

- ``first``: the first computation of the week (every level inserted), in communes per second;
- ``recompute``: the same week again (every level updated in place, as the worker does four times a day);
- the whole computation's seconds, the figure an operator waits for.

Baseline, measured in the same run: the raw insert rate of the database (``_common.raw_sqlite_insert_rate``,
or ``raw_pg_copy_rate`` with ``--pg``), in rows per second. ``first / raw insert`` is how close writing one
level per commune, after counting its cases and reading its latest figures, comes to writing a bare row.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench._common import print_table, raw_pg_copy_rate, raw_sqlite_insert_rate, sig, temp_pg_database
from toancanh.core.db import Database
from toancanh.core.migrate import upgrade
from toancanh.core.units import Unit, add_unit

NAME = "health_levels"
COMMUNES = 3321
PG_URL = os.environ.get("TOANCANH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _populate(db: Database, cases: int, seed: int = 0) -> str:
    from toancanh.modules.health import service
    from toancanh.modules.health.models import HealthCapacity, HealthCase, HealthVaccination

    rnd = random.Random(seed)
    week = service.last_full_week()
    monday = service.week_start(week)
    with db.session() as s:
        prov = add_unit(s, code="99", name="Tỉnh thử", kind="tỉnh")
        rows = [
            {
                "code": f"99{i:05d}",
                "name": f"Xã {i}",
                "kind": "xã",
                "level": 2,
                "parent_id": prov.id,
                "path": f"/99/99{i:05d}/",
                "population": rnd.randint(2_000, 60_000),
                "synthetic": True,
            }
            for i in range(COMMUNES)
        ]
        s.execute(insert(Unit), rows)
        ids = [u.id for u in s.query(Unit.id).filter(Unit.level == 2).all()]
        before = monday - timedelta(days=14)
        s.execute(
            insert(HealthVaccination),
            [
                {
                    "unit_id": u,
                    "domain": "health",
                    "disease": "covid19",
                    "as_of": before,
                    "counts": {
                        "pop_18plus": 1000,
                        "dose1_18plus": rnd.randint(550, 950),
                        "pop_50plus": 300,
                        "full_50plus": rnd.randint(200, 290),
                    },
                }
                for u in ids
            ],
        )
        s.execute(
            insert(HealthCapacity),
            [
                {
                    "unit_id": u,
                    "domain": "health",
                    "disease": "covid19",
                    "as_of": before,
                    "met": rnd.random() > 0.1,
                }
                for u in ids
            ],
        )
        weights = [rnd.paretovariate(1.2) for _ in ids]
        chosen = rnd.choices(ids, weights=weights, k=cases)
        batch = []
        for n, u in enumerate(chosen):
            batch.append(
                {
                    "unit_id": u,
                    "domain": "health",
                    "disease": "covid19",
                    "code": f"B-{n}",
                    "confirmed_on": monday + timedelta(days=n % 7),
                    "detected_in": "community" if n % 4 else "quarantine",
                    "status": "home_care",
                    "sex": "unknown",
                }
            )
            if len(batch) == 20_000:
                s.execute(insert(HealthCase), batch)
                batch = []
        if batch:
            s.execute(insert(HealthCase), batch)
    return week


def _measure(url: str, cases: int) -> dict[str, Any]:
    from toancanh.modules.health import service

    upgrade(url)
    db = Database(url)
    try:
        week = _populate(db, cases)
        out: dict[str, Any] = {}
        for label in ("first", "recompute"):
            start = time.perf_counter()
            with db.session() as s:
                run = service.compute_week(s, "COVID19_QD4800", week)
            seconds = time.perf_counter() - start
            out[f"{label}_s"] = seconds
            out[f"{label}_communes_per_s"] = run.units / seconds
            out["by_level"] = run.by_level
            out["units"] = run.units
        return out
    finally:
        db.dispose()


def run() -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--pg", action="store_true")
    args, _ = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.pg:
            with temp_pg_database(PG_URL) as raw_url:
                raw = raw_pg_copy_rate(raw_url, 200_000)
            with temp_pg_database(PG_URL) as pg:
                m = _measure(pg.replace("postgresql://", "postgresql+psycopg://"), args.cases)
            engine = "PostgreSQL"
        else:
            raw = raw_sqlite_insert_rate(Path(tmp) / "raw.db", 200_000)
            m = _measure(f"sqlite:///{Path(tmp) / 'toancanh.db'}", args.cases)
            engine = "SQLite"
    print_table(
        f"Weekly epidemic levels, {engine}",
        [
            ("communes", f"{m['units']:,}"),
            ("cases in the week", f"{args.cases:,}"),
            ("levels (count per level)", ", ".join(f"{k}: {v}" for k, v in m["by_level"].items())),
            ("first computation, s", f"{m['first_s']:.2f}"),
            ("first computation, communes/s", f"{m['first_communes_per_s']:,.0f}"),
            ("recomputation, s", f"{m['recompute_s']:.2f}"),
            ("recomputation, communes/s", f"{m['recompute_communes_per_s']:,.0f}"),
            ("baseline: raw insert rows/s", f"{raw:,.0f}"),
            ("first / raw insert", f"{m['first_communes_per_s'] / raw:.4f}"),
        ],
    )
    return {
        "engine": engine,
        "communes": m["units"],
        "cases": args.cases,
        "first_s": sig(m["first_s"]),
        "first_communes_per_s": sig(m["first_communes_per_s"]),
        "recompute_s": sig(m["recompute_s"]),
        "recompute_communes_per_s": sig(m["recompute_communes_per_s"]),
        "raw_insert_rows_per_s": sig(raw),
        "ratio_first_to_raw_insert": sig(m["first_communes_per_s"] / raw),
        "by_level": m["by_level"],
    }


if __name__ == "__main__":
    from bench._common import main

    main(NAME, run)
