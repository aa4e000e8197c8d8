"""The province proof: PostgreSQL, NATS JetStream, Mosquitto, two API replicas behind nginx (TLS, the shipped
config) and two workers as real processes under a mixed load; an API replica and a worker SIGKILLed, NATS
restarted, a rolling restart, a 10x burst. Nothing acknowledged is lost, no event is lost or duplicated after
the outbox relay, the dead worker's leases move within the lease period, SSE clients catch up."""

from __future__ import annotations

import asyncio
import collections
import os
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from toancanh.core.api.events import visible
from toancanh.core.auth.models import User
from toancanh.core.auth.service import principal_for
from toancanh.core.outbox import OutboxEvent
from toancanh.core.timeseries import Sample, Series
from toancanh.demo.cluster import LocalCluster
from toancanh.demo.load import MixedLoad
from toancanh.demo.load_world import LAT, LON, SIZE, build_load_world
from toancanh.modules.alerts.models import Alert
from toancanh.modules.reports.models import FieldReport

pytestmark = pytest.mark.skipif(
    not os.environ.get("TOANCANH_TEST_DATABASE_URL", "").startswith("postgresql"),
    reason="the province proof runs in the PostgreSQL + NATS suite (scripts/test)",
)
TTL = 3.0


def _wait(cond: Any, timeout: float, what: str) -> float:
    start = time.monotonic()
    while not cond():
        assert time.monotonic() - start < timeout, f"timed out after {timeout} s: {what}"
        time.sleep(0.1)
    return time.monotonic() - start


def _stored_readings(db: Any) -> set[tuple[str, int]]:
    with db.session() as s:
        rows = s.execute(select(Series.key, Sample.ts).join(Sample, Sample.series_id == Series.id)).all()
    return {(k.split(".")[0], int(ts)) for k, ts in rows}


def _stream_ids(nats_url: str) -> list[str]:
    """The Nats-Msg-Id of every message in the IOC's stream, read back with an ephemeral pull consumer."""
    import nats

    async def read() -> list[str]:
        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            info = await js.stream_info("TOANCANH")
            total = info.state.messages
            sub = await js.pull_subscribe("toancanh.>", stream="TOANCANH")
            ids: list[str] = []
            while len(ids) < total:
                for m in await sub.fetch(500, timeout=5):
                    ids.append((m.headers or {}).get("Nats-Msg-Id", ""))
            return ids
        finally:
            await nc.close()

    return asyncio.run(read())


def _burst(
    cluster: LocalCluster, api_key: str, codes: list[str], load: MixedLoad, threads: int
) -> dict[str, int]:
    """`threads` gateways at once for 3 s: many more requests in flight than a replica admits."""
    statuses: collections.Counter[str] = collections.Counter()
    retry_after_missing = 0
    stop = threading.Event()
    lock = threading.Lock()

    def gateway(i: int) -> None:
        nonlocal retry_after_missing
        with cluster.client(timeout=30, headers={"X-API-Key": api_key}) as c:
            while not stop.is_set():
                base = load._next_ts(50)
                batch = [
                    {"device": codes[(i + j) % len(codes)], "ts": base + j, "values": {"level": 1.0}}
                    for j in range(50)
                ]
                try:
                    r = c.post("/api/v1/telemetry/readings", json={"readings": batch})
                except httpx.HTTPError as exc:
                    with lock:
                        statuses[type(exc).__name__] += 1
                    continue
                with lock:
                    statuses[str(r.status_code)] += 1
                    if r.status_code in (429, 503) and not r.headers.get("retry-after"):
                        retry_after_missing += 1
                    if r.status_code == 200 and r.json()["accepted"] == len(batch):
                        with load._lock:
                            load.http_readings.update((b["device"], b["ts"]) for b in batch)

    workers = [threading.Thread(target=gateway, args=(i,), daemon=True) for i in range(threads)]
    for t in workers:
        t.start()
    time.sleep(3)
    stop.set()
    for t in workers:
        t.join(30)
    statuses["retry_after_missing"] = retry_after_missing
    return dict(statuses)


