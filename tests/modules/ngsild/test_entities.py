"""Entity CRUD, attributes, representations, @context handling and errors, as ETSI GS CIM 009 describes."""

from __future__ import annotations

from typing import Any

from tests.modules.ngsild.conftest import BASE, CORE, point, problem, prop, waste

E1 = "urn:ngsi-ld:WasteContainer:w1"
LD = "application/ld+json"


def _post(client: Any, world: Any, body: Any, who: str = "op_a", **kw: Any) -> Any:
    return client.post(BASE + "/entities", json=body, headers=world.auth(who), **kw)


def test_create_read_delete(client: Any, world: Any) -> None:
    h = world.auth("op_a")
    r = _post(client, world, waste(1))
    assert r.status_code == 201 and r.headers["location"] == f"{BASE}/entities/{E1}"
    r = client.get(f"{BASE}/entities/{E1}", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert CORE in r.headers["link"] and 'rel="http://www.w3.org/ns/json-ld#context"' in r.headers["link"]
    body = r.json()
    assert body["id"] == E1 and body["type"] == "WasteContainer"
    assert body["fillingLevel"] == prop(0.5, unitCode="P1", observedAt="2026-12-01T10:00:00Z")
    assert body["location"] == point(105.81, 20.91)
    problem(_post(client, world, waste(1)), "AlreadyExists", 409)
    assert client.delete(f"{BASE}/entities/{E1}", headers=h).status_code == 204
    problem(client.get(f"{BASE}/entities/{E1}", headers=h), "ResourceNotFound", 404)
    problem(client.delete(f"{BASE}/entities/{E1}", headers=h), "ResourceNotFound", 404)


def test_key_values_and_sys_attrs(client: Any, world: Any) -> None:
    _post(client, world, waste(1, rel={"type": "Relationship", "object": "urn:ngsi-ld:Street:1"}))
    h = world.auth("op_a")
    kv = client.get(f"{BASE}/entities/{E1}", params={"options": "keyValues"}, headers=h).json()
    assert kv == {
        "id": E1,
        "type": "WasteContainer",
        "fillingLevel": 0.5,
        "location": {"type": "Point", "coordinates": [105.81, 20.91]},
        "rel": "urn:ngsi-ld:Street:1",
    }
    assert client.get(f"{BASE}/entities/{E1}", params={"format": "keyValues"}, headers=h).json() == kv
    sys = client.get(f"{BASE}/entities/{E1}", params={"options": "sysAttrs"}, headers=h).json()
    assert sys["createdAt"].endswith("Z") and sys["modifiedAt"] >= sys["createdAt"]
    assert (
        "createdAt" in sys["fillingLevel"]
        and "createdAt" not in client.get(f"{BASE}/entities/{E1}", headers=h).json()["fillingLevel"]
    )
    picked = client.get(f"{BASE}/entities/{E1}", params={"attrs": "rel"}, headers=h).json()
    assert set(picked) == {"id", "type", "rel"}


def test_concise_input_is_normalized(client: Any, world: Any) -> None:
    body = {
        "id": "urn:ngsi-ld:Thing:c1",
        "type": "Thing",
        "temperature": 21.5,
        "owner": {"object": "urn:ngsi-ld:Person:1"},
        "location": {"type": "Point", "coordinates": [105.81, 20.91]},
        "label": {"languageMap": {"vi": "Nhãn", "en": "Label"}},
    }
    assert _post(client, world, body).status_code == 201
    got = client.get(f"{BASE}/entities/urn:ngsi-ld:Thing:c1", headers=world.auth("op_a")).json()
    assert got["temperature"] == prop(21.5)
    assert got["owner"] == {"type": "Relationship", "object": "urn:ngsi-ld:Person:1"}
    assert got["location"] == point(105.81, 20.91)
    assert got["label"]["type"] == "LanguageProperty"


def test_bad_entities_are_refused(client: Any, world: Any) -> None:
    problem(_post(client, world, {"id": "not a uri", "type": "T"}), "BadRequestData", 400)
    problem(_post(client, world, {"id": "urn:x:1"}), "BadRequestData", 400)
    problem(
        _post(client, world, {"id": "urn:x:1", "type": "T", "a": {"type": "Property"}}), "BadRequestData", 400
    )
    problem(
        _post(client, world, {"id": "urn:x:1", "type": "T", "a": {"type": "Relationship", "object": "x y"}}),
        "BadRequestData",
        400,
    )
    problem(
        _post(client, world, {"id": "urn:x:1", "type": "T", "location": {"type": "GeoProperty", "value": 3}}),
        "BadRequestData",
        400,
    )
    problem(
        _post(client, world, {"id": "urn:x:1", "type": "T", "a": prop(1, observedAt="yesterday")}),
        "BadRequestData",
        400,
    )
    problem(_post(client, world, {"id": "urn:x:1", "type": "T", "a=b": 1}), "BadRequestData", 400)
    h = {**world.auth("op_a"), "content-type": "application/json"}
    problem(client.post(BASE + "/entities", content=b"{not json", headers=h), "InvalidRequest", 400)
    h = {**world.auth("op_a"), "content-type": "text/plain"}
    r = client.post(BASE + "/entities", content=b"{}", headers=h)
    problem(r, "UnsupportedMediaType", 415)
    problem(client.get(f"{BASE}/entities/not%20an%20id", headers=world.auth("op_a")), "BadRequestData", 400)
    problem(client.get(f"{BASE}/entities", headers=world.auth("op_a")), "BadRequestData", 400)
    r = client.get(
        f"{BASE}/entities", params={"type": "T"}, headers={**world.auth("op_a"), "accept": "text/csv"}
    )
    problem(r, "NotAcceptable", 406)
    problem(client.get(f"{BASE}/entities", params={"type": "T"}), "Unauthorized", 401)


def test_ld_json_carries_the_context_in_the_body(client: Any, world: Any) -> None:
    h = {**world.auth("op_a"), "content-type": LD}
    body = {**waste(1), "@context": [{"fill": "https://example.org/fill"}, CORE]}
    body["fill"] = prop(3)
    assert client.post(BASE + "/entities", content=_dumps(body), headers=h).status_code == 201
    # without the context, the term is unknown: the full IRI comes back
    plain = client.get(f"{BASE}/entities/{E1}", headers=world.auth("op_a")).json()
    assert plain["https://example.org/fill"] == prop(3)
    got = client.get(f"{BASE}/entities/{E1}", headers={**world.auth("op_a"), "accept": LD}).json()
    assert got["@context"] == CORE and "fill" not in got
    # an ld+json body without @context, and a json body with one, are refused
    problem(client.post(BASE + "/entities", content=_dumps(waste(2)), headers=h), "BadRequestData", 400)
    h2 = {**world.auth("op_a"), "content-type": "application/json"}
    r = client.post(BASE + "/entities", content=_dumps({**waste(3), "@context": CORE}), headers=h2)
    problem(r, "BadRequestData", 400)
    # a context URL that is not shipped is never fetched
    r = client.post(
        BASE + "/entities",
        content=_dumps({**waste(4), "@context": "https://example.org/c.jsonld"}),
        headers=h,
    )
    problem(r, "LdContextNotAvailable", 503)


def test_link_header_context_expands_and_compacts(client: Any, world: Any) -> None:
    ctx_body = {"@context": {"lvl": "https://smartdatamodels.org/dataModel.WasteManagement/fillingLevel"}}
    assert ctx_body  # the inline form is tested above; the Link header names a shipped context
    link = f'<{CORE}>; rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
    h = {**world.auth("op_a"), "link": link}
    assert client.post(BASE + "/entities", json=waste(1), headers=h).status_code == 201
    r = client.get(f"{BASE}/entities/{E1}", headers=h)
    assert r.json()["fillingLevel"]["value"] == 0.5
    # the default-context term and the Smart Data Models IRI are the same attribute
    r = client.get(
        f"{BASE}/entities",
        params={"type": "https://smartdatamodels.org/dataModel.WasteManagement/WasteContainer"},
        headers=world.auth("op_a"),
    )
    assert [e["id"] for e in r.json()] == [E1]


def test_attribute_operations(client: Any, world: Any) -> None:
    h = world.auth("op_a")
    _post(client, world, waste(1))
    url = f"{BASE}/entities/{E1}/attrs"
    # append: new and replaced attributes
    assert (
        client.post(url, json={"colour": prop("green"), "fillingLevel": prop(0.7)}, headers=h).status_code
        == 204
    )
    got = client.get(f"{BASE}/entities/{E1}", headers=h).json()
    assert got["colour"]["value"] == "green" and got["fillingLevel"] == prop(0.7)
    # noOverwrite keeps what exists and says so
    r = client.post(
        url, params={"options": "noOverwrite"}, json={"colour": prop("red"), "x": prop(1)}, headers=h
    )
    assert r.status_code == 207
    assert r.json()["updated"] == ["x"] and r.json()["notUpdated"][0]["attributeName"] == "colour"
    # update: only existing attributes
    r = client.patch(url, json={"colour": prop("blue"), "missing": prop(1)}, headers=h)
    assert r.status_code == 207 and r.json()["updated"] == ["colour"]
    assert [n["attributeName"] for n in r.json()["notUpdated"]] == ["missing"]
    assert client.patch(url, json={"colour": prop("white")}, headers=h).status_code == 204
    # partial update of one attribute keeps the other members
    r = client.patch(
        f"{url}/fillingLevel", json={"value": 0.9, "observedAt": "2026-12-02T00:00:00Z"}, headers=h
    )
    assert r.status_code == 204
    fl = client.get(f"{BASE}/entities/{E1}", headers=h).json()["fillingLevel"]
    assert fl == prop(0.9, observedAt="2026-12-02T00:00:00Z")
    problem(client.patch(f"{url}/nothing", json={"value": 1}, headers=h), "ResourceNotFound", 404)
    assert client.delete(f"{url}/colour", headers=h).status_code == 204
    assert "colour" not in client.get(f"{BASE}/entities/{E1}", headers=h).json()
    problem(client.delete(f"{url}/colour", headers=h), "ResourceNotFound", 404)
    problem(client.patch(url, json={}, headers=h), "BadRequestData", 400)


def test_multi_instance_attributes(client: Any, world: Any) -> None:
    h = world.auth("op_a")
    two = [prop(1, datasetId="urn:ngsi-ld:Dataset:a"), prop(2, datasetId="urn:ngsi-ld:Dataset:b")]
    _post(client, world, waste(1, temperature=two))
    got = client.get(f"{BASE}/entities/{E1}", headers=h).json()
    assert sorted(i["value"] for i in got["temperature"]) == [1, 2]
    r = client.get(f"{BASE}/entities", params={"type": "WasteContainer", "q": "temperature==2"}, headers=h)
    assert len(r.json()) == 1
    url = f"{BASE}/entities/{E1}/attrs/temperature"
    assert client.delete(url, params={"datasetId": "urn:ngsi-ld:Dataset:a"}, headers=h).status_code == 204
    got = client.get(f"{BASE}/entities/{E1}", headers=h).json()
    assert got["temperature"] == prop(2, datasetId="urn:ngsi-ld:Dataset:b")


def test_replace_entity(client: Any, world: Any) -> None:
    h = world.auth("op_a")
    _post(client, world, waste(1))
    r = client.put(
        f"{BASE}/entities/{E1}", json={"type": "WasteContainer", "fillingLevel": prop(0.1)}, headers=h
    )
    assert r.status_code == 204
    assert set(client.get(f"{BASE}/entities/{E1}", headers=h).json()) == {"id", "type", "fillingLevel"}


def test_assets_are_read_only_devices_with_their_last_readings(client: Any, world: Any, db: Any) -> None:
    from toancanh.core import timeseries

    aq = world.assets["aq-a2"]
    with db.session() as s:
        series = timeseries.Series(
            key="aq-a2.pm25",
            name="PM2.5",
            asset_id=aq.id,
            unit_id=aq.unit_id,
            domain="environment",
            unit_of_measure="GQ",
        )
        s.add(series)
        s.flush()
        timeseries.write_samples(
            s, [(series.id, 1_764_000_000_000, 30.0), (series.id, 1_764_000_060_000, 42.5)]
        )
    h = world.auth("op_a")
    eid = f"urn:ngsi-ld:Device:{aq.id}"
    got = client.get(f"{BASE}/entities/{eid}", headers=h).json()
    assert got["type"] == "Device" and got["deviceCategory"]["value"] == "sensor"
    assert got["pm25"] == {
        "type": "Property",
        "value": 42.5,
        "observedAt": "2025-11-24T16:01:00.000Z",
        "unitCode": "GQ",
    }
    assert got["location"]["value"] == {"type": "Point", "coordinates": [105.825, 20.905]}
    r = client.get(f"{BASE}/entities", params={"type": "Device", "q": "pm25>40"}, headers=h)
    assert [e["id"] for e in r.json()] == [eid]
    problem(
        client.patch(f"{BASE}/entities/{eid}/attrs", json={"name": prop("x")}, headers=h),
        "OperationNotSupported",
        422,
    )
    problem(client.delete(f"{BASE}/entities/{eid}", headers=h), "OperationNotSupported", 422)
    problem(_post(client, world, {"id": eid, "type": "Device"}), "AlreadyExists", 409)


def test_paging_and_count(client: Any, world: Any) -> None:
    h = world.auth("op_a")
    for n in range(7):
        _post(client, world, waste(n, fill=n / 10))
    r = client.get(
        f"{BASE}/entities",
        params={"type": "WasteContainer", "limit": 3, "offset": 2, "count": "true"},
        headers=h,
    )
    assert [e["id"] for e in r.json()] == [f"urn:ngsi-ld:WasteContainer:w{n}" for n in (2, 3, 4)]
    assert r.headers["NGSILD-Results-Count"] == "7"
    r = client.get(
        f"{BASE}/entities", params={"type": "WasteContainer,Device", "limit": 0, "count": "true"}, headers=h
    )
    assert r.json() == [] and r.headers["NGSILD-Results-Count"] == str(7 + 4)
    r = client.get(
        f"{BASE}/entities", params={"type": "WasteContainer,Device", "offset": 6, "limit": 3}, headers=h
    )
    assert [e["type"] for e in r.json()] == ["WasteContainer", "Device", "Device"]
    r = client.get(f"{BASE}/entities", params={"idPattern": "w[0-2]$", "count": "true"}, headers=h)
    assert r.headers["NGSILD-Results-Count"] == "3"
    ids = "urn:ngsi-ld:WasteContainer:w1,urn:ngsi-ld:WasteContainer:w5"
    assert len(client.get(f"{BASE}/entities", params={"id": ids}, headers=h).json()) == 2
    problem(
        client.get(f"{BASE}/entities", params={"type": "T", "limit": 5000}, headers=h), "TooManyResults", 403
    )
    problem(
        client.get(f"{BASE}/entities", params={"type": "T", "limit": "x"}, headers=h), "BadRequestData", 400
    )


def test_geojson_representation(client: Any, world: Any) -> None:
    _post(client, world, waste(1))
    h = {**world.auth("op_a"), "accept": "application/geo+json"}
    r = client.get(f"{BASE}/entities", params={"type": "WasteContainer"}, headers=h)
    assert r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    assert fc["features"][0]["geometry"] == {"type": "Point", "coordinates": [105.81, 20.91]}


def test_shipped_contexts_are_served(client: Any) -> None:
    r = client.get("/ngsi-ld/contexts/ngsi-ld-core-context-v1.8.jsonld")
    assert (
        r.status_code == 200 and r.json()["@context"]["Property"] == "https://uri.etsi.org/ngsi-ld/Property"
    )


def _dumps(body: Any) -> bytes:
    import json

    return json.dumps(body).encode()
