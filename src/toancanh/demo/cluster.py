"""A province deployment on one machine, as real processes: a private NATS JetStream server and Mosquitto, API
replicas (`toancanh serve`, role api) behind nginx with TLS (the shipped deploy/nginx/toancanh.conf), and
workers (`toancanh worker`), all on one PostgreSQL database. Every process is supervised the way the shipped
systemd units do it (restarted after RestartSec when it dies). Used by the proof in tests/deploy and by
bench/cluster_load.py; demo.load drives citizens, devices, dashboards and SSE clients against it."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from toancanh.connectors.mqtt.broker import PrivateBroker, free_port

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
CLI = [sys.executable, "-c", "from toancanh.cli import main; main()"]


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
