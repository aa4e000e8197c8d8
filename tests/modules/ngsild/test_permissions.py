"""The permission matrix for NGSI-LD entities (stored and read through from assets), for every role."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import WORLD_USERS
from tests.modules.ngsild.conftest import BASE, point, problem, prop
from tests.permission_matrix import covers
from toancanh.core.auth.permissions import role_has

TYPES = "TrafficFlowObserved,AirQualityObserved,Thing,Device,WasteContainer"


@pytest.fixture
def ngsi_world(client: Any, world: Any) -> Any:
    """Stored entities in hamlet H1 (traffic), commune B (environment) and hamlet H2 (no domain), created by
    the admin; plus the world's six assets as Device entities."""
    specs = {
        "urn:ngsi-ld:TrafficFlowObserved:h1": (
            "TrafficFlowObserved",
            105.805,
            20.905,
            "/01/00664/0066401/",
            "traffic",
        ),
        "urn:ngsi-ld:AirQualityObserved:b": (
            "AirQualityObserved",
            105.85,
            21.03,
            "/01/00070/",
            "environment",
        ),
        "urn:ngsi-ld:Thing:h2": ("Thing", 105.825, 20.905, "/01/00664/0066402/", None),
    }
    world.entities = {}
    for eid, (etype, lon, lat, path, domain) in specs.items():
        body = {"id": eid, "type": etype, "location": point(lon, lat), "level": prop(1)}
        r = client.post(BASE + "/entities", json=body, headers=world.auth("admin"))
        assert r.status_code == 201, r.text
        world.entities[eid] = (path, domain, True)
    paths = {u.id: u.path for u in world.units.values()}
    for asset in world.assets.values():
        world.entities[f"urn:ngsi-ld:Device:{asset.id}"] = (paths[asset.unit_id], asset.domain, False)
    return world


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_query_and_detail_follow_grants(client: Any, ngsi_world: Any, who: str) -> None:
    w = ngsi_world
    r = client.get(BASE + "/entities", params={"type": TYPES, "limit": 1000}, headers=w.auth(who))
    if not role_has(WORLD_USERS[who][0], "ngsild.read"):
        problem(r, "Forbidden", 403)
        return
    assert r.status_code == 200, r.text
    want = {eid for eid, (path, dom, _) in w.entities.items() if covers(who, "ngsild.read", path, dom)}
    assert {e["id"] for e in r.json()} == want
    geo = {
        "georel": "within",
        "geometry": "Polygon",
        "coordinates": "[[[105,20],[106,20],[106,22],[105,22],[105,20]]]",
    }
    r = client.get(BASE + "/entities", params={**geo, "limit": 1000}, headers=w.auth(who))
    assert {e["id"] for e in r.json()} == want
    for eid, (path, dom, _) in w.entities.items():
        r = client.get(f"{BASE}/entities/{eid}", headers=w.auth(who))
        assert r.status_code == (200 if covers(who, "ngsild.read", path, dom) else 404), (who, eid)


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_writes_follow_grants(client: Any, ngsi_world: Any, who: str) -> None:
    w = ngsi_world
    for eid, (path, dom, stored) in w.entities.items():
        sees = covers(who, "ngsild.read", path, dom)
        writes = covers(who, "ngsild.write", path, dom)
        r = client.patch(f"{BASE}/entities/{eid}/attrs", json={"level": prop(2)}, headers=w.auth(who))
        if not role_has(WORLD_USERS[who][0], "ngsild.write"):
            want = 403  # whatever the entity: no leak
        elif not sees:
            want = 404
        elif not stored:
            want = 422  # assets are read-only here
        else:
            want = 204 if writes else 403
        assert r.status_code == want, (who, eid, r.text)


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_create_places_the_entity_in_a_unit_the_caller_may_write(client: Any, world: Any, who: str) -> None:
    targets = [
        ("A", 105.835, 20.935, "/01/00664/"),
        ("H1", 105.805, 20.905, "/01/00664/0066401/"),
        ("B", 105.85, 21.03, "/01/00070/"),
    ]
    for n, (_, lon, lat, path) in enumerate(targets):
        eid = f"urn:ngsi-ld:TrafficFlowObserved:{who}-{n}"
        body = {"id": eid, "type": "TrafficFlowObserved", "location": point(lon, lat), "intensity": prop(10)}
        r = client.post(BASE + "/entities", json=body, headers=world.auth(who))
        # the caller may write the located unit or one above it (the hamlet lies inside the commune)
        parents = [p for p in ("/01/", "/01/00664/", "/01/00070/", path) if path.startswith(p)]
        allowed = any(covers(who, "ngsild.write", p, "traffic") for p in parents)
        assert r.status_code == (201 if allowed else 403), (who, path, r.text)


def test_the_unit_is_the_most_specific_one_the_caller_may_write(client: Any, world: Any, db: Any) -> None:
    from sqlalchemy import select

    from toancanh.modules.ngsild.models import NgsiEntity

    for who, eid in (("op_a", "urn:x:a"), ("op_hamlet", "urn:x:h"), ("admin", "urn:x:adm")):
        body = {"id": eid, "type": "Thing", "location": point(105.805, 20.905)}
        assert client.post(BASE + "/entities", json=body, headers=world.auth(who)).status_code == 201
    body = {"id": "urn:x:nowhere", "type": "Thing"}
    assert client.post(BASE + "/entities", json=body, headers=world.auth("op_a")).status_code == 201
    with db.session() as s:
        units = {e: u for e, u in s.execute(select(NgsiEntity.entity_id, NgsiEntity.unit_id)).tuples()}
    assert units == {
        "urn:x:a": world.units["H1"].id,
        "urn:x:h": world.units["H1"].id,
        "urn:x:adm": world.units["H1"].id,
        "urn:x:nowhere": world.units["A"].id,  # no location: the unit of the caller's grant
    }
