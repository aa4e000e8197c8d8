"""The SSE endpoint streams each caller exactly the events inside their units and domains (real server)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import build_world, serving
from toancanh.core import outbox


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    with serving(app) as url:
        yield url


def _listen(
    base: str, token: str, out: list[dict[str, Any]], ready: threading.Event, stop: threading.Event
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with (
        contextlib.suppress(httpx.RemoteProtocolError),
        httpx.stream("GET", f"{base}/api/v1/events/stream", headers=headers, timeout=20) as r,
    ):
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith(": connected"):
                ready.set()
            if line.startswith("data: "):
                out.append(json.loads(line[6:]))
            if stop.is_set():
                return


def test_stream_is_scoped_per_caller(server: str, db: Any) -> None:
    w = build_world(db)
    who = ["op_a", "op_b", "police_a", "traffic_center", "admin"]
    got: dict[str, list[dict[str, Any]]] = {u: [] for u in who}
    stop = threading.Event()
    threads = []
    for u in who:
        ready = threading.Event()
        t = threading.Thread(target=_listen, args=(server, w.tokens[u], got[u], ready, stop), daemon=True)
        t.start()
        assert ready.wait(10), f"{u} stream did not open"
        threads.append(t)
    events = [
        ("a-traffic", w.units["H1"].id, "traffic"),
        ("a-education", w.units["A"].id, "education"),
        ("b-traffic", w.units["B"].id, "traffic"),
        ("b-environment", w.units["B"].id, "environment"),
    ]
    with db.session() as s:
        for tag, unit_id, domain in events:
            outbox.emit(s, f"toancanh.test.scope.{tag}", {"tag": tag}, unit_id=unit_id, domain=domain)
        outbox.emit(s, "toancanh.test.scope.end", {"tag": "end"}, unit_id=w.units["01"].id, domain="traffic")
    deadline = time.time() + 15
    while time.time() < deadline and not any(e["data"]["tag"] == "end" for e in got["admin"]):
        time.sleep(0.05)
    time.sleep(0.5)
    stop.set()
    with db.session() as s:  # wake the streams so that they notice `stop`
        outbox.emit(s, "toancanh.test.scope.bye", {"tag": "bye"}, unit_id=w.units["01"].id, domain="traffic")
    tags = {u: {e["data"]["tag"] for e in got[u]} - {"bye"} for u in who}
    assert tags["admin"] == {"a-traffic", "a-education", "b-traffic", "b-environment", "end"}
    assert tags["op_a"] == {"a-traffic", "a-education"}
    assert tags["op_b"] == {"b-traffic", "b-environment"}
    assert tags["police_a"] == {"a-traffic"}
    assert tags["traffic_center"] == {"a-traffic", "b-traffic", "end"}


def test_stream_needs_a_login(server: str) -> None:
    r = httpx.get(f"{server}/api/v1/events/stream", timeout=5)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"


def _read_stream(
    base: str, token: str, last_id: str | None, until_tag: str, out: list[tuple[str, str, dict[str, Any]]]
) -> None:
    """Collect (kind, id, data) until an event tagged `until_tag` (or a reset) arrives."""
    headers = {"Authorization": f"Bearer {token}"}
    if last_id:
        headers["Last-Event-ID"] = last_id
    with httpx.stream("GET", f"{base}/api/v1/events/stream", headers=headers, timeout=20) as r:
        assert r.status_code == 200
        kind, eid = "message", ""
        for line in r.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("id: "):
                eid = line[4:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
                out.append((kind, eid, data))
                if kind == "reset" or data.get("data", {}).get("tag") == until_tag:
                    return
                kind, eid = "message", ""


def _wait_published(db: Any) -> None:
    deadline = time.time() + 10
    while time.time() < deadline:
        with db.session() as s:
            if outbox.pending_count(s) == 0:
                return
        time.sleep(0.05)


def test_a_reconnecting_client_catches_up_from_last_event_id(server: str, db: Any) -> None:
    w = build_world(db)
    a, b = w.units["A"].id, w.units["B"].id
    with db.session() as s:
        outbox.emit(s, "toancanh.test.catch.seen", {"tag": "seen"}, unit_id=a, domain="traffic")
    _wait_published(db)
    first: list[tuple[str, str, dict[str, Any]]] = []
    t = threading.Thread(target=_read_stream, args=(server, w.tokens["op_a"], None, "live1", first))
    t.start()
    time.sleep(0.5)
    with db.session() as s:
        outbox.emit(s, "toancanh.test.catch.live1", {"tag": "live1"}, unit_id=a, domain="traffic")
    t.join(15)
    last_id = first[-1][1]
    assert first[-1][2]["data"]["tag"] == "live1" and last_id
    # while the client is away: three events it may see and one of the other commune
    with db.session() as s:
        for tag, unit in (("m1", a), ("other", b), ("m2", a), ("m3", a)):
            outbox.emit(s, f"toancanh.test.catch.{tag}", {"tag": tag}, unit_id=unit, domain="traffic")
    _wait_published(db)
    again: list[tuple[str, str, dict[str, Any]]] = []
    t = threading.Thread(target=_read_stream, args=(server, w.tokens["op_a"], last_id, "live2", again))
    t.start()
    time.sleep(1.0)
    with db.session() as s:
        outbox.emit(s, "toancanh.test.catch.live2", {"tag": "live2"}, unit_id=a, domain="traffic")
    t.join(15)
    tags = [d["data"]["tag"] for _, _, d in again]
    assert tags == ["m1", "m2", "m3", "live2"]  # missed ones in order, none twice, none of commune B
    assert len({eid for _, eid, _ in again}) == 4


def test_an_unknown_last_event_id_asks_the_client_to_reload(server: str, db: Any) -> None:
    w = build_world(db)
    got: list[tuple[str, str, dict[str, Any]]] = []
    _read_stream(server, w.tokens["op_a"], "0123456789abcdef0123456789abcdef", "never", got)
    assert got and got[0][0] == "reset"
