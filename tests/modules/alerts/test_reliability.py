"""Nothing acknowledged is lost: the server killed with SIGKILL mid-ingestion, the bus server restarted."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from toancanh.core.outbox import OutboxEvent
from toancanh.core.timeseries import Sample, Series
from toancanh.demo.load_world import build_load_world
from toancanh.modules.alerts.models import Alert


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(settings: Any, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from toancanh.cli import main; main()", "serve", "--port", str(port)],
        env={
            **os.environ,
            "TOANCANH_DATA_DIR": str(settings.data_dir),
            "TOANCANH_DATABASE_URL": settings.resolved_database_url,
            "TOANCANH_BUS_URL": "memory://",
            "TOANCANH_SECRET_KEY": "crash-test",
            "TOANCANH_LOG_LEVEL": "WARNING",
            **(env or {}),
        },
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, "the server exited"
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.1)


def stored(db: Any) -> set[tuple[str, int]]:
    with db.session() as s:
        rows = s.execute(select(Series.key, Sample.ts).join(Sample, Sample.series_id == Series.id)).all()
    return {(k.split(".")[0], int(ts)) for k, ts in rows}


def test_sigkill_mid_ingestion_loses_nothing_acknowledged(settings, db) -> None:
    world = build_load_world(db, 200)
    proc, url = start_server(settings)
    acknowledged: set[tuple[str, int]] = set()
    stop = threading.Event()
    base = int(time.time() * 1000) - 600_000

    def gateway() -> None:
        n = 0
        with httpx.Client(base_url=url, headers={"X-API-Key": world.api_key}, timeout=10) as c:
            while not stop.is_set():
                batch = [
                    {"device": world.codes[(n + i) % 200], "ts": base + n + i, "values": {"pm25": 1.0 * i}}
                    for i in range(500)
                ]
                try:
                    r = c.post("/api/v1/telemetry/readings", json={"readings": batch})
                except httpx.HTTPError:
                    return  # the server died mid-request: this batch was never acknowledged
                if r.status_code == 200 and r.json()["accepted"] == 500:
                    acknowledged.update((b["device"], b["ts"]) for b in batch)
                n += 500

    sender = threading.Thread(target=gateway)
    sender.start()
    deadline = time.monotonic() + 30
    while len(acknowledged) < 5000:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # in the middle of the stream
    proc.wait(10)
    stop.set()
    sender.join(10)
    assert len(acknowledged) >= 5000
    # restart on the same data: every acknowledged reading is there
    proc, url = start_server(settings)
    try:
        have = stored(db)
        missing = acknowledged - have
        assert not missing, f"{len(missing)} acknowledged readings lost"
        r = httpx.post(
            f"{url}/api/v1/telemetry/readings",
            json={"readings": [{"device": world.codes[0], "values": {"pm25": 5}}]},
            headers={"X-API-Key": world.api_key},
        )
        assert r.status_code == 200 and r.json()["accepted"] == 1  # and it goes on working
    finally:
        proc.terminate()
        proc.wait(15)


@pytest.fixture
def private_nats(tmp_path: Path) -> Any:
    port = free_port()
    store = tmp_path / "js"
    cmd = ["nats-server", "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)]

    class Server:
        url = f"nats://127.0.0.1:{port}"
        proc: subprocess.Popen[bytes] | None = None

        def start(self) -> None:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    return
                except OSError:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)

        def stop(self) -> None:
            if self.proc is not None:
                self.proc.terminate()
                self.proc.wait(10)
                self.proc = None

    server = Server()
    server.start()
    yield server
    server.stop()


def test_bus_server_restart_during_ingestion_loses_no_alert(settings, db, private_nats) -> None:
    """Alerts raised while NATS is down wait in the outbox and are published once it is back."""
    world = build_load_world(db, 50)
    from toancanh.modules.alerts.service import save_rule

    rule = {
        "code": "cao",
        "name": "Cao",
        "when": {"type": "threshold", "measure": "level", "op": ">", "value": 10},
        "alert": {"category": "test.high", "severity": "severe", "title_vi": "Cao tại {asset}"},
    }
    with db.session() as s:
        save_rule(s, None, rule, unit_id=world.unit_id, domain="environment")
    proc, url = start_server(settings, {"TOANCANH_BUS_URL": private_nats.url})
    try:

        def post(codes: list[str]) -> None:
            r = httpx.post(
                f"{url}/api/v1/telemetry/readings",
                json={"readings": [{"device": c, "values": {"level": 50}} for c in codes]},
                headers={"X-API-Key": world.api_key},
                timeout=10,
            )
            assert r.status_code == 200 and r.json()["accepted"] == len(codes)

        post(world.codes[:10])
        private_nats.stop()
        post(world.codes[10:30])  # readings are acknowledged while the bus is away
        time.sleep(1.0)
        private_nats.start()
        post(world.codes[30:40])

        def all_published() -> bool:
            with db.session() as s:
                alerts = s.scalar(select(func.count()).select_from(Alert))
                pending = s.scalar(
                    select(func.count())
                    .select_from(OutboxEvent)
                    .where(
                        OutboxEvent.published_at.is_(None),
                        OutboxEvent.subject.like("toancanh.alerts.alert.%"),
                    )
                )
            return alerts == 40 and pending == 0

        deadline = time.monotonic() + 30
        while not all_published():
            assert time.monotonic() < deadline, "alerts were not all published after the bus came back"
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(15)
