"""The NGSI-LD context API under load: entity updates per second, queries per second, and geo-query latency
over 100,000 entities (Orion-LD publishes ~1,800 updates/s on 1 CPU; its users report 3 s for a geo-query
over 1,000).

A real `toancanh serve` process (its own interpreter, modules admin + ngsild) on a fresh SQLite database
(`--pg`: a fresh PostgreSQL + PostGIS database instead). `--entities N` WasteContainer entities (default
100,000) spread over a 4 x 4 km commune are created through `POST /ngsi-ld/v1/entityOperations/create` in
batches of 1,000. Then, from two client connections:
- ``patch_updates_per_s``: `PATCH /entities/{id}/attrs` of one entity's `fillingLevel` (one request, one
  update, committed);
- ``batch_updates_per_s``: entities updated per second through `POST /entityOperations/update` (100 a batch);
- ``queries_per_s``: `GET /entities?type=WasteContainer&q=fillingLevel>0.95&limit=20` (a filter over
  every entity);
- geo-query latency, p50 / p95: `georel=near;maxDistance==200` around random points, and `georel=within` a
  random 400 m square, each answering up to 100 entities.
Baselines in the same run: the raw insert rate of the same database engine (sqlite3 `executemany`; `COPY`
with `--pg`) for the update rates, and the round trip of an empty authenticated GET for the latencies.

    python -m bench ngsild_broker [--entities 100000] [--pg]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

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
from toancanh.demo.load_world import LAT, LON, SIZE, build_load_world

NAME = "ngsild_broker"
BASE = "/ngsi-ld/v1"
PG_URL = os.environ.get("TOANCANH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
JSON = {"Content-Type": "application/json"}


def _entity(n: int, rng: random.Random) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:WasteContainer:b{n}",
        "type": "WasteContainer",
        "fillingLevel": {"type": "Property", "value": round(rng.random(), 3)},
        "location": {
            "type": "GeoProperty",
            "value": {
                "type": "Point",
                "coordinates": [round(LON + rng.random() * SIZE, 6), round(LAT + rng.random() * SIZE, 6)],
            },
        },
    }


def _create(c: httpx.Client, total: int) -> float:
    rng = random.Random(1)
    started = time.perf_counter()
    for first in range(0, total, 1000):
        batch = [_entity(n, rng) for n in range(first, min(total, first + 1000))]
        r = c.post(BASE + "/entityOperations/create", content=json.dumps(batch), headers=JSON)
        if r.status_code not in (200, 201):
            raise RuntimeError(f"batch create answered {r.status_code}: {r.text[:300]}")
    return time.perf_counter() - started


def _parallel(url: str, key: str, jobs: list[Callable[[httpx.Client], None]], connections: int = 2) -> float:
    """Run the jobs over `connections` clients; the seconds from the first to the last answer."""
    queue = list(jobs)
    lock = threading.Lock()
    errors: list[str] = []

    def worker() -> None:
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as c:
            while True:
                with lock:
                    if not queue:
                        return
                    job = queue.pop()
                try:
                    job(c)
                except Exception as exc:  # a failed request fails the bench, after the others finish
                    errors.append(str(exc)[:300])

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[0]}")
    return time.perf_counter() - started


def _check(r: httpx.Response, *ok: int) -> httpx.Response:
    if r.status_code not in ok:
        raise RuntimeError(
            f"{r.request.method} {r.request.url.path} answered {r.status_code}: {r.text[:200]}"
        )
    return r


def _patch(n: int, value: float) -> Callable[[httpx.Client], None]:
    def job(c: httpx.Client) -> None:
        body = json.dumps({"fillingLevel": {"type": "Property", "value": value}})
        _check(
            c.patch(f"{BASE}/entities/urn:ngsi-ld:WasteContainer:b{n}/attrs", content=body, headers=JSON), 204
        )

    return job


def _batch_update(ids: list[int], value: float) -> Callable[[httpx.Client], None]:
    def job(c: httpx.Client) -> None:
        body = [
            {
                "id": f"urn:ngsi-ld:WasteContainer:b{n}",
                "type": "WasteContainer",
                "fillingLevel": {"type": "Property", "value": value},
            }
            for n in ids
        ]
        _check(c.post(BASE + "/entityOperations/update", content=json.dumps(body), headers=JSON), 204, 207)

    return job


def _latencies(url: str, key: str, params: list[dict[str, Any]]) -> list[float]:
    out = []
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=60) as c:
        for p in params:
            t = time.perf_counter()
            _check(c.get(BASE + "/entities", params=p), 200)
            out.append((time.perf_counter() - t) * 1000)
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _measure(database_url: str, data_dir: Path, entities: int) -> dict[str, Any]:
    upgrade(database_url)
    db = Database(database_url)
    world = build_load_world(db, 10)
    db.dispose()
    env = {
        "TOANCANH_DATA_DIR": str(data_dir),
        "TOANCANH_DATABASE_URL": database_url,
        "TOANCANH_SECRET_KEY": "bench",
        "TOANCANH_MODULES": '["admin","ngsild"]',
        "TOANCANH_CAMERA_MONITOR": "false",
    }
    rng = random.Random(7)
    with (
        served(env) as url,
        httpx.Client(base_url=url, headers={"X-API-Key": world.api_key}, timeout=300) as c,
    ):
        create_s = _create(c, entities)
        rtt = statistics.median(_latencies(url, world.api_key, [{"type": "Nothing", "limit": 1}] * 50))
        patches = [_patch(rng.randrange(entities), round(rng.random(), 3)) for _ in range(2000)]
        patch_s = _parallel(url, world.api_key, patches)
        batches = [
            _batch_update([rng.randrange(entities) for _ in range(100)], round(rng.random(), 3))
            for _ in range(100)
        ]
        batch_s = _parallel(url, world.api_key, batches)
        q = {"type": "WasteContainer", "q": "fillingLevel>0.95", "limit": 20}
        queries = [lambda cl: _check(cl.get(BASE + "/entities", params=q), 200) and None for _ in range(100)]
        query_s = _parallel(url, world.api_key, queries)  # type: ignore[arg-type]

        def near() -> dict[str, Any]:
            lon, lat = LON + rng.random() * SIZE, LAT + rng.random() * SIZE
            return {
                "type": "WasteContainer",
                "georel": "near;maxDistance==200",
                "geometry": "Point",
                "coordinates": json.dumps([round(lon, 6), round(lat, 6)]),
                "limit": 100,
            }

        def within() -> dict[str, Any]:
            lon, lat, d = LON + rng.random() * (SIZE - 0.004), LAT + rng.random() * (SIZE - 0.004), 0.004
            ring = [[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]
            return {
                "type": "WasteContainer",
                "georel": "within",
                "geometry": "Polygon",
                "coordinates": json.dumps([ring]),
                "limit": 100,
            }

        near_ms = _latencies(url, world.api_key, [near() for _ in range(200)])
        within_ms = _latencies(url, world.api_key, [within() for _ in range(200)])
    return {
        "entities": entities,
        "create_entities_per_s": rate(entities, create_s),
        "patch_updates_per_s": rate(len(patches), patch_s),
        "batch_updates_per_s": rate(100 * len(batches), batch_s),
        "queries_per_s": rate(len(queries), query_s),
        "near_p50_ms": statistics.median(near_ms),
        "near_p95_ms": _pct(near_ms, 0.95),
        "within_p50_ms": statistics.median(within_ms),
        "within_p95_ms": _pct(within_ms, 0.95),
        "rtt_ms": rtt,
    }


def run() -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entities", type=int, default=100_000)
    parser.add_argument("--pg", action="store_true")
    args, _ = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.pg:
            with temp_pg_database(PG_URL) as raw_url:
                raw = raw_pg_copy_rate(raw_url, 200_000)
            with temp_pg_database(PG_URL) as pg:
                m = _measure(pg.replace("postgresql://", "postgresql+psycopg://"), Path(tmp), args.entities)
            engine = "PostgreSQL"
        else:
            raw = raw_sqlite_insert_rate(Path(tmp) / "raw.db", 200_000)
            m = _measure(f"sqlite:///{Path(tmp) / 'toancanh.db'}", Path(tmp), args.entities)
            engine = "SQLite"
    rtt = m["rtt_ms"]
    rows = [
        (f"{engine}: entities", f"{m['entities']:,}"),
        ("created through batch create, entities/s", f"{m['create_entities_per_s']:,.0f}"),
        (
            "PATCH updates/s (one entity a request; Orion-LD ~1,800 on 1 CPU)",
            f"{m['patch_updates_per_s']:,.0f}",
        ),
        ("batch updates, entities/s", f"{m['batch_updates_per_s']:,.0f}"),
        ("q queries/s (fillingLevel>0.95 over every entity)", f"{m['queries_per_s']:,.1f}"),
        ("near 200 m: p50 / p95 ms", f"{m['near_p50_ms']:.1f} / {m['near_p95_ms']:.1f}"),
        ("within a 400 m square: p50 / p95 ms", f"{m['within_p50_ms']:.1f} / {m['within_p95_ms']:.1f}"),
        ("baseline: raw insert rows/s", f"{raw:,.0f}"),
        ("baseline: empty authenticated GET ms", f"{rtt:.1f}"),
        ("batch updates / raw insert", f"{m['batch_updates_per_s'] / raw:.4f}"),
        ("near p95 / empty GET", f"{m['near_p95_ms'] / rtt:.1f}"),
    ]
    print_table(f"NGSI-LD context API on {os.cpu_count()} cores", rows)
    return {
        "engine": engine,
        "entities": m["entities"],
        "create_entities_per_s": sig(m["create_entities_per_s"]),
        "patch_updates_per_s": sig(m["patch_updates_per_s"]),
        "batch_updates_per_s": sig(m["batch_updates_per_s"]),
        "queries_per_s": sig(m["queries_per_s"]),
        "near_p50_ms": sig(m["near_p50_ms"], 3),
        "near_p95_ms": sig(m["near_p95_ms"], 3),
        "within_p50_ms": sig(m["within_p50_ms"], 3),
        "within_p95_ms": sig(m["within_p95_ms"], 3),
        "baseline_raw_insert_per_s": sig(raw),
        "baseline_rtt_ms": sig(rtt, 3),
        "batch_updates_over_raw": sig(m["batch_updates_per_s"] / raw, 3),
        "near_p95_over_rtt": sig(m["near_p95_ms"] / rtt, 3),
        "cpu_cores": os.cpu_count(),
    }


if __name__ == "__main__":
    main(NAME, run)
