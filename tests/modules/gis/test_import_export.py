"""Import of each format (GeoJSON, zipped Shapefile, GeoPackage, CSV), broken files, and export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyogrio
import shapely

from tests.modules.gis.conftest import grid_points, new_layer, upload, write_file


def _items(client: Any, w: Any, code: str, **params: Any) -> dict[str, Any]:
    r = client.get(
        f"/ogc/collections/{code}/items", params={"limit": 1000, **params}, headers=w.auth("admin")
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_geojson_import_assigns_units_and_extent(client: Any, world: Any, points_geojson: bytes) -> None:
    lay = new_layer(client, world, "pts")
    r = upload(client, world, lay["id"], points_geojson, "pts.geojson")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["imported"] == 25 and body["source_crs"] == "EPSG:4326"
    assert body["layer"]["geometry_type"] == "Point"
    assert body["layer"]["bbox"] == [105.80, 20.90, 105.804, 20.904]
    feats = _items(client, world, "pts")["features"]
    assert {f["properties"]["name"] for f in feats} == {f"p{i}" for i in range(25)}
    # every point lies in hamlet H1 (105.80-105.82, 20.90-20.92): the most specific unit
    from sqlalchemy import select

    from toancanh.modules.gis.models import Feature

    with client.app.state.db.session() as s:
        assert set(s.scalars(select(Feature.unit_id))) == {world.units["H1"].id}


def test_shapefile_zip_in_vn2000_utm_is_reprojected(client: Any, world: Any, tmp_path: Path) -> None:
    from pyproj import Transformer

    wgs = grid_points(9)
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:3405", always_xy=True)
    utm = [shapely.Point(*to_utm.transform(p.x, p.y)) for p in wgs]
    data = write_file(
        tmp_path, "ESRI Shapefile", "diem", utm, {"ten": [f"Điểm {i}" for i in range(9)]}, crs="EPSG:3405"
    )
    lay = new_layer(client, world, "diem")
    r = upload(client, world, lay["id"], data, "diem.zip")
    assert r.status_code == 200, r.text
    assert r.json()["source_crs"] == "EPSG:3405"
    feats = sorted(_items(client, world, "diem")["features"], key=lambda f: f["id"])
    for f, p in zip(feats, wgs, strict=True):
        x, y = f["geometry"]["coordinates"]
        assert abs(x - p.x) < 1e-8 and abs(y - p.y) < 1e-8  # round trip through VN-2000 / UTM 48N
    assert feats[3]["properties"]["ten"] == "Điểm 3"


def test_geopackage_polygons_and_explicit_crs(client: Any, world: Any, tmp_path: Path) -> None:
    polys = [shapely.box(105.80 + i * 0.01, 20.90, 105.805 + i * 0.01, 20.905) for i in range(3)]
    data = write_file(tmp_path, "GPKG", "zones", polys, {"level": [1, 2, 3]})
    lay = new_layer(client, world, "zones", kind="zones")
    r = upload(client, world, lay["id"], data, "zones.gpkg")
    assert r.status_code == 200, r.text
    assert r.json()["layer"]["geometry_type"] == "Polygon"
    feats = _items(client, world, "zones", level="2")["features"]
    assert len(feats) == 1 and feats[0]["properties"]["level"] == 2


def test_csv_with_coordinates_and_time(client: Any, world: Any) -> None:
    csv = "name,lon,lat,seen\nA,105.81,20.91,2026-01-02T03:00:00Z\nB,105.85,21.03,2026-02-02T03:00:00Z\n"
    lay = new_layer(client, world, "csvpts", time_enabled=True)
    r = upload(client, world, lay["id"], csv.encode(), "diem.csv", time_field="seen")
    assert r.status_code == 200, r.text
    assert r.json()["layer"]["time_extent"][0].startswith("2026-01-02T03:00")
    feats = _items(client, world, "csvpts")["features"]
    assert sorted(f["geometry"]["coordinates"] for f in feats) == [[105.81, 20.91], [105.85, 21.03]]
    assert "lon" not in feats[0]["properties"]


def test_csv_in_vn2000_tm3_with_crs_given(client: Any, world: Any) -> None:
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:4326", "EPSG:9210", always_xy=True)  # VN-2000 / TM-3 105-45 (Hà Nội)
    x, y = t.transform(105.83, 21.02)
    lay = new_layer(client, world, "tm3")
    r = upload(client, world, lay["id"], f"id,x,y\n1,{x:.4f},{y:.4f}\n".encode(), "a.csv", crs="EPSG:9210")
    assert r.status_code == 200, r.text
    (f,) = _items(client, world, "tm3")["features"]
    lon, lat = f["geometry"]["coordinates"]
    assert abs(lon - 105.83) < 1e-6 and abs(lat - 21.02) < 1e-6


def _unchanged(client: Any, world: Any, lay: dict[str, Any], n: int) -> None:
    got = client.get(f"/api/v1/gis/layers/{lay['id']}", headers=world.auth("admin")).json()
    assert got["feature_count"] == n
    assert len(_items(client, world, lay["code"])["features"]) == n


def test_broken_files_are_refused_and_change_nothing(
    client: Any, world: Any, tmp_path: Path, points_geojson: bytes
) -> None:
    lay = new_layer(client, world, "broken")
    assert upload(client, world, lay["id"], points_geojson, "pts.geojson").status_code == 200
    cases = [
        (b"{not json", "x.geojson", "unreadable_file"),
        (b"PK\x03\x04garbage", "x.zip", "unreadable_file"),
        (b"SQLite format 3\x00 nope", "x.gpkg", "unreadable_file"),
        (b"", "x.geojson", None),
    ]
    for data, name, code in cases:
        r = upload(client, world, lay["id"], data, name)
        assert r.status_code == 422, (name, r.text)
        err = r.json()["error"]
        assert err["message"] and err["message_en"]
        if code:
            assert err["code"] == code, (name, err)
        _unchanged(client, world, lay, 25)
    r = upload(client, world, lay["id"], b"x", "x.kml")
    assert r.status_code == 400
    r = upload(client, world, lay["id"], points_geojson, "p.geojson", crs="EPSG:999999")
    assert r.status_code == 422
    _unchanged(client, world, lay, 25)


def test_invalid_and_empty_geometries_are_reported_with_rows(client: Any, world: Any) -> None:
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[105.8, 20.9], [105.81, 20.91], [105.81, 20.9], [105.8, 20.91], [105.8, 20.9]]],
    }
    good = {"type": "Point", "coordinates": [105.81, 20.91]}
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": good, "properties": {"n": 1}},
            {"type": "Feature", "geometry": bowtie, "properties": {"n": 2}},
            {"type": "Feature", "geometry": None, "properties": {"n": 3}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": []}, "properties": {"n": 4}},
            {"type": "Feature", "geometry": good, "properties": {"n": 5}},
        ],
    }
    lay = new_layer(client, world, "bad")
    r = upload(client, world, lay["id"], json.dumps(fc).encode(), "bad.geojson")
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_features"
    rows = [p["row"] for p in err["details"]["problems"]]
    assert rows == [2, 3, 4]
    assert "Self-intersection" in err["details"]["problems"][0]["error"]
    _unchanged(client, world, lay, 0)
    csv = "name,lon,lat\nA,105.81,20.91\nB,,\nC,500,20\n"
    r = upload(client, world, lay["id"], csv.encode(), "bad.csv")
    assert r.status_code == 422, r.text
    probs = r.json()["error"]["details"]["problems"]
    assert [(p["row"], p["line"]) for p in probs] == [(2, 3), (3, 4)]
    _unchanged(client, world, lay, 0)


def test_export_round_trips_in_each_format(
    client: Any, world: Any, points_geojson: bytes, tmp_path: Path
) -> None:
    lay = new_layer(client, world, "exp")
    assert upload(client, world, lay["id"], points_geojson, "pts.geojson").status_code == 200
    for fmt, ext in (("geojson", "geojson"), ("gpkg", "gpkg"), ("csv", "csv")):
        r = client.get(
            f"/api/v1/gis/layers/{lay['id']}/export", params={"format": fmt}, headers=world.auth("admin")
        )
        assert r.status_code == 200, r.text
        path = tmp_path / f"out.{ext}"
        path.write_bytes(r.content)
        opts = {"GEOM_POSSIBLE_NAMES": "WKT", "KEEP_GEOM_COLUMNS": "NO"} if fmt == "csv" else {}
        meta, _, geoms, fields = pyogrio.raw.read(str(path), **opts)
        assert len(geoms) == 25, fmt
        names = list(meta["fields"])
        assert set(fields[names.index("name")]) == {f"p{i}" for i in range(25)}
        xs = sorted(shapely.from_wkb(g).x for g in geoms)
        assert abs(xs[0] - 105.80) < 1e-9
        # and it imports again
        lay2 = new_layer(client, world, f"re-{fmt}")
        assert upload(client, world, lay2["id"], r.content, f"x.{ext}").status_code == 200, fmt
    r = client.get(
        f"/api/v1/gis/layers/{lay['id']}/export",
        params={"format": "geojson", "crs": "EPSG:3405"},
        headers=world.auth("admin"),
    )
    x = json.loads(r.content)["features"][0]["geometry"]["coordinates"][0]
    assert 500_000 < x < 700_000  # UTM easting in metres


def test_drawn_zone_is_saved_and_validated(client: Any, world: Any) -> None:
    lay = new_layer(client, world, "drawn", kind="zones")
    zone = {
        "type": "Polygon",
        "coordinates": [[[105.80, 20.90], [105.81, 20.90], [105.81, 20.91], [105.80, 20.90]]],
    }
    r = client.post(
        f"/api/v1/gis/layers/{lay['id']}/features",
        json={"geometry": zone, "properties": {"n": "z"}},
        headers=world.auth("op_a"),
    )
    assert r.status_code == 201, r.text
    bad = {"type": "Polygon", "coordinates": [[[105.80, 20.90], [105.81, 20.90], [105.81, 20.91]]]}
    r = client.post(
        f"/api/v1/gis/layers/{lay['id']}/features", json={"geometry": bad}, headers=world.auth("op_a")
    )
    assert r.status_code == 400
    assert (
        client.get(f"/api/v1/gis/layers/{lay['id']}", headers=world.auth("admin")).json()["feature_count"]
        == 1
    )
