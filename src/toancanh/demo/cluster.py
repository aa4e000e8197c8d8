"""A province deployment on one machine, as real processes: a private NATS JetStream server and Mosquitto, API
replicas (`toancanh serve`, role api) behind nginx with TLS (the shipped deploy/nginx/toancanh.conf), and
workers (`toancanh worker`), all on one PostgreSQL database. Every process is supervised the way the shipped
systemd units do it (restarted after RestartSec when it dies). Used by the proof in tests/deploy and by
bench/cluster_load.py; `MixedLoad` drives citizens, devices, dashboards and SSE clients against it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from toancanh.connectors.mqtt.broker import PrivateBroker

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
CLI = [sys.executable, "-c", "from toancanh.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on port {port} after {timeout_s} s") from None
            time.sleep(0.05)


class Service:
    """A process restarted `restart_s` after it exits (systemd's Restart=always, RestartSec=) until stopped.

    `restart_s=None`: not restarted. The pid file lets a shell command (the rolling restart) signal it."""

    def __init__(
        self, name: str, cmd: list[str], *, env: dict[str, str], log: Path, restart_s: float | None
    ) -> None:
        self.name, self.cmd, self.env, self.log, self.restart_s = name, cmd, env, log, restart_s
        self.pidfile = log.with_suffix(".pid")
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.hold = threading.Event()  # while set, a dead process is not restarted
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        self._stopping.clear()
        self._spawn()
        self._thread = threading.Thread(target=self._supervise, name=f"supervise-{self.name}", daemon=True)
        self._thread.start()

    def _spawn(self) -> None:
        with self._lock:
            out = self.log.open("ab")
            self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
            out.close()
            self.pidfile.write_text(str(self.proc.pid))
            self.starts += 1

    def _supervise(self) -> None:
        while not self._stopping.is_set():
            proc = self.proc
            if proc is None:
                return
            proc.wait()
            if self._stopping.is_set() or self.restart_s is None:
                return
            if self._stopping.wait(self.restart_s):
                return
            while self.hold.is_set() and not self._stopping.is_set():
                time.sleep(0.05)
            if not self._stopping.is_set():
                self._spawn()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(30)

    def stop(self, timeout_s: float = 20) -> None:
        self._stopping.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self._thread is not None:
            self._thread.join(timeout_s)


def render_nginx(
    conf: str, *, upstreams: list[int], http_port: int, https_port: int, cert: Path, key: Path
) -> str:
    """The shipped site config with this machine's ports and certificate (and nothing else changed)."""
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=3s;\n" for p in upstreams)
    conf, n = re.subn(r"(?m)^    server 127\.0\.0\.1:\d+ [^\n]*\n", "", conf)
    if n == 0:
        raise ValueError("no upstream server lines in the nginx config")
    conf = conf.replace("    least_conn;\n", "    least_conn;\n" + servers, 1)
    conf = re.sub(r"(?m)^    listen 80;", f"    listen 127.0.0.1:{http_port};", conf)
    conf = re.sub(r"(?m)^    listen 443 ssl", f"    listen 127.0.0.1:{https_port} ssl", conf)
    conf = re.sub(r"(?m)^    ssl_certificate [^;]+;", f"    ssl_certificate {cert};", conf)
    conf = re.sub(r"(?m)^    ssl_certificate_key [^;]+;", f"    ssl_certificate_key {key};", conf)
    return conf


def nginx_main_conf(root: Path, site: Path) -> str:
    temp = root / "nginx-temp"
    temp.mkdir(parents=True, exist_ok=True)
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the test's private folders
    paths = "".join(
        f"    {kind}_temp_path {temp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"{user}worker_processes 1;\npid {root / 'nginx.pid'};\nerror_log {root / 'nginx-error.log'} warn;\n"
        "events { worker_connections 4096; }\n"
        f"http {{\n    access_log off;\n{paths}    include {site};\n}}\n"
    )


def self_signed(root: Path) -> tuple[Path, Path]:
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(  # noqa: S603
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


class LocalCluster:
    """NATS + Mosquitto + `api_replicas` API processes behind nginx + `workers` workers, on `database_url`."""

    def __init__(
        self,
        root: Path,
        database_url: str,
        *,
        api_replicas: int = 2,
        workers: int = 2,
        lease_ttl_s: float = 3.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.database_url = database_url
        self.lease_ttl_s = lease_ttl_s
        root.mkdir(parents=True, exist_ok=True)
        self.nats_port = free_port()
        self.nats_url = f"nats://127.0.0.1:{self.nats_port}"
        self.broker = PrivateBroker(root / "mosquitto")
        self.api_ports = [free_port() for _ in range(api_replicas)]
        self.worker_ports = [free_port() for _ in range(workers)]
        self.http_port, self.https_port = free_port(), free_port()
        self.cert, self.key = self_signed(root)
        self.url = f"https://127.0.0.1:{self.https_port}"
        base_env = {
            **os.environ,
            "TOANCANH_DATA_DIR": str(root / "data"),
            "TOANCANH_DATABASE_URL": database_url,
            "TOANCANH_BUS_URL": self.nats_url,
            "TOANCANH_SECRET_KEY": "cluster-proof",
            "TOANCANH_LOG_LEVEL": "WARNING",
            "TOANCANH_LOG_JSON": "false",
            "TOANCANH_LEASE_TTL_S": str(lease_ttl_s),
            "TOANCANH_SHUTDOWN_GRACE_S": "2",
            "TOANCANH_RELAY_INTERVAL_S": "0.1",
            "TOANCANH_CAMERA_MONITOR": "false",
            "TOANCANH_MQTT_URL": f"mqtt://127.0.0.1:{self.broker.port}",
            **(env or {}),
        }
        self.nats = Service(
            "nats",
            ["nats-server", "-a", "127.0.0.1", "-p", str(self.nats_port), "-js", "-sd", str(root / "js")],
            env=dict(os.environ),
            log=root / "nats.log",
            restart_s=None,
        )
        self.apis = [
            Service(
                f"api-{p}",
                [*CLI, "serve", "--port", str(p)],
                env={**base_env, "TOANCANH_ROLE": "api"},
                log=root / f"api-{p}.log",
                restart_s=1.0,  # as toancanh-api@.service
            )
            for p in self.api_ports
        ]
        self.workers = [
            Service(
                f"worker-{i}",
                [*CLI, "worker", "--port", str(p)],
                env={**base_env, "TOANCANH_CONNECTORS": '["mqtt"]'},
                log=root / f"worker-{i}.log",
                restart_s=5.0,  # as toancanh-worker@.service
            )
            for i, p in enumerate(self.worker_ports, 1)
        ]
        site = root / "toancanh.conf"
        site.write_text(
            render_nginx(
                (DEPLOY / "nginx" / "toancanh.conf").read_text(),
                upstreams=self.api_ports,
                http_port=self.http_port,
                https_port=self.https_port,
                cert=self.cert,
                key=self.key,
            )
        )
        (root / "nginx.conf").write_text(nginx_main_conf(root, site))
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.nginx = Service(
            "nginx",
            [nginx, "-p", str(root), "-e", str(root / "nginx-error.log"), "-c", str(root / "nginx.conf")]
            + ["-g", "daemon off;"],
            env=dict(os.environ),
            log=root / "nginx.log",
            restart_s=1.0,
        )

    # --- lifecycle
    def start(self, timeout_s: float = 120) -> LocalCluster:
        from toancanh.core.migrate import upgrade

        self.nats.start()
        _wait_port(self.nats_port, 15)
        self.broker.start()
        upgrade(self.database_url)  # as toancanh-migrate.service, before the replicas
        for s in (*self.apis, *self.workers):
            s.start()
        self.nginx.start()
        for url in (*self.api_urls, *self.worker_urls):
            self.wait_ready(url, timeout_s)
        _wait_port(self.https_port, 15)
        return self

    def stop(self) -> None:
        for s in (self.nginx, *self.apis, *self.workers, self.nats):
            with contextlib.suppress(Exception):
                s.stop()
        with contextlib.suppress(Exception):
            self.broker.stop()

    def __enter__(self) -> LocalCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- looking at it
    @property
    def api_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.api_ports]

    @property
    def worker_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.worker_ports]

    def client(self, **kw: Any) -> httpx.Client:
        """A client of the public endpoint (nginx, TLS checked against the cluster's own certificate)."""
        return httpx.Client(base_url=self.url, verify=str(self.cert), **kw)

    @staticmethod
    def ready(url: str) -> dict[str, Any] | None:
        try:
            r = httpx.get(f"{url}/readyz", timeout=2)
        except httpx.HTTPError:
            return None
        return r.json() if r.status_code == 200 else None

    def wait_ready(self, url: str, timeout_s: float, *, not_instance: str | None = None) -> float:
        """Seconds until `url` answers ready (from a process other than `not_instance`, when given)."""
        start = time.monotonic()
        while True:
            body = self.ready(url)
            if body is not None and (not_instance is None or body.get("instance") != not_instance):
                return time.monotonic() - start
            if time.monotonic() - start > timeout_s:
                raise TimeoutError(f"{url} not ready after {timeout_s} s")
            time.sleep(0.05)

    def held(self, url: str) -> set[str]:
        body = self.ready(url) or {}
        return set(body.get("leases", {}).get("held", []))

    def restart_nats(self, down_s: float) -> float:
        """Stop NATS, keep it down `down_s`, start it again on its store; seconds until it listens."""
        self.nats.stop()
        time.sleep(down_s)
        start = time.monotonic()
        self.nats.start()
        _wait_port(self.nats_port, 15)
        return time.monotonic() - start

    def rolling_restart(self, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
        """deploy/rolling-restart.sh over the API replicas, with SIGTERM in place of `systemctl restart`."""
        pids = {str(p): s.pidfile for p, s in zip(self.api_ports, self.apis, strict=True)}
        env = {
            **os.environ,
            "RESTART_CMD": f"kill -TERM $(cat {self.root}/api-{{}}.pid)",
            "READY_URL": "http://127.0.0.1:{}/readyz",
            "TIMEOUT_S": str(int(timeout_s)),
        }
        return subprocess.run(  # noqa: S603
            [shutil.which("bash") or "/bin/bash", str(DEPLOY / "rolling-restart.sh"), *pids],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s * len(pids) + 10,
        )


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
