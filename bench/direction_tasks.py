"""Directed tasks at national scale: the tracking list (overdue first) and the agency ranking at 100,000 tasks
across 3,321 communes.

On SQLite (a temporary file) the bench builds 34 synthetic provinces holding 3,321 synthetic communes (the
official count since 1 July 2025; the `vietnam-provinces` codes are not needed to measure a query), three
agencies per commune, one leader per province, and bulk loads ``--tasks`` (default 100,000) tasks through the
product's own table (SQLAlchemy Core ``executemany``: the fixture, not the measure) with states, deadlines
and SLA flags spread like a year of work. Then, in interleaved rounds, each call in its own session like a
request:

- ``list_commune``: ``service.list_tasks`` as a commune leader, overdue first, 100 rows, plus the rows' names
  (what the API returns).
- ``list_province``: the same as a province leader (about 3,000 tasks in scope).
- ``list_agency``: as agency staff (their agency's tasks, lead or co-operating).
- ``ranking_province``: ``service.agency_ranking`` as a province leader (about 300 agencies).
- ``stats_province``: ``service.stats`` as a province leader.

Baseline: the raw insert rate of ``bench._common.raw_sqlite_insert_rate`` on the same machine in the same
run. Each figure is the query's latency times that rate: how many raw row inserts one query is worth (so a
figure of 500 means the query takes as long as inserting 500 rows). p50 and p95 are reported.

``python -m bench.direction_tasks --tasks 5000`` runs a quick check.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench._common import main, print_table, raw_sqlite_insert_rate, sig
from toancanh.core.auth import permissions
from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal, ScopedGrant
from toancanh.core.db import Database
from toancanh.core.migrate import upgrade
from toancanh.core.units import Agency, Unit
from toancanh.modules.direction import module as direction_module
from toancanh.modules.direction import service, views
from toancanh.modules.direction.models import DirectionTask, DirectionTaskAgency, Directive

NAME = "direction_tasks"
N = int(os.environ.get("TOANCANH_BENCH_DIRECTION_TASKS", "100000"))
PROVINCES, COMMUNES = 34, 3321
AGENCIES_PER_COMMUNE = 3
TASKS_PER_DIRECTIVE = 3
ROUNDS = 5
CALLS_PER_ROUND = 20
RAW_ROWS = 50_000
STATES = ("assigned", "in_progress", "submitted", "returned", "done")
STATE_WEIGHTS = (0.12, 0.25, 0.06, 0.02, 0.55)
DOMAINS = ("administration", "security", "environment", "urban", "economy", "health", "education")


def build(db: Database, tasks: int, seed: int = 8) -> dict[str, Any]:
    """Units, agencies, leaders, directives and `tasks` tasks; returns ids the measures need."""
    rnd = random.Random(seed)
    now = datetime.now(UTC)
    with db.session() as s:
        s.execute(
            insert(Unit),
            [
                {
                    "id": p + 1,
                    "code": f"{p + 1:02d}",
                    "name": f"Tỉnh {p + 1}",
                    "kind": "tỉnh",
                    "level": 1,
                    "path": f"/{p + 1:02d}/",
                    "synthetic": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for p in range(PROVINCES)
            ],
        )
        communes: list[dict[str, Any]] = []
        for c in range(COMMUNES):
            p = c % PROVINCES + 1
            code = f"{c + 1:05d}"
            communes.append(
                {
                    "id": PROVINCES + c + 1,
                    "code": code,
                    "name": f"Xã {code}",
                    "kind": "xã",
                    "level": 2,
                    "parent_id": p,
                    "path": f"/{p:02d}/{code}/",
                    "synthetic": True,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        s.execute(insert(Unit), communes)
        agencies = [
            {
                "id": i * AGENCIES_PER_COMMUNE + k + 1,
                "unit_id": u["id"],
                "code": f"ag-{u['code']}-{k}",
                "name": f"Cơ quan {k} xã {u['code']}",
                "name_en": "",
                "kind": "department",
                "domains": [],
                "phone": "",
                "email": "",
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for i, u in enumerate(communes)
            for k in range(AGENCIES_PER_COMMUNE)
        ]
        s.execute(insert(Agency), agencies)
        s.execute(
            insert(User),
            [
                {
                    "id": p + 1,
                    "username": f"lanhdao-{p + 1:02d}",
                    "full_name": "",
                    "email": "",
                    "phone": "",
                    "password_hash": "",
                    "locale": "vi",
                    "active": True,
                    "is_service": False,
                    "created_at": now,
                    "updated_at": now,
                }
                for p in range(PROVINCES)
            ],
        )
        n_directives = (tasks + TASKS_PER_DIRECTIVE - 1) // TASKS_PER_DIRECTIVE
        directive_units = [rnd.choice(communes) for _ in range(n_directives)]
        s.execute(
            insert(Directive),
            [
                {
                    "id": i + 1,
                    "unit_id": u["id"],
                    "number": f"{i + 1}/TB-UBND",
                    "kind": "conclusion",
                    "title": "Kết luận giao ban",
                    "summary": "",
                    "issued_by_id": u["parent_id"],
                    "issued_on": now.date(),
                    "attachments": [],
                    "created_at": now,
                    "updated_at": now,
                }
                for i, u in enumerate(directive_units)
            ],
        )
        rows: list[dict[str, Any]] = []
        coop: list[dict[str, int]] = []
        for i in range(tasks):
            d = i // TASKS_PER_DIRECTIVE
            unit = directive_units[d]
            lead = (
                (unit["id"] - PROVINCES - 1) * AGENCIES_PER_COMMUNE + rnd.randrange(AGENCIES_PER_COMMUNE) + 1
            )
            opened = now - timedelta(days=rnd.uniform(0, 365))
            deadline = opened + timedelta(days=rnd.uniform(3, 40))
            state = rnd.choices(STATES, STATE_WEIGHTS)[0]
            holding = state in ("assigned", "in_progress", "returned")
            sla = "ok"
            if holding and deadline < now:
                sla = "overdue"
            elif holding and deadline < now + timedelta(days=2):
                sla = "warning"
            done = state == "done"
            submitted = (
                deadline + timedelta(days=rnd.uniform(-10, 4)) if state in ("submitted", "done") else None
            )
            rows.append(
                {
                    "id": i + 1,
                    "directive_id": d + 1,
                    "unit_id": unit["id"],
                    "title": "Nhiệm vụ được giao",
                    "expected_output": "",
                    "domain": rnd.choice(DOMAINS),
                    "priority": "normal",
                    "issued_by_id": unit["parent_id"],
                    "deadline_at": deadline,
                    "deadline_days": None,
                    "source_kind": rnd.choice(
                        ("meeting_conclusion", "incident", "indicator", "field_report", "other")
                    ),
                    "source_id": None,
                    "source_ref": "",
                    "progress": 100 if done else rnd.randrange(0, 100),
                    "progress_note": "",
                    "completion_text": "",
                    "evidence": [],
                    "submitted_at": submitted,
                    "on_time": (submitted <= deadline) if done and submitted else None,
                    "state": state,
                    "opened_at": opened,
                    "state_since": opened,
                    "due_at": deadline if holding else None,
                    "sla_status": sla,
                    "escalation_level": 1 if sla == "overdue" else 0,
                    "closed_at": submitted if done else None,
                    "assignee_agency_id": lead,
                    "created_at": opened,
                    "updated_at": opened,
                }
            )
            if rnd.random() < 0.3:
                other = lead + 1 if lead % AGENCIES_PER_COMMUNE else lead - 1
                coop.append({"task_id": i + 1, "agency_id": other})
        for start in range(0, len(rows), 20_000):
            s.execute(insert(DirectionTask), rows[start : start + 20_000])
        if coop:
            s.execute(insert(DirectionTaskAgency), coop)
    commune = communes[0]
    first_agency = (commune["id"] - PROVINCES - 1) * AGENCIES_PER_COMMUNE + 1
    return {"commune": commune, "province": f"/{commune['parent_id']:02d}/", "agency": first_agency}


def _principal(role: str, path: str, agency_id: int | None = None) -> Principal:
    return Principal(
        user_id=1, username="bench", grants=(ScopedGrant(role, path, None),), agency_id=agency_id
    )


def _measure(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run(tasks: int | None = None) -> dict[str, Any]:
    tasks = tasks or N
    permissions.register(direction_module.permissions)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        upgrade(url)
        db = Database(url)
        started = time.perf_counter()
        ids = build(db, tasks)
        load_s = time.perf_counter() - started
        commune_leader = _principal("leader", ids["commune"]["path"])
        province_leader = _principal("leader", ids["province"])
        agency_staff = _principal("agency_staff", ids["commune"]["path"], ids["agency"])

        def listing(p: Principal) -> Callable[[], Any]:
            def call() -> Any:
                with db.read_session() as s:
                    return views.task_rows(s, service.list_tasks(s, p, limit=100))

            return call

        def ranking() -> Any:
            with db.read_session() as s:
                return service.agency_ranking(s, province_leader)

        def stats() -> Any:
            with db.read_session() as s:
                return service.stats(s, province_leader)

        measures: dict[str, Callable[[], Any]] = {
            "list_commune": listing(commune_leader),
            "list_province": listing(province_leader),
            "list_agency": listing(agency_staff),
            "ranking_province": ranking,
            "stats_province": stats,
        }
        with db.read_session() as s:
            in_scope = len(service.list_tasks(s, province_leader, limit=100_000))
            agencies_ranked = len(service.agency_ranking(s, province_leader))
        latencies: dict[str, list[float]] = {k: [] for k in measures}
        raw_rates: list[float] = []
        for fn in measures.values():
            fn()  # warm-up
        for _ in range(ROUNDS):
            raw_rates.append(raw_sqlite_insert_rate(Path(tmp) / f"raw-{len(raw_rates)}.db", RAW_ROWS))
            for name, fn in measures.items():
                latencies[name] += [_measure(fn) for _ in range(CALLS_PER_ROUND)]
        db.dispose()
    insert_rate = max(raw_rates)
    figures: dict[str, Any] = {
        "tasks": tasks,
        "communes": COMMUNES,
        "load_s": sig(load_s),
        "raw_insert_rows_per_s": sig(insert_rate),
        "province_tasks_in_scope": in_scope,
        "province_agencies_ranked": agencies_ranked,
    }
    rows = [("tasks", f"{tasks:,}"), ("raw insert rows/s (baseline)", f"{insert_rate:,.0f}")]
    for name, values in latencies.items():
        values.sort()
        p50 = statistics.median(values)
        p95 = values[min(len(values) - 1, int(0.95 * len(values)))]
        figures[f"{name}_p50_ms"] = sig(p50 * 1000)
        figures[f"{name}_p95_ms"] = sig(p95 * 1000)
        figures[f"{name}_p95_ratio"] = sig(p95 * insert_rate)
        rows.append((f"{name} p50 / p95 ms", f"{p50 * 1000:.2f} / {p95 * 1000:.2f}"))
        rows.append((f"{name} p95, raw inserts' worth", f"{p95 * insert_rate:,.0f}"))
    print_table(f"Directed tasks: {tasks:,} tasks, {COMMUNES:,} communes (SQLite)", rows)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else NAME)
    parser.add_argument("--tasks", type=int, default=N, help="tasks to load (default %(default)s)")
    args = parser.parse_args()
    main(NAME, lambda: run(args.tasks))
