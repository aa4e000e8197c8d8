"""Subscriptions: CRUD, and HTTP notifications on entity changes sent to a receiver started in the test,
through the outbox, the bus and the notifier (q, watchedAttributes, attributes, format, scope, ld+json)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.modules.ngsild.conftest import BASE, problem, prop, waste

SUBS = BASE + "/subscriptions"


class Receiver:
    """A local HTTP endpoint that keeps every notification it gets."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with outer.lock:
                    outer.got.append(({k.lower(): v for k, v in self.headers.items()}, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def for_sub(self, sub_id: str) -> list[tuple[dict[str, str], dict[str, Any]]]:
        with self.lock:
            return [g for g in self.got if g[1]["subscriptionId"] == sub_id]

    def wait(self, sub_id: str, n: int, timeout: float = 20.0) -> list[tuple[dict[str, str], dict[str, Any]]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.for_sub(sub_id)
            if len(got) >= n:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{sub_id}: {len(self.for_sub(sub_id))} notifications, expected {n}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _sub(url: str, sub_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": sub_id,
        "type": "Subscription",
        "entities": [{"type": "WasteContainer"}],
        "notification": {"endpoint": {"uri": url, "accept": "application/json"}},
        **extra,
    }


def test_subscription_crud(client: Any, world: Any) -> None:
    h = world.auth("op_a")
    body = _sub("http://127.0.0.1:9/n", "urn:ngsi-ld:Subscription:s1", q="fillingLevel>0.5")
    r = client.post(SUBS, json=body, headers=h)
    assert r.status_code == 201 and r.headers["location"] == SUBS + "/urn:ngsi-ld:Subscription:s1"
    got = client.get(SUBS + "/urn:ngsi-ld:Subscription:s1", headers=h).json()
    assert got["id"] == "urn:ngsi-ld:Subscription:s1" and got["q"] == "fillingLevel>0.5"
    assert got["status"] == "active" and got["isActive"] is True and got["notification"]["timesSent"] == 0
    problem(client.post(SUBS, json=body, headers=h), "AlreadyExists", 409)
    r = client.post(SUBS, json={"type": "Subscription", "entities": [{"type": "T"}]}, headers=h)
    problem(r, "BadRequestData", 400)
    r = client.post(SUBS, json={**body, "id": "urn:x:2", "type": "Sub"}, headers=h)
    problem(r, "BadRequestData", 400)
    problem(client.post(SUBS, json={**body, "id": "urn:x:3", "q": "a=="}, headers=h), "BadRequestData", 400)
    no_target = {k: v for k, v in body.items() if k != "entities"} | {"id": "urn:x:4"}
    problem(client.post(SUBS, json=no_target, headers=h), "BadRequestData", 400)
    # a generated id when none is given
    r = client.post(SUBS, json={k: v for k, v in body.items() if k != "id"}, headers=h)
    assert r.status_code == 201 and "urn:ngsi-ld:Subscription:" in r.headers["location"]
    r = client.get(SUBS, params={"count": "true"}, headers=h)
    assert r.headers["NGSILD-Results-Count"] == "2"
    # only the owner (and the admin) see it
    problem(
        client.get(SUBS + "/urn:ngsi-ld:Subscription:s1", headers=world.auth("op_b")), "ResourceNotFound", 404
    )
    assert client.get(SUBS + "/urn:ngsi-ld:Subscription:s1", headers=world.auth("admin")).status_code == 200
    r = client.patch(
        SUBS + "/urn:ngsi-ld:Subscription:s1", json={"isActive": False, "q": "fillingLevel>0.9"}, headers=h
    )
    assert r.status_code == 204
    got = client.get(SUBS + "/urn:ngsi-ld:Subscription:s1", headers=h).json()
    assert got["status"] == "paused" and got["q"] == "fillingLevel>0.9"
    assert client.delete(SUBS + "/urn:ngsi-ld:Subscription:s1", headers=h).status_code == 204
    problem(client.get(SUBS + "/urn:ngsi-ld:Subscription:s1", headers=h), "ResourceNotFound", 404)
    problem(client.post(SUBS, json=body, headers=world.auth("citizen")), "Forbidden", 403)


def test_notifications_follow_q_watched_attributes_and_scope(
    client: Any, world: Any, receiver: Receiver
) -> None:
    a, b = world.auth("op_a"), world.auth("op_b")
    sub_a = _sub(
        receiver.url,
        "urn:ngsi-ld:Subscription:a",
        watchedAttributes=["fillingLevel"],
        q="fillingLevel>0.8",
    )
    sub_a["notification"] |= {"attributes": ["fillingLevel"], "format": "keyValues"}
    assert client.post(SUBS, json=sub_a, headers=a).status_code == 201
    assert (
        client.post(SUBS, json=_sub(receiver.url, "urn:ngsi-ld:Subscription:b"), headers=b).status_code == 201
    )
    w1 = "urn:ngsi-ld:WasteContainer:w1"
    assert client.post(BASE + "/entities", json=waste(1, fill=0.5), headers=a).status_code == 201  # q fails
    assert (
        client.patch(f"{BASE}/entities/{w1}/attrs", json={"colour": prop("red")}, headers=a).status_code
        == 207
    )
    assert (
        client.post(f"{BASE}/entities/{w1}/attrs", json={"colour": prop("red")}, headers=a).status_code == 204
    )
    assert (
        client.patch(f"{BASE}/entities/{w1}/attrs/fillingLevel", json={"value": 0.9}, headers=a).status_code
        == 204
    )
    headers, note = receiver.wait("urn:ngsi-ld:Subscription:a", 1)[0]
    assert note["type"] == "Notification" and note["id"].startswith("urn:ngsi-ld:Notification:")
    assert note["data"] == [{"id": w1, "type": "WasteContainer", "fillingLevel": 0.9}]
    assert headers["content-type"].startswith("application/json") and "json-ld#context" in headers["link"]
    # op_b's subscription fires for commune B's container, and never carried commune A's
    assert client.post(BASE + "/entities", json=waste(2, lon=105.85, lat=21.03), headers=b).status_code == 201
    got_b = receiver.wait("urn:ngsi-ld:Subscription:b", 1)
    assert [n["data"][0]["id"] for _, n in got_b] == ["urn:ngsi-ld:WasteContainer:w2"]
    # the colour change was not watched: still one notification for a
    assert len(receiver.for_sub("urn:ngsi-ld:Subscription:a")) == 1
    deadline = time.monotonic() + 10
    while (
        client.get(SUBS + "/urn:ngsi-ld:Subscription:a", headers=a).json()["notification"]["timesSent"] != 1
    ):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    status = client.get(SUBS + "/urn:ngsi-ld:Subscription:a", headers=a).json()["notification"]
    assert status["status"] == "ok" and "lastSuccess" in status


def test_ld_json_notifications_and_asset_changes(
    client: Any, world: Any, receiver: Receiver, db: Any
) -> None:
    from toancanh.core.assets import Asset, update_asset

    h = world.auth("op_a")
    cam = world.assets["cam-a1"]
    eid = f"urn:ngsi-ld:Device:{cam.id}"
    body = _sub(receiver.url, "urn:ngsi-ld:Subscription:dev", entities=[{"type": "Device", "id": eid}])
    body["notification"]["endpoint"]["accept"] = "application/ld+json"
    assert client.post(SUBS, json=body, headers=h).status_code == 201
    with db.session() as s:
        update_asset(s, None, s.get(Asset, cam.id), status="maintenance")
    headers, note = receiver.wait("urn:ngsi-ld:Subscription:dev", 1)[0]
    assert headers["content-type"].startswith("application/ld+json") and "@context" in note
    assert note["data"][0]["id"] == eid and note["data"][0]["deviceState"]["value"] == "maintenance"


def test_failed_deliveries_are_counted(client: Any, world: Any) -> None:
    h = world.auth("op_a")
    assert client.post(SUBS, json=_sub("http://127.0.0.1:9/none", "urn:x:fail"), headers=h).status_code == 201
    client.post(BASE + "/entities", json=waste(1), headers=h)
    deadline = time.monotonic() + 20
    while True:
        n = client.get(SUBS + "/urn:x:fail", headers=h).json()["notification"]
        if n["timesSent"] >= 1:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert n["status"] == "failed" and "lastFailure" in n