def test_the_province_cluster_loses_nothing_through_kills_a_nats_restart_and_a_rolling_restart(
    tmp_path: Path, database_url: str, db: Any
) -> None:
    from toancanh.modules.alerts.service import save_rule

    world = build_load_world(db, 60)
    with db.session() as s:
        save_rule(
            s,
            None,
            {
                "code": "muc-cao",
                "name": "Mực nước cao",
                "when": {"type": "threshold", "measure": "level", "op": ">", "value": 10},
                "alert": {
                    "category": "flood.level",
                    "severity": "severe",
                    "title_vi": "Mực nước cao tại {asset}",
                },
            },
            unit_id=world.unit_id,
            domain="environment",
        )
    # a replica admits 24 requests at once: the burst below is more than 10x what it is given otherwise
    cluster = LocalCluster(
        tmp_path / "cluster", database_url, lease_ttl_s=TTL, env={"TOANCANH_MAX_INFLIGHT_REQUESTS": "24"}
    )
    with cluster:
        with cluster.client(timeout=10) as c:  # TLS through nginx, HTTP -> HTTPS redirect
            assert c.get("/healthz").status_code == 200
        r = httpx.get(f"http://127.0.0.1:{cluster.http_port}/healthz", timeout=5)
        assert r.status_code == 301 and r.headers["location"].startswith("https://")
        load = MixedLoad(cluster, world.api_key, world.codes, lat=LAT + SIZE / 2, lon=LON + SIZE / 2).start()
        with db.session() as s:  # the SSE clients are connected: they must get everything after this
            first_event = s.scalar(select(func.coalesce(func.max(OutboxEvent.id), 0)))
        _wait(
            lambda: (
                len(load.reports) >= 5 and len(load.http_readings) >= 500 and len(load.mqtt_readings) >= 50
            ),
            60,
            "the load got going",
        )
        figures: dict[str, float] = {}

        # 1. an API replica SIGKILLed: nginx sends its traffic to the other; systemd (here: the supervisor)
        #    brings it back
        gone = (cluster.ready(cluster.api_urls[0]) or {})["instance"]
        cluster.apis[0].kill()
        figures["api_back_s"] = cluster.wait_ready(cluster.api_urls[0], 60, not_instance=gone)

        # 2. the worker holding the MQTT connector SIGKILLed: the other takes over its leases within the lease
        #    period (kept down meanwhile, as RestartSec=5 does)
        everything = cluster.held(cluster.worker_urls[0]) | cluster.held(cluster.worker_urls[1])
        assert "connector:mqtt" in everything and "job:retention-purge" in everything
        victim = 0 if "connector:mqtt" in cluster.held(cluster.worker_urls[0]) else 1
        survivor = cluster.worker_urls[1 - victim]
        cluster.workers[victim].hold.set()
        cluster.workers[victim].kill()
        figures["takeover_s"] = _wait(lambda: cluster.held(survivor) == everything, TTL * 3, "lease takeover")
        assert figures["takeover_s"] <= TTL + TTL / 3 + 1.5  # the lease period, one renewal round, slack
        cluster.workers[victim].hold.clear()

        # 3. NATS restarted (down 2 s): writes go on into the outbox, relays publish them when it is back
        cluster.restart_nats(2.0)
        t0 = time.monotonic()
        for url in (*cluster.api_urls, *cluster.worker_urls):
            cluster.wait_ready(url, 60)
        figures["nats_back_s"] = time.monotonic() - t0

        # 4. a health-checked rolling restart of both replicas, under the same load
        rolled = cluster.rolling_restart()
        assert rolled.returncode == 0, rolled.stdout + rolled.stderr
        assert rolled.stdout.count("ready again") == 2

        # 5. 10x overload: refused with Retry-After, never crashed
        burst = _burst(cluster, world.api_key, world.codes, load, threads=60)
        assert burst.get("503", 0) + burst.get("429", 0) > 0, burst
        assert burst["retry_after_missing"] == 0, burst
        assert set(burst) <= {"200", "429", "503", "retry_after_missing"}, burst
        t0 = time.monotonic()
        with cluster.client(timeout=10, headers={"X-API-Key": world.api_key}) as c:
            _wait(lambda: c.get("/api/v1/alerts").status_code == 200, 30, "recovery after the burst")
        figures["burst_recovery_s"] = time.monotonic() - t0
        time.sleep(2)
        load.stop()
        assert cluster.apis[0].starts >= 3 and cluster.workers[victim].starts == 2

        # --- nothing acknowledged is lost
        with db.session() as s:
            codes = set(s.scalars(select(FieldReport.tracking_code)))
        assert load.reports and load.reports <= codes, (
            f"{len(load.reports - codes)} acknowledged reports lost"
        )
        _wait(lambda: load.mqtt_readings <= _stored_readings(db), 60, "MQTT readings stored")
        have = _stored_readings(db)
        lost = load.http_readings - have
        assert not lost, f"{len(lost)} of {len(load.http_readings)} acknowledged HTTP readings lost"
        assert len(load.mqtt_readings) >= 50
        with db.session() as s:
            assert s.scalar(select(func.count()).select_from(Alert)) > 0  # the rules ran on the stream

        # --- every event published once: the outbox drained, the stream holds each outbox event exactly once
        def drained() -> bool:
            with db.session() as s:
                return not s.scalar(
                    select(func.count()).select_from(OutboxEvent).where(OutboxEvent.published_at.is_(None))
                )

        _wait(drained, 60, "the outbox drained")
        with db.session() as s:
            uids = set(s.scalars(select(OutboxEvent.uid)))
        in_stream = collections.Counter(_stream_ids(cluster.nats_url))
        assert uids <= set(in_stream), f"{len(uids - set(in_stream))} events never reached the stream"
        twice = {u: n for u, n in in_stream.items() if n > 1}
        assert not twice, f"{len(twice)} events twice in the stream"

        # --- SSE clients reconnected and caught up: every event they may see since they connected
        with db.session() as s:
            user = s.scalars(select(User).where(User.username == "gateway")).one()
            principal = principal_for(s, user, via="api_key")
            rows = s.scalars(select(OutboxEvent).where(OutboxEvent.id > first_event)).all()
            expected = {r.uid for r in rows if visible(principal, r.to_event())}
        assert len(expected) > 20  # reports, alerts, incidents, devices online...
        for sse in load.sse:
            _wait(lambda sse=sse: expected <= set(sse.ids), 30, f"{sse.name} caught up")
            assert sse.connections >= 2 and sse.resets == 0
        load.close_sse()
    summary = load.summary()
    assert summary["report"]["ok"] > 0 and summary["dashboard"]["ok"] > 0
    print("\ncluster proof:", figures, burst, summary)
