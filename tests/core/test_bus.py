"""Tests for toancanh.core.bus against the in-process bus and a real NATS JetStream server.

NATS tests use ``TOANCANH_NATS_URL`` (default ``nats://127.0.0.1:4222``). They are skipped when the server
is unreachable, unless ``TOANCANH_REQUIRE_NATS`` is set, in which case they fail. Every test gets its own
stream and subject prefix (uuid suffix) and deletes the stream afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlparse

import nats
import nats.js.errors
import pytest
from nats.js import api

from toancanh.core.bus import (
    Bus,
    BusError,
    Event,
    InProcessBus,
    NatsBus,
    create_bus,
    subject_matches,
    validate_pattern,
    validate_subject,
)

NATS_URL = os.environ.get("TOANCANH_NATS_URL", "nats://127.0.0.1:4222")
WAIT = 15.0  # seconds any single expected delivery may take (generous: CI runs two suites on 2 cores)


# --------------------------------------------------------------------------------------------- helpers


def _nats_problem(url: str) -> str | None:
    """None when a NATS server answers at ``url`` (first server of the list), else why not."""
    first = urlparse(url.split(",")[0])
    try:
        with socket.create_connection((first.hostname or "127.0.0.1", first.port or 4222), timeout=1.0) as s:
            s.settimeout(1.0)
            if not s.recv(4).startswith(b"INFO"):
                return "the server did not greet with INFO"
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@pytest.fixture(scope="session")
def nats_url() -> str:
    problem = _nats_problem(NATS_URL)
    if problem is not None:
        msg = f"NATS not reachable at {NATS_URL} ({problem})"
        if os.environ.get("TOANCANH_REQUIRE_NATS"):
            pytest.fail(f"{msg} and TOANCANH_REQUIRE_NATS is set")
        pytest.skip(f"{msg}; set TOANCANH_REQUIRE_NATS=1 to make this a failure")
    return NATS_URL


_WAITERS: set[asyncio.Event] = set()  # Collector.wait() calls in progress, woken by any collector


class Collector:
    """An async handler that records events and lets a test wait for a condition without blind sleeps."""

    def __init__(self, fail: Callable[[Event, int], bool] | None = None) -> None:
        self.events: list[Event] = []
        self.calls: list[Event] = []  # every call, failures included
        self._fail = fail

    async def __call__(self, event: Event) -> None:
        self.calls.append(event)
        self._touch()
        attempt = sum(1 for e in self.calls if e.id == event.id)
        if self._fail is not None and self._fail(event, attempt):
            raise RuntimeError(f"planned failure for {event.id} (attempt {attempt})")
        self.events.append(event)
        self._touch()

    @staticmethod
    def _touch() -> None:
        for waiter in _WAITERS:
            waiter.set()

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.events]

    async def wait(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:
        """Until ``predicate()`` holds (re-checked whenever any collector receives something)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out; received {self.ids}, calls {[e.id for e in self.calls]}")
            waiter = asyncio.Event()
            _WAITERS.add(waiter)
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.wait(), remaining)
            finally:
                _WAITERS.discard(waiter)

    async def wait_ids(self, *ids: str, timeout: float = WAIT) -> None:
        await self.wait(lambda: set(ids) <= set(self.ids), timeout)


