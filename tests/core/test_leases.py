"""Leases: one holder at a time, taken over after expiry with a new fencing token, work shared fairly between
keepers, and real `toancanh worker` processes taking over a SIGKILLed one's work within the lease period."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from typing import Any

import httpx

from tests.modules.alerts.test_reliability import free_port
from toancanh.core import leases
from toancanh.core.leases import LeaseKeeper


def test_one_holder_at_a_time_and_a_new_token_on_takeover(db: Any) -> None:
    assert leases.try_acquire(db, "job:x", "a", 0.4) == 1
    assert leases.try_acquire(db, "job:x", "b", 0.4) is None
    assert leases.try_acquire(db, "job:x", "a", 0.4) == 1  # renewed, same token
    time.sleep(0.5)
    assert leases.try_acquire(db, "job:x", "b", 5) == 2  # a stopped renewing: b takes over
    assert leases.try_acquire(db, "job:x", "a", 5) is None  # a learns it lost it
    leases.release(db, "job:x", "b")
    assert leases.try_acquire(db, "job:x", "a", 5) == 3  # released: taken at once
    assert leases.holders(db) == {"job:x": "a"}


class Probe:
    """Work that records whether it is running, and where."""

    def __init__(self) -> None:
        self.running: dict[str, set[str]] = {}

    def work(self, keeper: str, name: str) -> Any:
        async def run() -> None:
            self.running.setdefault(name, set()).add(keeper)
            try:
                await asyncio.Event().wait()
            finally:
                self.running[name].discard(keeper)

        return run


def test_keepers_share_the_work_and_take_over_a_dead_ones(db: Any) -> None:
    probe = Probe()
    names = [f"job:{i}" for i in range(4)]

    def keeper(tag: str) -> LeaseKeeper:
        k = LeaseKeeper(db, ttl_s=0.9, holder=tag)
        for n in names:
            k.add(n, probe.work(tag, n))
        return k

    async def scenario() -> None:
        one = keeper("one")
        await one.start()
        assert one.held() == names  # alone: everything, before start() returns
        two = keeper("two")
        await two.start()
        for _ in range(40):  # the work spreads over both within a few rounds
            await asyncio.sleep(0.1)
            if len(one.held()) == 2 and len(two.held()) == 2:
                break
        assert len(one.held()) == 2 and len(two.held()) == 2
        assert all(len(probe.running[n]) == 1 for n in names)  # never twice at once
        # "one" dies: its loop stops and it renews nothing (its work is stopped here by hand)
        assert one._task is not None
        one._task.cancel()
        for w in one.work.values():
            if w.task is not None:
                w.task.cancel()
        started = time.monotonic()
        while len(two.held()) < 4 and time.monotonic() - started < 5:
            await asyncio.sleep(0.05)
        took = time.monotonic() - started
        assert two.held() == names and took < 0.9 + 0.9 / 3 + 0.5  # within one lease period and a round
        assert two.takeovers == 4  # two handed over when it joined, two taken from the dead one
        await asyncio.sleep(0.05)
        assert all(probe.running[n] == {"two"} for n in names)
        await two.stop()
        assert leases.holders(db) == {}  # a clean stop gives everything back at once

    asyncio.run(scenario())


def test_an_api_replica_runs_no_background_work(settings: Any, db: Any) -> None:
    from fastapi.testclient import TestClient

    from toancanh.app import create_app

    with TestClient(create_app(settings.model_copy(update={"role": "api"}), database=db)) as c:
        ready = c.get("/readyz").json()
        assert ready["role"] == "api" and ready["leases"]["held"] == []
        assert not any(n.startswith("job:") for n in leases.holders(db))
    with TestClient(create_app(settings, database=db)) as c:
        held = c.get("/readyz").json()["leases"]["held"]
        assert "job:reports-deadlines" in held and "job:retention-purge" in held


def _start_worker(settings: Any, port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TOANCANH_DATA_DIR": str(settings.data_dir),
        "TOANCANH_DATABASE_URL": settings.resolved_database_url,
        "TOANCANH_BUS_URL": "memory://",
        "TOANCANH_SECRET_KEY": "lease-test",
        "TOANCANH_LOG_LEVEL": "WARNING",
        "TOANCANH_MODULES": '["admin","reports","alerts","direction"]',
        "TOANCANH_LEASE_TTL_S": "3",
        "TOANCANH_CAMERA_MONITOR": "false",
    }
    cmd = [sys.executable, "-c", "from toancanh.cli import main; main()", "worker", "--port", str(port)]
    return subprocess.Popen(cmd, env=env)


def _held(url: str) -> list[str] | None:
    try:
        return list(httpx.get(f"{url}/readyz", timeout=2).json()["leases"]["held"])
    except (httpx.HTTPError, KeyError, ValueError):
        return None


def _wait(cond: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False


def test_a_sigkilled_worker_s_work_moves_to_the_other_within_the_lease_period(settings: Any, db: Any) -> None:
    pa, pb = free_port(), free_port()
    a = _start_worker(settings, pa)
    b = None
    try:
        ua, ub = f"http://127.0.0.1:{pa}", f"http://127.0.0.1:{pb}"
        assert _wait(lambda: bool(_held(ua)), 60), "worker A did not start"
        everything = sorted(_held(ua) or [])
        assert {"job:reports-deadlines", "job:alerts-deadlines", "job:retention-purge"} <= set(everything)
        # only the health checks are served by a worker
        assert httpx.get(f"{ua}/api/v1/units", timeout=2).status_code == 404
        b = _start_worker(settings, pb)
        assert _wait(lambda: bool(_held(ub)), 60), "worker B did not take its share"

        def shared() -> bool:
            ha, hb = set(_held(ua) or []), set(_held(ub) or [])
            return abs(len(ha) - len(hb)) <= 1 and not ha & hb and ha | hb == set(everything)

        assert _wait(shared, 15), "the work was not shared between the two workers"
        held_b = set(_held(ub) or [])
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        killed = time.monotonic()
        assert _wait(lambda: sorted(_held(ub) or []) == everything, 3 + 1 + 3)
        assert time.monotonic() - killed <= 3 + 1 + 1.5  # the lease period, a renewal round, slack
        holders = leases.holders(db)
        assert {holders[n] for n in everything} == {next(iter({holders[n] for n in held_b}))}
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.terminate()
                p.wait(15)


def test_work_added_while_running_is_taken_by_a_nudge_and_removed_work_gives_its_lease_back(db: Any) -> None:
    probe = Probe()

    async def scenario() -> None:
        k = LeaseKeeper(db, ttl_s=30.0, holder="solo")  # rounds every 10 s: only nudge() can take it now
        await k.start()
        k.add("camera:1", probe.work("solo", "camera:1"))
        assert k.held() == []
        await k.nudge()
        await asyncio.sleep(0.05)
        assert k.held() == ["camera:1"] and probe.running["camera:1"] == {"solo"}
        assert leases.holders(db)["camera:1"] == "solo"
        await k.remove("camera:1")
        assert k.held() == [] and "camera:1" not in k.work
        assert probe.running["camera:1"] == set()  # its work stopped
        assert "camera:1" not in leases.holders(db)  # and its lease given back at once
        await k.stop()

    asyncio.run(scenario())
