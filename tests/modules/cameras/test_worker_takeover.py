"""The cameras of a SIGKILLed `toancanh worker` move to the other worker within the lease period: two real
worker processes share four file cameras registered through an API replica; one is killed; the survivor
watches all four and keeps their health current."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.modules.alerts.test_reliability import free_port
from tests.modules.cameras.conftest import camera_body, wait_for
from toancanh.core import leases
from toancanh.settings import Settings

TTL = 3.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"role": "api", "camera_monitor": True})


def _worker(settings: Settings, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TOANCANH_DATA_DIR": str(settings.data_dir),
        "TOANCANH_DATABASE_URL": settings.resolved_database_url,
        "TOANCANH_BUS_URL": "memory://",
        "TOANCANH_SECRET_KEY": "camera-lease-test",
        "TOANCANH_LOG_LEVEL": "WARNING",
        "TOANCANH_MODULES": '["admin","cameras"]',
        "TOANCANH_LEASE_TTL_S": str(TTL),
        "TOANCANH_CAMERA_MONITOR": "true",
        "TOANCANH_CAMERA_STATE_INTERVAL_S": "0.5",
    }
    cmd = [sys.executable, "-c", "from toancanh.cli import main; main()", "worker", "--port", str(port)]
    return subprocess.Popen(cmd, env=env)


def _cameras(url: str) -> set[str] | None:
    try:
        held = httpx.get(f"{url}/readyz", timeout=2).json()["leases"]["held"]
    except (httpx.HTTPError, KeyError, ValueError):
        return None
    return {n for n in held if n.startswith("camera:")}


def test_a_killed_worker_s_cameras_move_to_the_other(
    settings: Settings, client: Any, world: Any, db: Any, video: Any
) -> None:
    names = set()
    for i in range(4):
        body = camera_body(
            world, code=f"cam-{i}", source_kind="file", substream_url=video.as_uri(), main_url=""
        )
        r = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a"))
        assert r.status_code == 201, r.text
        names.add(f"camera:{r.json()['id']}")
    assert not any(n.startswith("camera:") for n in leases.holders(db))  # the API replica watches none
    pa, pb = free_port(), free_port()
    ua, ub = f"http://127.0.0.1:{pa}", f"http://127.0.0.1:{pb}"
    a = _worker(settings, pa)
    b = None
    try:
        wait_for(lambda: _cameras(ua) == names, timeout=60, what="worker A watching every camera")
        b = _worker(settings, pb)

        def shared() -> bool:
            ca, cb = _cameras(ua) or set(), _cameras(ub) or set()
            return bool(ca) and bool(cb) and not ca & cb and ca | cb == names

        wait_for(shared, timeout=60, what="the cameras shared between the two workers")
        victim, vp, survivor = (a, ua, ub) if _cameras(ua) else (b, ub, ua)
        assert victim is not None
        moving = _cameras(vp) or set()
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        killed = time.monotonic()
        wait_for(lambda: _cameras(survivor) == names, timeout=TTL + 10, what="the survivor taking them over")
        assert time.monotonic() - killed <= TTL + TTL / 3 + 2  # the lease period, a round, slack
        # the moved cameras are watched again: their health is written anew after the takeover
        after = datetime.now(UTC)

        def fresh() -> bool:
            for name in moving:
                d = client.get(f"/api/v1/cameras/{name.split(':')[1]}", headers=world.auth("op_a")).json()
                seen = (d.get("health") or {}).get("last_frame_at")
                if d["status"] != "online" or seen is None:
                    return False
                if datetime.fromisoformat(seen) < after:
                    return False
            return True

        wait_for(fresh, timeout=20, what="fresh health from the survivor")
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(15)
