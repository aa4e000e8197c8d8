"""The province mixed load on real processes: one and then two API replicas behind nginx (TLS), two workers,
NATS JetStream, Mosquitto, PostgreSQL (toancanh.demo.cluster).

Load, closed loop: citizens submitting reports (multipart form), gateways posting readings in batches of 100
over HTTP, devices publishing readings over MQTT QoS 1 (50/s), dashboards reading lists, SSE clients
listening. Figures: requests/s and readings/s with one and with two replicas (their ratio is how it scales on
this machine), p50/p99 per request kind, and the recovery time after each fault (API replica SIGKILLed: back
ready; the MQTT worker SIGKILLed: leases taken over; NATS restarted: every process ready again).
Baseline in the same run: the raw COPY rate of readings-shaped rows into the same PostgreSQL.

    python -m bench cluster_load [--seconds 20]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import print_table, raw_pg_copy_rate, sig, temp_pg_database
from toancanh.core.db import Database
from toancanh.core.migrate import upgrade
from toancanh.demo.cluster import LocalCluster
from toancanh.demo.load import MixedLoad
from toancanh.demo.load_world import LAT, LON, SIZE, build_load_world

PG_URL = os.environ.get("TOANCANH_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _run_load(
    root: Path, url: str, world: Any, replicas: int, seconds: float, faults: bool
) -> dict[str, Any]:
    cluster = LocalCluster(root, url, api_replicas=replicas, workers=2, lease_ttl_s=3.0)
    with cluster:
        load = MixedLoad(cluster, world.api_key, world.codes, lat=LAT + SIZE / 2, lon=LON + SIZE / 2).start()
        time.sleep(seconds)
        load.stop()
        out: dict[str, Any] = {"kinds": load.summary(), "seconds": seconds}
        total = sum(k["ok"] for k in out["kinds"].values())
        out["requests_per_s"] = total / seconds
        out["http_readings_per_s"] = len(load.http_readings) / seconds
        out["mqtt_readings_per_s"] = len(load.mqtt_readings) / seconds
        if faults:
            load = MixedLoad(
                cluster, world.api_key, world.codes, lat=LAT + SIZE / 2, lon=LON + SIZE / 2
            ).start()
            time.sleep(2)
            gone = (cluster.ready(cluster.api_urls[0]) or {}).get("instance")
            cluster.apis[0].kill()
            out["api_sigkill_back_ready_s"] = cluster.wait_ready(cluster.api_urls[0], 60, not_instance=gone)
            everything = cluster.held(cluster.worker_urls[0]) | cluster.held(cluster.worker_urls[1])
            victim = 0 if "connector:mqtt" in cluster.held(cluster.worker_urls[0]) else 1
            survivor = cluster.worker_urls[1 - victim]
            cluster.workers[victim].hold.set()
            cluster.workers[victim].kill()
            t0 = time.monotonic()
            while cluster.held(survivor) != everything and time.monotonic() - t0 < 30:
                time.sleep(0.05)
            out["worker_sigkill_takeover_s"] = time.monotonic() - t0
            cluster.workers[victim].hold.clear()
            cluster.restart_nats(1.0)
            t0 = time.monotonic()
            for u in (*cluster.api_urls, *cluster.worker_urls):
                cluster.wait_ready(u, 60)
            out["nats_restart_ready_s"] = time.monotonic() - t0
            t0 = time.monotonic()
            rolled = cluster.rolling_restart()
            out["rolling_restart_s"] = time.monotonic() - t0 if rolled.returncode == 0 else None
            load.stop()
            out["faults_failures"] = {k: v["failures"] for k, v in load.summary().items()}
            load.close_sse()
    return out


def run() -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    args, _ = parser.parse_known_args()
    results: dict[int, dict[str, Any]] = {}
    with temp_pg_database(PG_URL) as raw_url:
        raw = raw_pg_copy_rate(raw_url, 200_000)
    for replicas in (1, 2):
        with temp_pg_database(PG_URL) as pg, tempfile.TemporaryDirectory() as tmp:
            url = pg.replace("postgresql://", "postgresql+psycopg://")
            upgrade(url)
            db = Database(url)
            world = build_load_world(db, 200)
            db.dispose()
            results[replicas] = _run_load(Path(tmp), url, world, replicas, args.seconds, faults=replicas == 2)
    one, two = results[1], results[2]
    figures: dict[str, Any] = {
        "seconds": args.seconds,
        "raw_pg_copy_rows_per_s": sig(raw),
        "one_replica_requests_per_s": sig(one["requests_per_s"]),
        "two_replicas_requests_per_s": sig(two["requests_per_s"]),
        "scaling_two_over_one": sig(two["requests_per_s"] / one["requests_per_s"], 3),
        "two_replicas_http_readings_per_s": sig(two["http_readings_per_s"]),
        "http_readings_over_raw_copy": sig(two["http_readings_per_s"] / raw, 3),
        "two_replicas_mqtt_readings_per_s": sig(two["mqtt_readings_per_s"]),
        "p99_ms_one": {k: v["p99_ms"] for k, v in one["kinds"].items()},
        "p99_ms_two": {k: v["p99_ms"] for k, v in two["kinds"].items()},
        "p50_ms_two": {k: v["p50_ms"] for k, v in two["kinds"].items()},
        "recovery_s": {
            k: (sig(two[k], 3) if two.get(k) is not None else None)
            for k in ("api_sigkill_back_ready_s", "worker_sigkill_takeover_s", "nats_restart_ready_s")
        },
        "rolling_restart_s": sig(two["rolling_restart_s"], 3) if two.get("rolling_restart_s") else None,
        "failures_during_faults": two.get("faults_failures"),
        "cpu_cores": os.cpu_count(),
    }
    rows = [
        ("raw COPY rows/s (baseline)", f"{raw:,.0f}"),
        ("requests/s, 1 replica", f"{one['requests_per_s']:,.1f}"),
        ("requests/s, 2 replicas", f"{two['requests_per_s']:,.1f}"),
        ("scaling 2/1", f"{figures['scaling_two_over_one']}"),
        ("HTTP readings/s, 2 replicas", f"{two['http_readings_per_s']:,.0f}"),
        ("HTTP readings / raw COPY", f"{figures['http_readings_over_raw_copy']}"),
    ]
    for kind, v in two["kinds"].items():
        rows.append(
            (f"{kind}: ok/s, p50, p99 ms (2 replicas)", f"{v['per_s']} / {v['p50_ms']} / {v['p99_ms']}")
        )
    for k, v in figures["recovery_s"].items():
        rows.append((k, f"{v}"))
    rows.append(("rolling restart of 2 replicas, s", f"{figures['rolling_restart_s']}"))
    print_table(f"Province mixed load on {os.cpu_count()} cores", rows)
    return figures


if __name__ == "__main__":
    from bench._common import emit_json

    emit_json("cluster_load", run())
