"""OGC API - Features at /ogc: landing page, conformance, collections, items (bbox, paging, property filters,
datetime), one item, media types; and GDAL's OAPIF driver (ogrinfo) reading it over HTTP."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest

from tests.conftest import serving
from tests.modules.gis.conftest import new_layer, upload

GEOJSON = "application/geo+json"


@pytest.fixture
def ogc_world(client: Any, world: Any, points_geojson: bytes) -> Any:
    lay = new_layer(client, world, "pts", time_enabled=True)
    r = upload(client, world, lay["id"], points_geojson, "pts.geojson", time_field="seen")
    assert r.status_code == 200, r.text
    return world


def test_landing_conformance_collections(client: Any, ogc_world: Any) -> None:
    h = ogc_world.auth("op_a")
    r = client.get("/ogc", headers=h)
    assert r.status_code == 200
    rels = {link["rel"] for link in r.json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conf = client.get("/ogc/conformance", headers=h).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    cols = client.get("/ogc/collections", headers=h).json()["collections"]
    assert [c["id"] for c in cols] == ["pts"]
    col = client.get("/ogc/collections/pts", headers=h).json()
    assert col["extent"]["spatial"]["bbox"] == [[105.80, 20.90, 105.804, 20.904]]
    assert col["extent"]["temporal"]["interval"][0][0].startswith("2026-01-15")
    assert any(link["rel"] == "items" and link["type"] == GEOJSON for link in col["links"])
    assert client.get("/ogc/collections/nope", headers=h).status_code == 404
    assert client.get("/ogc/collections").status_code == 401


def test_items_paging_bbox_filters_datetime(client: Any, ogc_world: Any) -> None:
    h = ogc_world.auth("op_a")
    r = client.get("/ogc/collections/pts/items", params={"limit": 10}, headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith(GEOJSON)
    body = r.json()
    assert body["numberMatched"] == 25 and body["numberReturned"] == 10
    seen, url, pages = [], None, 0
    url = next(link["href"] for link in body["links"] if link["rel"] == "next")
    seen += [f["id"] for f in body["features"]]
    while url:
        pages += 1
        body = client.get(url.replace("http://testserver", ""), headers=h).json()
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert pages == 2 and len(seen) == 25 == len(set(seen))
    # bbox: the 3 x 3 corner of the 5 x 5 grid (steps of 0.001 degrees)
    r = client.get(
        "/ogc/collections/pts/items", params={"bbox": "105.7995,20.8995,105.8025,20.9025"}, headers=h
    )
    assert r.json()["numberMatched"] == 9
    r = client.get("/ogc/collections/pts/items", params={"kind": "school"}, headers=h)
    assert r.json()["numberMatched"] == 5
    assert {f["properties"]["kind"] for f in r.json()["features"]} == {"school"}
    r = client.get("/ogc/collections/pts/items", params={"kind": "school", "name": "p5"}, headers=h)
    assert [f["properties"]["name"] for f in r.json()["features"]] == ["p5"]
    r = client.get("/ogc/collections/pts/items", params={"datetime": "2026-02-01T00:00:00Z/.."}, headers=h)
    assert r.json()["numberMatched"] == 16  # February and March
    r = client.get("/ogc/collections/pts/items", params={"datetime": "2026-01-15T08:00:00Z"}, headers=h)
    assert r.json()["numberMatched"] == 9
    assert client.get("/ogc/collections/pts/items", params={"bbox": "1,2,3"}, headers=h).status_code == 400
    assert client.get("/ogc/collections/pts/items", params={"datetime": "soon"}, headers=h).status_code == 400
    fid = body["features"][0]["id"]
    r = client.get(f"/ogc/collections/pts/items/{fid}", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith(GEOJSON)
    assert r.json()["type"] == "Feature" and r.json()["id"] == fid
    assert client.get("/ogc/collections/pts/items/999999", headers=h).status_code == 404


@pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL's ogrinfo is not installed")
def test_ogrinfo_opens_the_endpoint(settings: Any, ogc_world: Any) -> None:
    from toancanh.app import create_app

    token = ogc_world.tokens["op_a"]
    with serving(create_app(settings), "gis-ogc") as base:  # its own app: the client's runs on another loop
        out = subprocess.run(
            [
                "ogrinfo",
                "-ro",
                "-so",
                "--config",
                "GDAL_HTTP_HEADERS",
                f"Authorization: Bearer {token}",
                f"OAPIF:{base}/ogc",
                "pts",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert "Feature Count: 25" in out.stdout, out.stdout
        assert "Geometry: Point" in out.stdout, out.stdout
        full = subprocess.run(
            [
                "ogrinfo",
                "-ro",
                "-al",
                "-q",
                "--config",
                "GDAL_HTTP_HEADERS",
                f"Authorization: Bearer {token}",
                "--config",
                "OAPIF_PAGE_SIZE",
                "7",
                f"OAPIF:{base}/ogc",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert full.returncode == 0, full.stderr
        assert full.stdout.count("OGRFeature(pts)") == 25  # every page, through the next links