class Kit:
    """Makes buses of one kind that share a stream / subject prefix, and cleans them up."""

    def __init__(self, kind: str, url: str | None) -> None:
        self.kind = kind
        self.url = url
        suffix = uuid.uuid4().hex[:12]
        self.prefix = f"t{suffix}"
        self.stream = f"TEST_{suffix}"
        self.buses: list[Bus] = []

    @property
    def is_nats(self) -> bool:
        return self.kind == "nats"

    def subject(self, rest: str) -> str:
        return f"{self.prefix}.{rest}"

    def event(self, rest: str, **data: Any) -> Event:
        return Event.create(self.subject(rest), data, unit_id=7, unit_path="/01/00664/", domain="traffic")

    def make(self, **options: Any) -> Bus:
        """An unstarted bus."""
        if self.is_nats:
            assert self.url is not None
            opts: dict[str, Any] = {"stream": self.stream, "subject_prefix": self.prefix}
            opts.update(options)
            bus: Bus = NatsBus(self.url, **opts)
        else:
            bus = InProcessBus(subject_prefix=self.prefix, **options)
        self.buses.append(bus)
        return bus

    async def new_bus(self, **options: Any) -> Bus:
        bus = self.make(**options)
        await bus.start()
        return bus

    async def peer(self, bus: Bus, **options: Any) -> Bus:
        """The same bus as seen from "another process": a second NatsBus, or the same InProcessBus."""
        return await self.new_bus(**options) if self.is_nats else bus

    async def raw_js(self) -> tuple[Any, Any]:
        assert self.url is not None
        nc = await nats.connect(self.url)
        return nc, nc.jetstream()

    async def aclose(self) -> None:
        for bus in reversed(self.buses):
            await bus.close()
        if self.is_nats:
            nc, js = await self.raw_js()
            try:
                await js.delete_stream(self.stream)
            except nats.js.errors.NotFoundError:
                pass
            finally:
                await nc.close()


@pytest.fixture(params=["memory", pytest.param("nats", marks=pytest.mark.nats)])
async def kit(request: pytest.FixtureRequest) -> AsyncIterator[Kit]:
    url = request.getfixturevalue("nats_url") if request.param == "nats" else None
    k = Kit(request.param, url)
    yield k
    await k.aclose()


@pytest.fixture
async def nkit(nats_url: str) -> AsyncIterator[Kit]:
    k = Kit("nats", nats_url)
    yield k
    await k.aclose()


# --------------------------------------------------------------------------------------------- subjects


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("toancanh.assets.asset.updated", "toancanh.assets.asset.updated", True),
        ("toancanh.assets.asset.updated", "toancanh.assets.asset.created", False),
        ("toancanh.*.asset.updated", "toancanh.assets.asset.updated", True),
        ("toancanh.*.*.*", "toancanh.assets.asset.updated", True),
        ("toancanh.*", "toancanh.assets.asset.updated", False),  # '*' is exactly one token
        ("toancanh.*.asset", "toancanh.assets.asset.updated", False),  # pattern shorter
        ("toancanh.assets.asset.updated.more", "toancanh.assets.asset.updated", False),  # pattern longer
        ("toancanh.*.*.*.*", "toancanh.assets.asset.updated", False),
        ("toancanh.>", "toancanh.assets.asset.updated", True),
        ("toancanh.>", "toancanh.x", True),
        ("toancanh.>", "toancanh", False),  # '>' needs at least one token
        ("toancanh.assets.>", "toancanh.assets.asset.updated", True),
        ("toancanh.assets.>", "toancanh.traffic.camera.updated", False),
        ("toancanh.*.asset.>", "toancanh.assets.asset.updated", True),
        ("toancanh.*.asset.>", "toancanh.assets.asset", False),
        (">", "toancanh.assets.asset.updated", True),
        ("*", "toancanh", True),
        ("*", "toancanh.assets", False),
        ("toancanh.Assets.>", "toancanh.assets.x", False),  # case-sensitive
        ("toancanh.a-b_c.>", "toancanh.a-b_c.d", True),
    ],
)
def test_subject_matches(pattern: str, subject: str, expected: bool) -> None:
    assert subject_matches(pattern, subject) is expected


@pytest.mark.parametrize(
    "subject",
    [
        "",
        "toancanh..x",
        ".toancanh",
        "toancanh.",
        "toancanh.*",
        "toancanh.>",
        "toancanh.a b",
        "toancanh.đường",
        "toancanh.a/b",
        "toancanh.a\tb",
    ],
)
def test_invalid_subjects_rejected(subject: str) -> None:
    with pytest.raises(ValueError):
        validate_subject(subject)
    with pytest.raises(ValueError):
        subject_matches("toancanh.>", subject)


