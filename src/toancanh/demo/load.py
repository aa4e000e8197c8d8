"""A mixed province load against a LocalCluster: citizens, gateways, devices over MQTT, dashboards and SSE
clients in threads, recording what was acknowledged and how long each kind of request took."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from toancanh.demo.cluster import LocalCluster


@dataclass
class Kind:
    """What one kind of request did: latencies of the successes, and the statuses of the rest."""

    latencies: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def summary(self, seconds: float) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def q(p: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1) if lat else None

        return {
            "ok": len(lat),
            "per_s": round(len(lat) / seconds, 1) if seconds else 0.0,
            "p50_ms": q(0.50),
            "p99_ms": q(0.99),
            "failures": dict(self.failures),
        }


class MixedLoad:
    """Citizens reporting, gateways posting readings over HTTP, devices publishing over MQTT (QoS 1),
    dashboards reading, SSE clients listening, in threads against the cluster's public endpoint.

    Records what was acknowledged: report tracking codes (201), HTTP readings (200, all accepted), MQTT
    readings (PUBACK from the broker)."""

    def __init__(
        self,
        cluster: LocalCluster,
        api_key: str,
        codes: list[str],
        *,
        lat: float,
        lon: float,
        reporters: int = 2,
        gateways: int = 2,
        dashboards: int = 2,
        sse_clients: int = 2,
        mqtt_per_s: float = 50.0,
        batch: int = 100,
    ) -> None:
        self.cluster, self.api_key, self.codes = cluster, api_key, codes
        self.lat, self.lon = lat, lon
        self.counts = {"report": reporters, "readings_http": gateways, "dashboard": dashboards}
        self.sse_clients, self.mqtt_per_s, self.batch = sse_clients, mqtt_per_s, batch
        self.kinds: dict[str, Kind] = defaultdict(Kind)
        self.reports: set[str] = set()
        self.http_readings: set[tuple[str, int]] = set()
        self.mqtt_readings: set[tuple[str, int]] = set()
        self.sse: list[SseClient] = []
        self.stop_event = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._ts = int(time.time() * 1000) - 3_600_000  # unique reading times, in the past hour
        self.started = 0.0
        self.stopped = 0.0

    def _next_ts(self, n: int) -> int:
        with self._lock:
            ts = self._ts
            self._ts += n
            return ts

    def start(self) -> MixedLoad:
        for i in range(self.sse_clients):
            c = SseClient(self.cluster, self.api_key, f"sse-{i}")
            c.start()
            self.sse.append(c)
        for c in self.sse:
            c.connected.wait(15)
        self.started = time.monotonic()
        targets = {"report": self._reporter, "readings_http": self._gateway, "dashboard": self._dashboard}
        for kind, n in self.counts.items():
            for i in range(n):
                t = threading.Thread(target=targets[kind], args=(i,), name=f"{kind}-{i}", daemon=True)
                t.start()
                self._threads.append(t)
        if self.mqtt_per_s > 0:
            t = threading.Thread(target=self._devices, name="mqtt", daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> None:
        self.stop_event.set()
        for t in self._threads:
            t.join(30)
        self.stopped = time.monotonic()

    def close_sse(self) -> None:
        for c in self.sse:
            c.stop()

    def _timed(self, kind: str, call: Any) -> Any:
        t0 = time.monotonic()
        try:
            r = call()
        except httpx.HTTPError as exc:
            self.kinds[kind].failures[type(exc).__name__] += 1
            time.sleep(0.05)
            return None
        if r.status_code >= 400:
            self.kinds[kind].failures[str(r.status_code)] += 1
            retry = r.headers.get("retry-after", "")
            time.sleep(min(1.0, float(retry)) if retry.isdigit() else 0.05)
            return None
        self.kinds[kind].latencies.append(time.monotonic() - t0)
        return r

    def _reporter(self, i: int) -> None:
        n = 0
        with self.cluster.client(timeout=20) as c:
            while not self.stop_event.is_set():
                n += 1
                form = {
                    "category": "rac-thai",
                    "description": f"Rác đổ trộm ven đường, điểm {i}-{n}",
                    "lat": str(self.lat + 0.0001 * (n % 50)),
                    "lon": str(self.lon + 0.0001 * (i % 50)),
                    "device_id": f"load-{i}-{n}",
                }
                r = self._timed("report", lambda form=form: c.post("/api/v1/reports", data=form))
                if r is not None and r.status_code == 201:
                    with self._lock:
                        self.reports.add(r.json()["tracking_code"])

    def _gateway(self, i: int) -> None:
        headers = {"X-API-Key": self.api_key}
        with self.cluster.client(timeout=20, headers=headers) as c:
            n = 0
            while not self.stop_event.is_set():
                base = self._next_ts(self.batch)
                batch = [
                    {
                        "device": self.codes[(n + j) % len(self.codes)],
                        "ts": base + j,
                        "values": {"level": 50.0 if (n + j) % 97 == 0 else 1.0},
                    }
                    for j in range(self.batch)
                ]
                n += self.batch
                r = self._timed(
                    "readings_http",
                    lambda batch=batch: c.post("/api/v1/telemetry/readings", json={"readings": batch}),
                )
                if r is not None and r.json().get("accepted") == len(batch):
                    with self._lock:
                        self.http_readings.update((b["device"], b["ts"]) for b in batch)

    def _dashboard(self, i: int) -> None:
        paths = ["/api/v1/alerts/incidents", "/api/v1/reports", "/api/v1/alerts", "/api/v1/events/recent"]
        with self.cluster.client(timeout=20, headers={"X-API-Key": self.api_key}) as c:
            n = i
            while not self.stop_event.is_set():
                path = paths[n % len(paths)]
                n += 1
                self._timed("dashboard", lambda path=path: c.get(path))

    def _devices(self) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        # paho calls on_publish from its network thread holding its own locks: never hold a lock of ours
        # across client.publish(), or the two threads wait for each other
        pending: dict[int, tuple[str, int]] = {}
        early: set[int] = set()  # PUBACKs that came before publish() returned
        plock = threading.Lock()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="load-devices", clean_session=True)

        def on_publish(_c: Any, _u: Any, mid: int, _rc: Any, _p: Any) -> None:
            with plock:
                item = pending.pop(mid, None)
                if item is None:
                    early.add(mid)
                else:
                    self.mqtt_readings.add(item)

        client.on_publish = on_publish
        client.connect("127.0.0.1", self.cluster.broker.port)
        client.loop_start()
        period = 1.0 / self.mqtt_per_s
        n = 0
        try:
            while not self.stop_event.is_set():
                code = self.codes[n % len(self.codes)]
                ts = self._next_ts(1)
                payload = json.dumps({"ts": ts, "values": {"level": 50.0 if n % 89 == 0 else 2.0}})
                info = client.publish(f"toancanh/v1/{code}/readings", payload, qos=1)
                with plock:
                    if info.mid in early:
                        early.discard(info.mid)
                        self.mqtt_readings.add((code, ts))
                    else:
                        pending[info.mid] = (code, ts)
                n += 1
                time.sleep(period)
            deadline = time.monotonic() + 10
            while pending and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            client.loop_stop()
            client.disconnect()

    def summary(self) -> dict[str, Any]:
        seconds = (self.stopped or time.monotonic()) - self.started
        return {k: v.summary(seconds) for k, v in sorted(self.kinds.items())}


class SseClient:
    """An EventSource as a browser runs it: reconnects after 0.5 s with Last-Event-ID, keeps what it got."""

    def __init__(self, cluster: LocalCluster, api_key: str, name: str) -> None:
        self.cluster, self.api_key, self.name = cluster, api_key, name
        self.ids: list[str] = []
        self.resets = 0
        self.connections = 0
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(20)

    def _run(self) -> None:
        while not self._stop.is_set():
            headers = {"X-API-Key": self.api_key}
            if self.ids:
                headers["Last-Event-ID"] = self.ids[-1]
            try:
                with (
                    self.cluster.client(timeout=httpx.Timeout(5, read=3)) as c,
                    c.stream("GET", "/api/v1/events/stream", headers=headers) as r,
                ):
                    if r.status_code != 200:
                        raise httpx.HTTPError(f"status {r.status_code}")
                    self.connections += 1
                    self.connected.set()
                    kind, eid = "message", ""
                    for line in r.iter_lines():
                        if self._stop.is_set():
                            return
                        if line.startswith("event: "):
                            kind = line[7:]
                        elif line.startswith("id: "):
                            eid = line[4:]
                        elif line.startswith("data: "):
                            if kind == "reset":
                                self.resets += 1
                            elif eid:
                                self.ids.append(eid)
                            kind, eid = "message", ""
            except (httpx.HTTPError, OSError):
                pass
            self._stop.wait(0.5)
