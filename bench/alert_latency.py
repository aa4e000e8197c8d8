"""Event -> alert visible to a live (SSE) client, under a steady load of events.

A real `toancanh serve` process on a fresh database with 1,000 devices and one rule ("smoke in a kitchen":
an event of category fire.smoke raises a severe alert). The load generator posts 5,000 events/s to
`POST /api/v1/alerts/events` (batches of 250 every 50 ms; most are traffic counts that no rule matches, one
per
batch is a smoke event on a device with no alert yet), while an SSE client listens to
`/api/v1/events/stream?subjects=toancanh.alerts.alert.raised`. Latency: from just before the POST that carried
the smoke event to the moment the SSE client reads the alert. Reported: p50, p99, max, the event rate reached.
Baseline for the ratio: the round-trip time of an empty authenticated GET in the same run (the floor any
request pays here). Goal: p99 under 250 ms at 5,000 events/s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench._common import main, print_table, served, sig
from toancanh.core.db import Database
from toancanh.core.migrate import upgrade
from toancanh.demo.load_world import build_load_world

NAME = "alert_latency"
BATCH = 250
PERIOD_S = 0.05
GOAL_P99_MS = 250.0
RULE = {
    "code": "bench-smoke",
    "name": "Báo khói",
    "when": {"type": "event", "match": {"category": "fire.smoke"}},
    "alert": {
        "category": "fire.smoke",
        "severity": "severe",
        "title_vi": "Báo khói tại {asset}",
        "cooldown_s": 0,
    },
}


def _listen(url: str, key: str, got: dict[int, float], ready: threading.Event, stop: threading.Event) -> None:
    headers = {"X-API-Key": key}
    params = {"subjects": "toancanh.alerts.alert.raised"}
    with (
        httpx.Client(base_url=url, headers=headers, timeout=None) as c,
        c.stream("GET", "/api/v1/events/stream", params=params) as r,
    ):
        for line in r.iter_lines():
            if line.startswith(": connected"):
                ready.set()
            if stop.is_set():
                return
            if line.startswith("data: "):
                data = orjson.loads(line[6:])["data"]
                if data.get("asset_id") is not None:
                    got.setdefault(int(data["asset_id"]), time.perf_counter())


def _send(url: str, key: str, codes: list[str], seconds: float, sent: dict[str, float]) -> tuple[int, float]:
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    total = 0
    started = time.perf_counter()
    batches = int(seconds / PERIOD_S)
    with httpx.Client(base_url=url, headers=headers, timeout=30) as c:
        for b in range(batches):
            due = started + b * PERIOD_S
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            trigger = codes[b % len(codes)]
            events = [
                {
                    "source": "camera",
                    "category": "traffic.count",
                    "title": "Đếm xe",
                    "asset_code": codes[(b * 7 + i) % len(codes)],
                    "payload": {"n": i},
                }
                for i in range(BATCH - 1)
            ]
            events.append(
                {
                    "source": "sensor",
                    "category": "fire.smoke",
                    "title": "Báo khói",
                    "severity": "severe",
                    "asset_code": trigger,
                }
            )
            body = orjson.dumps({"events": events})
            sent[trigger] = time.perf_counter()
            r = c.post("/api/v1/alerts/events", content=body)
            if r.status_code != 200:
                raise RuntimeError(r.text[:300])
            total += BATCH
    return total, time.perf_counter() - started


def _rtt(url: str, key: str) -> float:
    with httpx.Client(base_url=url, headers={"X-API-Key": key}) as c:
        times = []
        for _ in range(50):
            t = time.perf_counter()
            c.get("/api/v1/alerts", params={"limit": 1})
            times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def run() -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    args, _ = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as tmp:
        url_db = f"sqlite:///{Path(tmp) / 'toancanh.db'}"
        upgrade(url_db)
        db = Database(url_db)
        world = build_load_world(db, 1000)
        from toancanh.modules.alerts.service import save_rule

        with db.session() as s:
            save_rule(s, None, RULE, unit_id=world.unit_id, domain="security")
        db.dispose()
        env = {"TOANCANH_DATA_DIR": tmp, "TOANCANH_DATABASE_URL": url_db, "TOANCANH_SECRET_KEY": "bench"}
        with served(env) as url:
            got: dict[int, float] = {}
            sent: dict[str, float] = {}
            ready, stop = threading.Event(), threading.Event()
            listener = threading.Thread(
                target=_listen, args=(url, world.api_key, got, ready, stop), daemon=True
            )
            listener.start()
            if not ready.wait(10):
                raise RuntimeError("SSE stream did not connect")
            rtt = _rtt(url, world.api_key)
            n, elapsed = _send(url, world.api_key, world.codes, args.seconds, sent)
            time.sleep(1.0)
            stop.set()
    by_code = dict(zip(world.codes, world.asset_ids, strict=True))
    lat = sorted((got[by_code[c]] - t) * 1000 for c, t in sent.items() if by_code[c] in got)
    if len(lat) < 0.99 * len(sent):
        raise RuntimeError(f"only {len(lat)} of {len(sent)} alerts reached the SSE client")
    p50 = statistics.median(lat)
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
    event_rate = n / elapsed
    print_table(
        "Event -> alert on an SSE client",
        [
            ("events/s reached (goal 5,000)", f"{event_rate:,.0f}"),
            ("alerts measured", f"{len(lat)}"),
            ("p50 ms", f"{p50:.1f}"),
            (f"p99 ms (goal < {GOAL_P99_MS:.0f})", f"{p99:.1f}"),
            ("max ms", f"{lat[-1]:.1f}"),
            ("baseline: authenticated GET round trip ms", f"{rtt:.1f}"),
            ("p99 / baseline", f"{p99 / rtt:.1f}"),
        ],
    )
    return {
        "events_per_s": sig(event_rate),
        "alerts": len(lat),
        "p50_ms": sig(p50, 3),
        "p99_ms": sig(p99, 3),
        "max_ms": sig(lat[-1], 3),
        "baseline_rtt_ms": sig(rtt, 3),
        "p99_ratio_to_rtt": sig(p99 / rtt, 3),
    }


if __name__ == "__main__":
    main(NAME, run)
