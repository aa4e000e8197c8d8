"""The audit log is append-only; events go through the outbox and survive a crash before publishing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select, text

from tests.conftest import BUS_URL
from toancanh.core import outbox
from toancanh.core.audit import AuditEntry
from toancanh.core.bus import Event, create_bus
from toancanh.core.outbox import OutboxEvent, Relay, pending_count
from toancanh.core.units import add_unit


def test_changes_are_audited_with_actor_and_ip(client: Any, world: Any, db: Any) -> None:
    aid = world.assets["cam-a1"].id
    r = client.patch(f"/api/v1/assets/{aid}", json={"name": "Camera cổng trường"}, headers=world.auth("op_a"))
    assert r.status_code == 200
    log = client.get("/api/v1/audit?action=asset.update", headers=world.auth("admin")).json()
    assert len(log) == 1
    assert log[0]["actor"] == "op_a" and log[0]["changes"]["name"] == ["CAM-A1", "Camera cổng trường"]
    assert log[0]["ip"] and log[0]["request_id"]
    # a leader of commune A sees it; a viewer may not read the audit log at all
    assert len(client.get("/api/v1/audit?action=asset.update", headers=world.auth("leader_a")).json()) == 1
    assert client.get("/api/v1/audit", headers=world.auth("viewer_a")).status_code == 403


def test_audit_log_refuses_update_and_delete_even_in_raw_sql(client: Any, world: Any, db: Any) -> None:
    client.patch(
        f"/api/v1/assets/{world.assets['cam-a1'].id}", json={"name": "x1"}, headers=world.auth("op_a")
    )
    for stmt in ("UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), db.engine.begin() as conn:
            conn.execute(text(stmt))
    with db.session() as s:
        entry = s.scalars(select(AuditEntry)).first()
        entry.actor = "tampered"
        with pytest.raises(PermissionError):
            s.flush()
        s.rollback()
    with db.session() as s:
        assert (
            s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.actor == "tampered")) == 0
        )


def test_event_exists_only_if_the_change_committed(db: Any) -> None:
    with db.session() as s:
        unit = add_unit(s, code="01", name="Hà Nội", kind="thành phố trung ương")
        outbox.emit(s, "toancanh.test.thing.created", {"n": 1}, unit_id=unit.id)
    with pytest.raises(RuntimeError), db.session() as s:
        outbox.emit(s, "toancanh.test.thing.created", {"n": 2})
        raise RuntimeError("the change failed")
    with db.session() as s:
        rows = s.scalars(select(OutboxEvent)).all()
        assert [r.data["n"] for r in rows] == [1]
        assert rows[0].unit_path == "/01/"


def test_many_events_at_once_keep_their_units_and_the_transaction(db: Any) -> None:
    with db.session() as s:
        prov = add_unit(s, code="01", name="Hà Nội", kind="thành phố trung ương")
        commune = add_unit(s, code="00664", name="Xã Đại Thanh", kind="xã", parent=prov)
        n = outbox.emit_many(
            s,
            [
                ("toancanh.test.thing.changed", {"n": i}, commune.id if i % 2 else None, "health")
                for i in range(7)
            ],
        )
        assert n == 7
    with pytest.raises(ValueError), db.session() as s:  # one bad subject: nothing of the batch is recorded
        outbox.emit_many(s, [("toancanh.test.ok", {}, None, None), ("bad subject", {}, None, None)])
    with pytest.raises(RuntimeError), db.session() as s:
        outbox.emit_many(s, [("toancanh.test.thing.changed", {"n": 99}, None, None)])
        raise RuntimeError("the change failed")
    with db.session() as s:
        rows = s.scalars(select(OutboxEvent).order_by(OutboxEvent.id)).all()
        assert [r.data["n"] for r in rows] == list(range(7))
        assert [r.unit_path for r in rows] == [None, "/01/00664/"] * 3 + [None]
        assert len({r.uid for r in rows}) == 7 and all(r.domain == "health" for r in rows)
        assert outbox.emit_many(s, []) == 0


def test_invalid_subjects_are_refused(db: Any) -> None:
    with db.session() as s:
        for bad in ("", "toancanh..x", "toancanh.*", "has space", "toancanh.>"):
            with pytest.raises(ValueError):
                outbox.emit(s, bad, {})


async def _collect(bus: Any, pattern: str, n: int, timeout: float = 10.0) -> list[Event]:
    got: list[Event] = []
    done = asyncio.Event()

    async def handler(ev: Event) -> None:
        got.append(ev)
        if len(got) >= n:
            done.set()

    sub = await bus.subscribe(pattern, handler)
    return got, done, sub  # type: ignore[return-value]


async def test_relay_publishes_in_order_after_a_crash(db: Any) -> None:
    """Rows written while no relay ran (a crash) are published, in order, when a relay starts again."""
    with db.session() as s:
        for i in range(25):
            outbox.emit(s, "toancanh.test.order.created", {"i": i})
    with db.session() as s:
        assert pending_count(s) == 25
    bus = create_bus(BUS_URL)
    await bus.start()
    try:
        got, done, sub = await _collect(bus, "toancanh.test.order.*", 25)
        relay = Relay(db, bus, interval_s=0.05)
        await relay.start()
        await asyncio.wait_for(done.wait(), 15)
        await relay.stop()
        await sub.unsubscribe()
        assert [e.data["i"] for e in got] == list(range(25))
        with db.session() as s:
            assert pending_count(s) == 0
    finally:
        await bus.close()


async def test_commit_wakes_the_relay_quickly(db: Any) -> None:
    bus = create_bus(BUS_URL)
    await bus.start()
    relay = Relay(db, bus, interval_s=30)  # polling alone would take 30 s
    await relay.start()
    try:
        got, done, sub = await _collect(bus, "toancanh.test.wake.>", 1)
        await asyncio.sleep(0.1)

        def write() -> None:
            with db.session() as s:
                outbox.emit(s, "toancanh.test.wake.now", {"ok": True})

        await asyncio.to_thread(write)
        await asyncio.wait_for(done.wait(), 5)
        await sub.unsubscribe()
    finally:
        await relay.stop()
        await bus.close()


async def test_a_failing_bus_keeps_events_pending(db: Any) -> None:
    class DownBus:
        async def publish(self, event: Event) -> None:
            raise ConnectionError("bus down")

    with db.session() as s:
        outbox.emit(s, "toancanh.test.kept.created", {})
    relay = Relay(db, DownBus(), interval_s=0.05)  # type: ignore[arg-type]
    with pytest.raises(ConnectionError):
        await relay.drain()
    with db.session() as s:
        assert pending_count(s) == 1
