"""Assets as GeoJSON with type, bbox, unit and domain filters; updates are evented."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from toancanh.core.outbox import OutboxEvent


def _codes(fc: dict[str, Any]) -> set[str]:
    assert fc["type"] == "FeatureCollection"
    for f in fc["features"]:
        assert f["type"] == "Feature" and f["geometry"]["type"] == "Point"
        lon, lat = f["geometry"]["coordinates"]
        assert -180 <= lon <= 180 and -90 <= lat <= 90
    return {f["properties"]["code"] for f in fc["features"]}


def test_geojson_filters(client: Any, world: Any) -> None:
    h = world.auth("admin")
    assert _codes(client.get("/api/v1/assets", headers=h).json()) == set(world.assets)
    assert _codes(client.get("/api/v1/assets?type=camera", headers=h).json()) == {"cam-a1", "cam-b1"}
    assert _codes(client.get("/api/v1/assets?type=camera,sensor&domain=environment", headers=h).json()) == {
        "aq-a2",
        "aq-b1",
    }
    # a box around commune B only
    assert _codes(client.get("/api/v1/assets?bbox=105.84,21.02,105.86,21.04", headers=h).json()) == {
        "cam-b1",
        "aq-b1",
    }
    hamlet = world.units["H1"].id
    assert _codes(client.get(f"/api/v1/assets?unit_id={hamlet}", headers=h).json()) == {"cam-a1", "sch-a"}
    # filters never widen scope
    assert (
        _codes(client.get("/api/v1/assets?bbox=105.84,21.02,105.86,21.04", headers=world.auth("op_a")).json())
        == set()
    )


def test_update_is_evented_with_the_asset_unit_and_domain(client: Any, world: Any, db: Any) -> None:
    aid = world.assets["cam-a1"].id
    r = client.patch(f"/api/v1/assets/{aid}", json={"status": "offline"}, headers=world.auth("op_a"))
    assert r.status_code == 200 and r.json()["status"] == "offline"
    with db.session() as s:
        ev = s.scalars(select(OutboxEvent).where(OutboxEvent.subject == "toancanh.core.asset.updated")).one()
        assert ev.domain == "traffic" and ev.unit_path == "/01/00664/0066401/"
        assert ev.data["changes"] == {"status": ["active", "offline"]}
    # no change, no event
    client.patch(f"/api/v1/assets/{aid}", json={"status": "offline"}, headers=world.auth("op_a"))
    with db.session() as s:
        assert (
            len(
                s.scalars(
                    select(OutboxEvent).where(OutboxEvent.subject == "toancanh.core.asset.updated")
                ).all()
            )
            == 1
        )