@pytest.mark.parametrize("pattern", ["", "toancanh..x", "toancanh.>.x", "toancanh.a*", "toancanh.>>", "a b"])
def test_invalid_patterns_rejected(pattern: str) -> None:
    with pytest.raises(ValueError):
        validate_pattern(pattern)
    with pytest.raises(ValueError):
        subject_matches(pattern, "toancanh.x")


def test_valid_subject_accepted() -> None:
    validate_subject("toancanh.assets.asset.updated")
    validate_subject("toancanh.field-reports.report_1.created")
    validate_pattern("toancanh.*.asset.>")


# --------------------------------------------------------------------------------------------- event


def test_event_json_round_trip() -> None:
    ev = Event(
        id=uuid.uuid4().hex,
        subject="toancanh.environment.sensor.reading",
        at=datetime(2025, 7, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=7))),
        data={"tên": "Phường Bến Nghé", "pm25": 35.5, "tags": ["a", "b"], "nested": {"n": None, "ok": True}},
        unit_id=26734,
        unit_path="/79/26734/",
        domain="environment",
    )
    assert ev.at.tzinfo is UTC and ev.at.hour == 2  # converted to UTC
    raw = ev.to_json()
    assert isinstance(raw, bytes)
    assert "Phường Bến Nghé" in raw.decode()  # UTF-8, not \u escapes
    back = Event.from_json(raw)
    assert back == ev
    assert json.loads(raw)["at"] == "2025-07-01T02:30:15.123456+00:00"
    minimal = Event.from_json(b'{"id":"1","subject":"toancanh.x.y","at":"2025-01-01T00:00:00Z"}')
    assert minimal.data == {} and minimal.unit_id is None and minimal.at.tzinfo is UTC


def test_event_create_defaults() -> None:
    ev = Event.create("toancanh.assets.asset.updated", {"id": 1})
    assert len(ev.id) == 32 and ev.at.tzinfo is UTC
    assert abs((datetime.now(UTC) - ev.at).total_seconds()) < 5
    assert Event.create("toancanh.x.y").data == {}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"at": datetime(2025, 1, 1)},  # naive
        {"subject": "toancanh.*"},
        {"subject": "bad subject"},
        {"id": ""},
    ],
)
def test_event_rejects_bad_fields(kwargs: dict[str, Any]) -> None:
    base: dict[str, Any] = {"id": "x", "subject": "toancanh.a.b", "at": datetime.now(UTC), "data": {}}
    base.update(kwargs)
    with pytest.raises(ValueError):
        Event(**base)


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"subject":"toancanh.a","at":"2025-01-01T00:00:00Z"}',
        b'{"id":"1","subject":"toancanh.a","at":"2025-01-01T00:00:00"}',
        b'{"id":"1","subject":"toancanh.a","at":5}',
        b'{"id":"1","subject":"toancanh.a","at":"2025-01-01T00:00:00Z","data":[1]}',
        b'{"id":"1","subject":"toancanh.a","at":"2025-01-01T00:00:00Z","data":[]}',
        b"\xff\xfe",
    ],
)
def test_event_from_json_rejects_malformed(raw: bytes) -> None:
    with pytest.raises(ValueError):
        Event.from_json(raw)


def test_event_to_json_rejects_non_json_data() -> None:
    with pytest.raises(TypeError):
        Event.create("toancanh.a.b", {"when": datetime.now(UTC)}).to_json()
    with pytest.raises(ValueError):
        Event.create("toancanh.a.b", {"x": float("nan")}).to_json()


# --------------------------------------------------------------------------------------------- create_bus


def test_create_bus() -> None:
    assert isinstance(create_bus("memory://"), InProcessBus)
    bus = create_bus("nats://10.0.0.1:4222,nats://10.0.0.2:4222", stream="X")
    assert isinstance(bus, NatsBus)
    assert bus.servers == ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222"] and bus.stream == "X"
    for bad in ("redis://localhost", "localhost:4222", "", "kafka://x"):
        with pytest.raises(ValueError):
            create_bus(bad)


async def test_nats_start_fails_fast_when_unreachable() -> None:
    with socket.socket() as s:  # a port with nobody listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bus = NatsBus(f"nats://127.0.0.1:{port}", start_timeout=1.0)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    with pytest.raises(BusError):
        await bus.start()
    assert loop.time() - t0 < 4
    assert await bus.ping() is False
    await bus.close()


