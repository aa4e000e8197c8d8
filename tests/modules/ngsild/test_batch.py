"""Batch operations (/entityOperations): create, upsert, update, delete and their BatchOperationResult."""

from __future__ import annotations

from typing import Any

from tests.modules.ngsild.conftest import BASE, ERR, problem, prop, waste

OPS = BASE + "/entityOperations"


def _ids(client: Any, h: Any) -> set[str]:
    r = client.get(BASE + "/entities", params={"type": "WasteContainer", "limit": 1000}, headers=h)
    return {e["id"] for e in r.json()}


def test_create_all_or_report_each(client: Any, world: Any) -> None:
    h = world.auth("op_a")
    r = client.post(OPS + "/create", json=[waste(1), waste(2)], headers=h)
    assert r.status_code == 201 and r.json() == [
        "urn:ngsi-ld:WasteContainer:w1",
        "urn:ngsi-ld:WasteContainer:w2",
    ]
    bad = {"id": "urn:ngsi-ld:WasteContainer:w4", "type": "WasteContainer", "x": {"type": "Property"}}
    r = client.post(OPS + "/create", json=[waste(1), waste(3), bad, waste(3)], headers=h)
    assert r.status_code == 207
    body = r.json()
    assert body["success"] == ["urn:ngsi-ld:WasteContainer:w3"]
    errors = {(e["entityId"], e["error"]["type"]) for e in body["errors"]}
    assert errors == {
        ("urn:ngsi-ld:WasteContainer:w1", ERR + "AlreadyExists"),
        ("urn:ngsi-ld:WasteContainer:w4", ERR + "BadRequestData"),
        ("urn:ngsi-ld:WasteContainer:w3", ERR + "AlreadyExists"),
    }
    assert _ids(client, h) == {f"urn:ngsi-ld:WasteContainer:w{n}" for n in (1, 2, 3)}


def test_upsert_replaces_or_updates(client: Any, world: Any) -> None:
    h = world.auth("op_a")
    client.post(OPS + "/create", json=[waste(1, colour=prop("red"))], headers=h)
    r = client.post(OPS + "/upsert", json=[waste(1, fill=0.9), waste(2)], headers=h)
    assert r.status_code == 201 and r.json() == ["urn:ngsi-ld:WasteContainer:w2"]
    got = client.get(BASE + "/entities/urn:ngsi-ld:WasteContainer:w1", headers=h).json()
    assert got["fillingLevel"]["value"] == 0.9 and "colour" not in got  # replaced
    patch = {"id": "urn:ngsi-ld:WasteContainer:w1", "type": "WasteContainer", "colour": prop("blue")}
    r = client.post(OPS + "/upsert", params={"options": "update"}, json=[patch], headers=h)
    assert r.status_code == 204
    got = client.get(BASE + "/entities/urn:ngsi-ld:WasteContainer:w1", headers=h).json()
    assert got["fillingLevel"]["value"] == 0.9 and got["colour"]["value"] == "blue"  # updated


def test_update_and_delete(client: Any, world: Any) -> None:
    h = world.auth("op_a")
    client.post(OPS + "/create", json=[waste(1), waste(2)], headers=h)
    frag = [
        {"id": "urn:ngsi-ld:WasteContainer:w1", "type": "WasteContainer", "fillingLevel": prop(0.2)},
        {"id": "urn:ngsi-ld:WasteContainer:w9", "type": "WasteContainer", "fillingLevel": prop(0.2)},
    ]
    r = client.post(OPS + "/update", json=frag, headers=h)
    assert r.status_code == 207 and r.json()["success"] == ["urn:ngsi-ld:WasteContainer:w1"]
    assert r.json()["errors"][0]["error"]["type"] == ERR + "ResourceNotFound"
    r = client.post(OPS + "/update", params={"options": "noOverwrite"}, json=frag[:1], headers=h)
    assert r.status_code == 204
    got = client.get(BASE + "/entities/urn:ngsi-ld:WasteContainer:w1", headers=h).json()
    assert got["fillingLevel"]["value"] == 0.2
    r = client.post(
        OPS + "/delete", json=["urn:ngsi-ld:WasteContainer:w1", "urn:ngsi-ld:WasteContainer:w9"], headers=h
    )
    assert r.status_code == 207 and r.json()["success"] == ["urn:ngsi-ld:WasteContainer:w1"]
    assert client.post(OPS + "/delete", json=["urn:ngsi-ld:WasteContainer:w2"], headers=h).status_code == 204
    assert _ids(client, h) == set()


def test_batch_scoping_and_errors(client: Any, world: Any) -> None:
    # op_b may not write in commune A: each entity located there fails alone
    r = client.post(
        OPS + "/create", json=[waste(1), waste(2, lon=105.85, lat=21.03)], headers=world.auth("op_b")
    )
    assert r.status_code == 207
    assert r.json()["success"] == ["urn:ngsi-ld:WasteContainer:w2"]
    assert r.json()["errors"][0]["error"]["type"] == ERR + "Forbidden"
    problem(client.post(OPS + "/create", json={"id": "x"}, headers=world.auth("op_a")), "BadRequestData", 400)
    r = client.post(OPS + "/create", json=[waste(1)], headers=world.auth("viewer_a"))
    problem(r, "Forbidden", 403)
    h = {**world.auth("op_a"), "content-type": "application/ld+json"}
    import json

    r = client.post(OPS + "/create", content=json.dumps([waste(5)]).encode(), headers=h)
    problem(r, "BadRequestData", 400)  # each ld+json item carries its @context
    item = {**waste(5), "@context": "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"}
    r = client.post(OPS + "/create", content=json.dumps([item]).encode(), headers=h)
    assert r.status_code == 201
