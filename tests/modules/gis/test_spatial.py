"""within / intersects / nearest: the same answers on SQLite (core.geo STRtree) and PostgreSQL (PostGIS); the
suite runs this file on both, against answers worked out by hand."""

from __future__ import annotations

import json
from typing import Any

import shapely

from tests.modules.gis.conftest import new_layer, upload


def _fc(geoms: list[Any]) -> bytes:
    return json.dumps(
        {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": shapely.geometry.mapping(g), "properties": {"n": i}}
                for i, g in enumerate(geoms)
            ],
        }
    ).encode()


def test_within_intersects_nearest(client: Any, world: Any) -> None:
    geoms = [
        shapely.Point(105.801, 20.901),  # 0: inside the query box
        shapely.Point(105.805, 20.905),  # 1: on the box's edge: intersects, not within
        shapely.Point(105.810, 20.910),  # 2: outside
        shapely.LineString([(105.800, 20.902), (105.808, 20.902)]),  # 3: crosses the edge
        shapely.box(105.8015, 20.9015, 105.803, 20.903),  # 4: inside
        shapely.box(105.790, 20.890, 105.820, 20.920),  # 5: covers the box: intersects, not within
    ]
    lay = new_layer(client, world, "sp")
    assert upload(client, world, lay["id"], _fc(geoms), "sp.geojson").status_code == 200
    ids = [
        f["id"]
        for f in sorted(
            client.get("/ogc/collections/sp/items", headers=world.auth("admin")).json()["features"],
            key=lambda f: f["properties"]["n"],
        )
    ]
    box = shapely.geometry.mapping(shapely.box(105.800, 20.900, 105.805, 20.905))

    def q(body: dict[str, Any]) -> list[Any]:
        r = client.post(f"/api/v1/gis/layers/{lay['id']}/query", json=body, headers=world.auth("op_a"))
        assert r.status_code == 200, r.text
        return list(r.json()["features"])

    assert [f["id"] for f in q({"op": "within", "geometry": box})] == [ids[0], ids[4]]
    assert [f["id"] for f in q({"op": "intersects", "geometry": box})] == [ids[i] for i in (0, 1, 3, 4, 5)]
    near = q({"op": "nearest", "lat": 20.9105, "lon": 105.8105, "k": 3})
    # 5 contains the point (distance 0), then point 2 (~74 m), then point 1 (~800 m)
    assert [f["id"] for f in near] == [ids[5], ids[2], ids[1]]
    assert near[0]["distance_m"] == 0.0
    assert 70 < near[1]["distance_m"] < 80
    assert (
        client.post(
            f"/api/v1/gis/layers/{lay['id']}/query", json={"op": "nearest"}, headers=world.auth("op_a")
        ).status_code
        == 400
    )
    bad = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    assert (
        client.post(
            f"/api/v1/gis/layers/{lay['id']}/query",
            json={"op": "within", "geometry": bad},
            headers=world.auth("op_a"),
        ).status_code
        == 400
    )
