"""Geo-queries with known answers: near (max/min distance), within, contains, intersects, equals, disjoint,
overlaps, on points, lines and polygons, and the errors for incomplete or wrong geo-queries."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.modules.ngsild.conftest import BASE, problem

# A 0.01° grid of points around commune A (Xã Đại Thanh, 105.80-105.84 E, 20.90-20.94 N)
GRID = [(i, j) for i in range(4) for j in range(4)]
POLY_A = [[[105.80, 20.90], [105.815, 20.90], [105.815, 20.915], [105.80, 20.915], [105.80, 20.90]]]


def _pid(i: int, j: int) -> str:
    return f"urn:ngsi-ld:Spot:p{i}{j}"


@pytest.fixture
def spots(client: Any, world: Any) -> Any:
    h = world.auth("op_a")
    for i, j in GRID:
        body = {
            "id": _pid(i, j),
            "type": "Spot",
            "location": {
                "type": "GeoProperty",
                "value": {
                    "type": "Point",
                    "coordinates": [round(105.805 + i * 0.01, 6), round(20.905 + j * 0.01, 6)],
                },
            },
        }
        assert client.post(BASE + "/entities", json=body, headers=h).status_code == 201
    shapes = {
        "urn:ngsi-ld:Zone:square": {"type": "Polygon", "coordinates": POLY_A},
        "urn:ngsi-ld:Zone:road": {"type": "LineString", "coordinates": [[105.80, 20.92], [105.84, 20.92]]},
    }
    for eid, geom in shapes.items():
        body = {"id": eid, "type": "Zone", "location": {"type": "GeoProperty", "value": geom}}
        assert client.post(BASE + "/entities", json=body, headers=h).status_code == 201
    return h


def _ask(client: Any, h: Any, georel: str, geometry: str, coords: Any, **extra: Any) -> set[str]:
    params = {
        "georel": georel,
        "geometry": geometry,
        "coordinates": json.dumps(coords),
        "limit": 1000,
        **extra,
    }
    r = client.get(BASE + "/entities", params=params, headers=h)
    assert r.status_code == 200, r.text
    return {e["id"] for e in r.json()}


def test_near_max_and_min_distance(client: Any, spots: Any) -> None:
    # p00 is at (105.805, 20.905); its neighbours lie 0.01° away: ~1,039 m east, ~1,112 m north
    got = _ask(client, spots, "near;maxDistance==1050", "Point", [105.805, 20.905], type="Spot")
    assert got == {_pid(0, 0), _pid(1, 0)}
    got = _ask(client, spots, "near;maxDistance==1200", "Point", [105.805, 20.905], type="Spot")
    assert got == {_pid(0, 0), _pid(1, 0), _pid(0, 1)}
    far = _ask(client, spots, "near;minDistance==3500", "Point", [105.805, 20.905], type="Spot")
    assert far == {_pid(3, 3), _pid(2, 3), _pid(3, 2)}
    ring = _ask(
        client, spots, "near;minDistance==1000;maxDistance==1100", "Point", [105.805, 20.905], type="Spot"
    )
    assert ring == {_pid(1, 0)}
    # a line counts from its nearest point: the road at 20.92 N is ~555 m north of p01 and p11 ...
    near_road = _ask(client, spots, "near;maxDistance==600", "Point", [105.805, 20.915], type="Zone")
    assert near_road == {"urn:ngsi-ld:Zone:road", "urn:ngsi-ld:Zone:square"}


def test_within_contains_intersects(client: Any, spots: Any) -> None:
    box = [[[105.80, 20.90], [105.82, 20.90], [105.82, 20.92], [105.80, 20.92], [105.80, 20.90]]]
    assert _ask(client, spots, "within", "Polygon", box, type="Spot") == {
        _pid(0, 0),
        _pid(1, 0),
        _pid(0, 1),
        _pid(1, 1),
    }
    assert _ask(client, spots, "within", "Polygon", box, type="Zone") == {"urn:ngsi-ld:Zone:square"}
    assert _ask(client, spots, "contains", "Point", [105.81, 20.91], type="Zone") == {
        "urn:ngsi-ld:Zone:square"
    }
    # the school of commune A (an IOC asset) stands on that very point, so a point "contains" it too
    assert "urn:ngsi-ld:Device:4" in _ask(client, spots, "contains", "Point", [105.81, 20.91])
    assert _ask(
        client, spots, "intersects", "LineString", [[105.79, 20.91], [105.85, 20.91]], type="Zone"
    ) == {"urn:ngsi-ld:Zone:square"}
    assert _ask(client, spots, "intersects", "Polygon", box, type="Zone") == {
        "urn:ngsi-ld:Zone:square",
        "urn:ngsi-ld:Zone:road",
    }
    assert _ask(client, spots, "equals", "Point", [105.815, 20.915], type="Spot") == {_pid(1, 1)}
    assert _ask(client, spots, "equals", "Polygon", POLY_A, type="Zone") == {"urn:ngsi-ld:Zone:square"}
    disjoint = _ask(client, spots, "disjoint", "Polygon", box, type="Spot")
    assert disjoint == {_pid(i, j) for i, j in GRID} - {_pid(0, 0), _pid(1, 0), _pid(0, 1), _pid(1, 1)}
    shifted = [[[105.81, 20.91], [105.83, 20.91], [105.83, 20.93], [105.81, 20.93], [105.81, 20.91]]]
    assert _ask(client, spots, "overlaps", "Polygon", shifted, type="Zone") == {"urn:ngsi-ld:Zone:square"}
    multi = _ask(
        client, spots, "intersects", "MultiPoint", [[105.805, 20.905], [105.835, 20.935]], type="Spot"
    )
    assert multi == {_pid(0, 0), _pid(3, 3)}


def test_geo_and_q_and_count_together(client: Any, spots: Any) -> None:
    r = client.get(
        BASE + "/entities",
        params={
            "georel": "near;maxDistance==2500",
            "geometry": "Point",
            "coordinates": "[105.805,20.905]",
            "idPattern": "p[01]",
            "count": "true",
            "limit": 2,
        },
        headers=spots,
    )
    assert r.headers["NGSILD-Results-Count"] == "6" and len(r.json()) == 2  # p00 p01 p02 p10 p11 p12


@pytest.mark.parametrize(
    "params",
    [
        {"georel": "near;maxDistance==10", "geometry": "Point"},
        {"georel": "near", "geometry": "Point", "coordinates": "[105.8,20.9]"},
        {"georel": "near;maxDistance==10", "geometry": "Polygon", "coordinates": json.dumps(POLY_A)},
        {"georel": "near;maxDistance==-1", "geometry": "Point", "coordinates": "[105.8,20.9]"},
        {"georel": "around", "geometry": "Point", "coordinates": "[105.8,20.9]"},
        {"georel": "within", "geometry": "Circle", "coordinates": "[105.8,20.9]"},
        {"georel": "within", "geometry": "Polygon", "coordinates": "[[[105.8,20.9],[105.9,20.9]]]"},
        {"georel": "within", "geometry": "Point", "coordinates": "not json"},
        {"georel": "within;x==1", "geometry": "Point", "coordinates": "[105.8,20.9]"},
    ],
)
def test_bad_geo_queries(client: Any, world: Any, params: dict[str, str]) -> None:
    problem(client.get(BASE + "/entities", params=params, headers=world.auth("op_a")), "BadRequestData", 400)


def test_geoproperty_other_than_location(client: Any, world: Any) -> None:
    h = world.auth("op_a")
    body = {
        "id": "urn:ngsi-ld:Drone:1",
        "type": "Drone",
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [105.0, 20.0]}},
        "observationSpace": {"type": "GeoProperty", "value": {"type": "Polygon", "coordinates": POLY_A}},
    }
    assert client.post(BASE + "/entities", json=body, headers=h).status_code == 201
    got = _ask(client, h, "intersects", "Point", [105.81, 20.91], geoproperty="observationSpace")
    assert got == {"urn:ngsi-ld:Drone:1"}
    assert _ask(client, h, "intersects", "Point", [105.81, 20.91], type="Drone") == set()