# --------------------------------------------------------------------------------------------- both buses


async def test_publish_subscribe_with_patterns(kit: Kit) -> None:
    bus = await kit.new_bus()
    assert await bus.ping() is True
    everything, assets_updated, traffic = Collector(), Collector(), Collector()
    await bus.subscribe(kit.subject(">"), everything)
    await bus.subscribe(kit.subject("assets.*.updated"), assets_updated)
    await bus.subscribe(kit.subject("traffic.>"), traffic)
    e1 = kit.event("assets.asset.updated", name="Camera ngã tư Hàng Xanh")
    e2 = kit.event("assets.asset.created")
    e3 = kit.event("traffic.violation.detected", plate="51F-123.45")
    e4 = kit.event("assets.kitchen.updated")
    for e in (e1, e2, e3, e4):
        await bus.publish(e)
    await everything.wait_ids(e1.id, e2.id, e3.id, e4.id)
    await assets_updated.wait_ids(e1.id, e4.id)
    await traffic.wait_ids(e3.id)
    assert everything.ids == [e1.id, e2.id, e3.id, e4.id]  # in publish order
    assert assets_updated.ids == [e1.id, e4.id]
    assert traffic.ids == [e3.id]
    got = everything.events[0]
    assert got == e1 and got.data["name"] == "Camera ngã tư Hàng Xanh"
    assert (got.unit_id, got.unit_path, got.domain) == (7, "/01/00664/", "traffic")


async def test_live_fan_out_reaches_every_subscriber(kit: Kit) -> None:
    bus = await kit.new_bus()
    other = await kit.peer(bus)
    a, b, c = Collector(), Collector(), Collector()
    await bus.subscribe(kit.subject("x.>"), a)
    await bus.subscribe(kit.subject("x.>"), b)
    await other.subscribe(kit.subject("x.>"), c)
    ev = kit.event("x.y.z")
    await bus.publish(ev)
    for col in (a, b, c):
        await col.wait_ids(ev.id)


async def test_unsubscribe_stops_delivery(kit: Kit) -> None:
    bus = await kit.new_bus()
    gone, stays = Collector(), Collector()
    sub = await bus.subscribe(kit.subject("a.>"), gone)
    await bus.subscribe(kit.subject("a.>"), stays)
    first = kit.event("a.b.c")
    await bus.publish(first)
    await gone.wait_ids(first.id)
    await sub.unsubscribe()
    await sub.unsubscribe()  # idempotent
    second = kit.event("a.b.c")
    await bus.publish(second)
    await stays.wait_ids(first.id, second.id)
    assert gone.ids == [first.id]


async def test_unsubscribe_from_inside_handler(kit: Kit) -> None:
    bus = await kit.new_bus()
    seen: list[str] = []
    done = asyncio.Event()
    holder: dict[str, Any] = {}

    async def once(ev: Event) -> None:
        seen.append(ev.id)
        await holder["sub"].unsubscribe()
        done.set()

    holder["sub"] = await bus.subscribe(kit.subject(">"), once)
    sentinel = Collector()
    await bus.subscribe(kit.subject(">"), sentinel)
    e1, e2 = kit.event("a.b"), kit.event("a.b")
    await bus.publish(e1)
    await asyncio.wait_for(done.wait(), WAIT)
    await bus.publish(e2)
    await sentinel.wait_ids(e1.id, e2.id)
    assert seen == [e1.id]


async def test_failing_handler_does_not_stop_others(kit: Kit, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="toancanh.bus")
    bus = await kit.new_bus()
    bad = Collector(fail=lambda ev, attempt: True)
    good = Collector()
    await bus.subscribe(kit.subject(">"), bad)
    await bus.subscribe(kit.subject(">"), good)
    events = [kit.event("s.t", n=i) for i in range(3)]
    for ev in events:
        await bus.publish(ev)
    await good.wait_ids(*(e.id for e in events))
    await bad.wait(lambda: len(bad.calls) == 3)  # the failing subscriber keeps receiving too
    assert await bus.ping() is True
    failures = [r for r in caplog.records if "failed" in r.getMessage() and r.exc_info]
    assert len(failures) == 3
    assert events[0].id in failures[0].getMessage() and kit.subject("s.t") in failures[0].getMessage()


