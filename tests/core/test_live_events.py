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