async def test_publish_and_subscribe_validate_subjects(kit: Kit) -> None:
    bus = await kit.new_bus()
    with pytest.raises(ValueError):
        await bus.publish(Event.create("elsewhere.a.b"))  # outside the bus's prefix
    with pytest.raises(ValueError):
        await bus.subscribe("elsewhere.>", Collector())
    with pytest.raises(ValueError):
        await bus.subscribe(kit.subject("a..b"), Collector())
    with pytest.raises(ValueError):
        await bus.subscribe(kit.subject(">"), Collector(), durable="bad.name")
    with pytest.raises(TypeError):
        await bus.publish(kit.event("a.b", when=datetime.now(UTC)))  # not JSON: rejected on both buses


async def test_not_started_and_closed_bus_raise(kit: Kit) -> None:
    bus = kit.make()
    assert await bus.ping() is False
    with pytest.raises(BusError):
        await bus.publish(kit.event("a.b"))
    with pytest.raises(BusError):
        await bus.subscribe(kit.subject(">"), Collector())
    await bus.start()
    assert await bus.ping() is True
    await bus.close()
    await bus.close()  # idempotent
    assert await bus.ping() is False
    with pytest.raises(BusError):
        await bus.publish(kit.event("a.b"))


async def test_duplicate_event_id_delivered_once(kit: Kit) -> None:
    bus = await kit.new_bus()
    durable, live = Collector(), Collector()
    await bus.subscribe(kit.subject(">"), durable, durable="dedupe")
    await bus.subscribe(kit.subject(">"), live)
    ev = kit.event("a.b", n=1)
    await bus.publish(ev)
    await bus.publish(ev)  # a relay retry
    sentinel = kit.event("a.b", n=2)
    await bus.publish(sentinel)
    await durable.wait_ids(sentinel.id)
    await live.wait_ids(sentinel.id)
    assert durable.ids == [ev.id, sentinel.id]
    assert live.ids == [ev.id, sentinel.id]


async def test_durable_shared_by_two_subscribers_handles_each_event_once(kit: Kit) -> None:
    bus = await kit.new_bus()
    other = await kit.peer(bus)
    a, b = Collector(), Collector()
    await bus.subscribe(kit.subject("work.>"), a, durable="workers")
    await other.subscribe(kit.subject("work.>"), b, durable="workers")
    live = Collector()
    await bus.subscribe(kit.subject("work.>"), live)
    events = [kit.event("work.item.created", n=i) for i in range(40)]
    for ev in events:
        await bus.publish(ev)
    ids = {e.id for e in events}
    await a.wait(lambda: set(a.ids) | set(b.ids) == ids)
    await live.wait_ids(*ids)
    deliveries = Counter(a.ids + b.ids)
    assert set(deliveries) == ids
    assert sum(deliveries.values()) == len(events)  # no errors: exactly once each
    assert len(live.ids) == len(events)  # live fan-out is independent of the durable


async def test_durable_redelivers_after_handler_failure(kit: Kit) -> None:
    bus = await kit.new_bus(retry_delays=(0.05,))
    flaky = Collector(fail=lambda ev, attempt: attempt == 1)
    await bus.subscribe(kit.subject(">"), flaky, durable="flaky")
    e1, e2 = kit.event("a.b"), kit.event("a.c")
    await bus.publish(e1)
    await bus.publish(e2)
    await flaky.wait_ids(e1.id, e2.id)
    calls = Counter(e.id for e in flaky.calls)
    assert calls == {e1.id: 2, e2.id: 2}
    assert sorted(flaky.ids) == sorted([e1.id, e2.id])


async def test_durable_gives_up_after_max_attempts(kit: Kit, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="toancanh.bus")
    opts: dict[str, Any] = {"retry_delays": (0.05,)}  # in-process: 2 attempts
    if kit.is_nats:
        opts["max_deliver"] = 2
    bus = await kit.new_bus(**opts)
    poison = kit.event("a.poison")
    col = Collector(fail=lambda ev, attempt: ev.id == poison.id)
    await bus.subscribe(kit.subject(">"), col, durable="poison")
    await bus.publish(poison)
    await col.wait(lambda: len(col.calls) == 2)
    after = kit.event("a.fine")
    await bus.publish(after)
    await col.wait_ids(after.id)
    await col.wait(
        lambda: any("after 2" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    )
    assert [e.id for e in col.calls].count(poison.id) == 2
    assert col.ids == [after.id]


async def test_durable_keeps_events_while_nobody_listens(kit: Kit) -> None:
    """On NATS this is a restart: the first bus is closed and a fresh NatsBus picks up the backlog."""
    first = await kit.new_bus()
    col = Collector()
    sub = await first.subscribe(kit.subject("jobs.>"), col, durable="keeper")
    warm = kit.event("jobs.a")
    await first.publish(warm)
    await col.wait_ids(warm.id)
    if kit.is_nats:
        await first.close()  # the process dies
        publisher = await kit.new_bus()
    else:
        await sub.unsubscribe()
        publisher = first
    missed = [kit.event("jobs.b", n=i) for i in range(3)]
    for ev in missed:
        await publisher.publish(ev)
    later = await kit.peer(publisher)
    col2 = Collector()
    await later.subscribe(kit.subject("jobs.>"), col2, durable="keeper")
    await col2.wait_ids(*(e.id for e in missed))
    assert col2.ids == [e.id for e in missed]  # not the already acknowledged one, in order


async def test_durable_unsubscribe_lets_the_handler_in_progress_finish(kit: Kit) -> None:
    bus = await kit.new_bus()
    entered, release = asyncio.Event(), asyncio.Event()
    handled: list[str] = []

    async def slow(ev: Event) -> None:
        entered.set()
        await release.wait()
        handled.append(ev.id)

    sub = await bus.subscribe(kit.subject(">"), slow, durable="leaving")
    e1 = kit.event("a.b")
    await bus.publish(e1)
    await asyncio.wait_for(entered.wait(), WAIT)
    leaving = asyncio.create_task(sub.unsubscribe())
    await asyncio.sleep(0)
    release.set()
    await asyncio.wait_for(leaving, WAIT)
    assert handled == [e1.id]
    e2 = kit.event("a.c")
    await bus.publish(e2)  # nobody subscribed: the durable keeps it
    col = Collector()
    await bus.subscribe(kit.subject(">"), col, durable="leaving")
    await col.wait_ids(e2.id)
    assert col.ids == [e2.id]  # e1 was acknowledged, not handed out again


async def test_durable_pattern_change_is_applied(kit: Kit) -> None:
    bus = await kit.new_bus()
    col = Collector()
    sub = await bus.subscribe(kit.subject("old.>"), col, durable="moving")
    await sub.unsubscribe()
    col2 = Collector()
    await bus.subscribe(kit.subject("new.>"), col2, durable="moving")
    old, new = kit.event("old.x"), kit.event("new.x")
    await bus.publish(old)
    await bus.publish(new)
    await col2.wait_ids(new.id)
    assert col2.ids == [new.id] and col.ids == []


# ------------------------------------------------------------------------------------------- in-process only


async def test_memory_slow_live_subscriber_drops_oldest_without_blocking_publisher() -> None:
    bus = InProcessBus(live_queue_size=3)
    await bus.start()
    gate, entered = asyncio.Event(), asyncio.Event()
    got: list[int] = []

    last = asyncio.Event()

    async def slow(ev: Event) -> None:
        got.append(ev.data["n"])
        entered.set()
        await gate.wait()
        if ev.data["n"] == 9:
            last.set()

    sub = await bus.subscribe("toancanh.>", slow)
    await bus.publish(Event.create("toancanh.a.b", {"n": 0}))
    await asyncio.wait_for(entered.wait(), WAIT)  # handler busy with event 0
    await asyncio.wait_for(  # never blocks although the subscriber is stuck
        asyncio.gather(*(bus.publish(Event.create("toancanh.a.b", {"n": i})) for i in range(1, 10))), 1.0
    )
    assert sub.dropped == 6
    gate.set()
    await asyncio.wait_for(last.wait(), WAIT)
    assert got == [0, 7, 8, 9]
    await bus.close()


async def test_memory_durable_blocks_publisher_instead_of_dropping() -> None:
    bus = InProcessBus(durable_queue_size=2)
    await bus.start()
    gate, entered = asyncio.Event(), asyncio.Event()
    got: list[int] = []

    async def slow(ev: Event) -> None:
        entered.set()
        await gate.wait()
        got.append(ev.data["n"])

    await bus.subscribe("toancanh.>", slow, durable="slow")
    await bus.publish(Event.create("toancanh.a.b", {"n": 0}))
    await asyncio.wait_for(entered.wait(), WAIT)
    await bus.publish(Event.create("toancanh.a.b", {"n": 1}))
    await bus.publish(Event.create("toancanh.a.b", {"n": 2}))
    blocked = asyncio.create_task(bus.publish(Event.create("toancanh.a.b", {"n": 3})))
    done, _ = await asyncio.wait({blocked}, timeout=0.1)
    assert not done, "publish should wait for room in a full durable queue"
    gate.set()
    await asyncio.wait_for(blocked, WAIT)
    await bus.close()  # waits for the durable to finish its queue
    assert got == [0, 1, 2, 3]


async def test_memory_durable_without_subscribers_drops_oldest_when_full() -> None:
    bus = InProcessBus(durable_queue_size=2)
    await bus.start()
    sub = await bus.subscribe("toancanh.>", Collector(), durable="idle")
    await sub.unsubscribe()
    for i in range(4):
        await asyncio.wait_for(bus.publish(Event.create("toancanh.a.b", {"n": i})), 1.0)
    col = Collector()
    await bus.subscribe("toancanh.>", col, durable="idle")
    await col.wait(lambda: len(col.events) == 2)
    assert [e.data["n"] for e in col.events] == [2, 3]
    await bus.close()


async def test_memory_durable_with_different_pattern_while_subscribed_is_refused() -> None:
    bus = InProcessBus()
    await bus.start()
    await bus.subscribe("toancanh.a.>", Collector(), durable="d")
    with pytest.raises(ValueError):
        await bus.subscribe("toancanh.b.>", Collector(), durable="d")
    await bus.close()


async def test_memory_handlers_get_json_shaped_copies() -> None:
    bus = InProcessBus()
    await bus.start()
    col = Collector()
    await bus.subscribe("toancanh.>", col)
    ev = Event.create("toancanh.a.b", {"pair": (1, 2)})
    await bus.publish(ev)
    await col.wait_ids(ev.id)
    assert col.events[0].data == {"pair": [1, 2]}  # what NATS subscribers would get too
    await bus.close()


# --------------------------------------------------------------------------------------------- NATS only


@pytest.mark.nats
async def test_nats_stream_created_with_config(nkit: Kit) -> None:
    await nkit.new_bus()
    nc, js = await nkit.raw_js()
    try:
        info = await js.stream_info(nkit.stream)
    finally:
        await nc.close()
    cfg = info.config
    assert cfg.subjects == [f"{nkit.prefix}.>"]
    assert cfg.storage == api.StorageType.FILE
    assert cfg.max_age == pytest.approx(7 * 24 * 3600)
    assert cfg.duplicate_window == pytest.approx(120)


@pytest.mark.nats
async def test_nats_existing_stream_with_other_config_is_updated(nkit: Kit) -> None:
    nc, js = await nkit.raw_js()
    try:
        await js.add_stream(
            api.StreamConfig(
                name=nkit.stream,
                subjects=[f"{nkit.prefix}.legacy.>", f"x{nkit.prefix}.other"],
                storage=api.StorageType.FILE,
                max_age=3600,
                duplicate_window=10,
            )
        )
        bus = await nkit.new_bus()
        info = await js.stream_info(nkit.stream)
    finally:
        await nc.close()
    cfg = info.config
    # ours added; the one it covers dropped (JetStream refuses overlapping subjects); others kept
    assert sorted(cfg.subjects) == sorted([f"x{nkit.prefix}.other", f"{nkit.prefix}.>"])
    assert cfg.max_age == pytest.approx(7 * 24 * 3600)
    assert cfg.duplicate_window == pytest.approx(120)
    col = Collector()
    await bus.subscribe(nkit.subject(">"), col, durable="after_update")
    ev = nkit.event("a.b")
    await bus.publish(ev)
    await col.wait_ids(ev.id)


@pytest.mark.nats
async def test_nats_publish_raises_when_not_stored(nkit: Kit) -> None:
    bus = await nkit.new_bus()
    with pytest.raises(BusError):  # over the server's max_payload (1 MiB by default)
        await bus.publish(nkit.event("a.b", blob="x" * 2_000_000))
    assert await bus.ping() is True


@pytest.mark.nats
async def test_nats_recovers_from_a_deleted_stream(nkit: Kit) -> None:
    bus = await nkit.new_bus(fetch_timeout=0.2, consumer_check_interval=0.2)
    col = Collector()
    await bus.subscribe(nkit.subject(">"), col, durable="phoenix")
    before = nkit.event("a.b")
    await bus.publish(before)
    await col.wait_ids(before.id)
    nc, js = await nkit.raw_js()
    try:
        await js.delete_stream(nkit.stream)
    finally:
        await nc.close()
    assert await bus.ping() is False  # the stream is gone: not ready
    after = nkit.event("a.c")
    await bus.publish(after)  # recreates the stream
    assert await bus.ping() is True
    await col.wait_ids(after.id)  # the durable loop recreated its consumer from when it last saw it
    assert col.ids == [before.id, after.id]


@pytest.mark.nats
async def test_nats_ping_and_close_with_busy_durable(nkit: Kit) -> None:
    bus = await nkit.new_bus(close_timeout=2.0)
    entered, release = asyncio.Event(), asyncio.Event()
    handled: list[str] = []

    async def slowish(ev: Event) -> None:
        entered.set()
        await release.wait()
        handled.append(ev.id)

    await bus.subscribe(nkit.subject(">"), slowish, durable="busy")
    ev = nkit.event("a.b")
    await bus.publish(ev)
    await asyncio.wait_for(entered.wait(), WAIT)
    closing = asyncio.create_task(bus.close())
    await asyncio.sleep(0)
    release.set()
    await asyncio.wait_for(closing, WAIT)
    assert handled == [ev.id]  # close let the handler in hand finish (and ack)
    # ...so a new subscriber does not get it again
    other = await nkit.new_bus()
    col = Collector()
    await other.subscribe(nkit.subject(">"), col, durable="busy")
    sentinel = nkit.event("a.c")
    await other.publish(sentinel)
    await col.wait_ids(sentinel.id)
    assert col.ids == [sentinel.id]


@pytest.mark.nats
async def test_nats_durable_catches_up_on_a_backlog_in_order(nkit: Kit) -> None:
    first = await nkit.new_bus()
    sub = await first.subscribe(nkit.subject(">"), Collector(), durable="backlog")
    await sub.unsubscribe()
    events = [nkit.event("a.b", n=i) for i in range(120)]
    for ev in events:
        await first.publish(ev)
    col = Collector()
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    await first.subscribe(nkit.subject(">"), col, durable="backlog")
    await col.wait(lambda: len(col.events) == len(events))
    assert col.ids == [e.id for e in events]
    assert loop.time() - t0 < 3  # batched catch-up, no fetch that waits for a batch to fill
    trickle = [nkit.event("a.c", n=i) for i in range(3)]
    for ev in trickle:  # one at a time afterwards: each arrives without waiting for a batch
        t1 = loop.time()
        await first.publish(ev)
        await col.wait_ids(ev.id)
        assert loop.time() - t1 < 1
