"""The demo commune's synthetic geography: deterministic, the right size, hamlets that partition it, assets
inside their hamlets."""

from __future__ import annotations

import itertools
import json
import math
import unicodedata
from collections import Counter

import pytest
import shapely
from shapely.geometry import Point, shape

from toancanh.demo.geography import (
    DOMAINS,
    SYNTHETIC_NOTE_EN,
    SYNTHETIC_NOTE_VI,
    DemoGeography,
    area_km2,
    build_demo,
)


@pytest.fixture(scope="module")
def demo() -> DemoGeography:
    return build_demo()


def _equirect_area_km2(ring: list[list[float]]) -> float:
    """Shoelace area of a lon/lat ring in local equirectangular metres, independent of the module's helper."""
    lat0 = sum(lat for _, lat in ring) / len(ring)
    kx = 111_320.0 * math.cos(math.radians(lat0))
    ky = 110_700.0  # metres per degree of latitude near 21° N
    pts = [(lon * kx, lat * ky) for lon, lat in ring]
    s = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in itertools.pairwise(pts))
    return abs(s) / 2 / 1e6


def _is_vietnamese_text(s: str) -> bool:
    return (
        isinstance(s, str)
        and s.strip() == s
        and len(s) > 0
        and unicodedata.normalize("NFC", s) == s
        and any(ord(c) > 127 and c.isalpha() for c in s)  # at least one letter with a diacritic
    )


def test_deterministic() -> None:
    a, b = build_demo(), build_demo()
    assert a == b
    assert json.dumps(a.to_feature_collection()) == json.dumps(b.to_feature_collection())
    assert build_demo(664) == a
    other = build_demo(1)
    assert other.commune.boundary != a.commune.boundary
    assert [h.name for h in other.hamlets] == [h.name for h in a.hamlets]


def test_commune_identity(demo: DemoGeography) -> None:
    c = demo.commune
    assert c.code == "00664"
    assert c.name == "Xã Đại Thanh"
    assert c.province_code == "01"
    assert c.population == 110_000
    assert c.established == "2025-07-01"
    assert len(c.former_units) == 6
    assert "mô phỏng" in SYNTHETIC_NOTE_VI
    assert "not official" in SYNTHETIC_NOTE_EN


def test_commune_matches_official_register(demo: DemoGeography) -> None:
    vp = pytest.importorskip("vietnam_provinces")
    ward = vp.Ward.from_code(664)
    assert ward.name == demo.commune.name
    assert str(ward.province_code.value).zfill(2) == demo.commune.province_code


def test_boundary_shape_and_area(demo: DemoGeography) -> None:
    b = demo.commune.boundary
    assert b["type"] == "Polygon"
    ring = b["coordinates"][0]
    assert ring[0] == ring[-1]
    assert 24 <= len(ring) - 1 <= 40
    poly = shape(b)
    assert poly.is_valid
    assert shapely.is_ccw(poly.exterior)  # RFC 7946 exterior ring orientation
    # about 19 km², two independent computations
    assert 17.0 <= _equirect_area_km2(ring) <= 21.0
    assert 17.0 <= area_km2(b) <= 21.0
    assert abs(area_km2(b) - demo.commune.area_km2) < 0.01
    # in [lon, lat] order, in the former Thanh Trì district south of central Hanoi
    minx, miny, maxx, maxy = poly.bounds
    assert 105.77 <= minx < maxx <= 105.87
    assert 20.89 <= miny < maxy <= 20.98
    assert poly.contains(Point(demo.commune.center_lon, demo.commune.center_lat))
    # irregular, not a circle: the distance from the centroid to the vertices varies a lot
    c = poly.centroid
    kx = math.cos(math.radians(c.y))
    radii = [math.hypot((x - c.x) * kx, y - c.y) for x, y in ring[:-1]]
    assert max(radii) / min(radii) > 1.15


def test_hamlets_partition_the_commune(demo: DemoGeography) -> None:
    assert 12 <= len(demo.hamlets) <= 16
    boundary = shape(demo.commune.boundary)
    polys = [shape(h.boundary) for h in demo.hamlets]
    for p in polys:
        assert p.geom_type == "Polygon"
        assert p.is_valid
        assert p.area > 0
    union = shapely.union_all(polys)
    assert abs(union.area - boundary.area) / boundary.area < 1e-3
    assert union.symmetric_difference(boundary).area / boundary.area < 1e-3
    overlap = sum(a.intersection(b).area for a, b in itertools.combinations(polys, 2))
    assert overlap / boundary.area < 1e-6
    assert abs(sum(h.area_km2 for h in demo.hamlets) - demo.commune.area_km2) < 0.05


def test_hamlet_codes_names_population(demo: DemoGeography) -> None:
    codes = [h.code for h in demo.hamlets]
    assert codes == [f"00664{i:02d}" for i in range(1, len(codes) + 1)]
    assert sum(h.population for h in demo.hamlets) == 110_000
    assert all(h.population > 1000 for h in demo.hamlets)
    kinds = Counter(h.kind for h in demo.hamlets)
    assert set(kinds) == {"thôn", "tổ dân phố"}
    assert kinds["thôn"] > kinds["tổ dân phố"] >= 2
    for h in demo.hamlets:
        prefix = "Thôn " if h.kind == "thôn" else "Tổ dân phố "
        assert h.name.startswith(prefix)
        assert shape(h.boundary).contains(Point(h.center_lon, h.center_lat))
    assert len({h.name for h in demo.hamlets}) == len(demo.hamlets)


def test_agencies(demo: DemoGeography) -> None:
    assert 12 <= len(demo.agencies) <= 18
    codes = [a.code for a in demo.agencies]
    assert len(set(codes)) == len(codes)
    assert {"ubnd", "dang-uy", "ioc", "cong-an", "tram-y-te", "htx-moi-truong"} <= set(codes)
    units = {demo.commune.code} | {h.code for h in demo.hamlets}
    boundary = shape(demo.commune.boundary)
    for a in demo.agencies:
        assert a.domains and set(a.domains) <= set(DOMAINS)
        assert a.unit_code in units
        assert a.kind
        assert a.name_en
        assert boundary.contains(Point(a.lon, a.lat))
        assert shape(demo.hamlet(a.hamlet_code).boundary).contains(Point(a.lon, a.lat))
    covered = set().union(*(a.domains for a in demo.agencies if a.kind not in {"party", "government", "ioc"}))
    assert covered == set(DOMAINS)  # every domain has an agency responsible for it


def test_assets_inside_boundary_and_their_hamlet(demo: DemoGeography) -> None:
    boundary = shape(demo.commune.boundary)
    codes = [a.code for a in demo.assets]
    assert len(set(codes)) == len(codes)
    agency_codes = {a.code for a in demo.agencies}
    assert not agency_codes & set(codes)
    for a in demo.assets:
        pt = Point(a.lon, a.lat)
        assert boundary.contains(pt), a.code
        assert boundary.exterior.distance(pt) > 1e-5, a.code  # strictly inside, not on the edge
        assert shape(demo.hamlet(a.hamlet_code).boundary).contains(pt), a.code
        assert demo.hamlet_at(a.lat, a.lon) == demo.hamlet(a.hamlet_code)
        assert a.domain in DOMAINS
    assert demo.hamlet_at(21.03, 105.85) is None  # Hoàn Kiếm is not in Đại Thanh


def test_assets_spread_across_hamlets(demo: DemoGeography) -> None:
    per_hamlet = Counter(a.hamlet_code for a in demo.assets)
    assert set(per_hamlet) == {h.code for h in demo.hamlets}
    assert max(per_hamlet.values()) <= len(demo.assets) / 4
    assert len({a.hamlet_code for a in demo.assets_of_type("school")}) >= 12
    assert len({a.hamlet_code for a in demo.assets_of_type("camera")}) >= 10
    assert len({a.hamlet_code for a in demo.assets_of_type("sensor")}) >= 8
    # distinct schools are not on top of each other
    schools = demo.assets_of_type("school")
    for s1, s2 in itertools.combinations(schools, 2):
        assert math.hypot((s1.lon - s2.lon) * 104_000, (s1.lat - s2.lat) * 110_700) > 100


def test_schools_and_kitchens(demo: DemoGeography) -> None:
    schools = demo.assets_of_type("school")
    assert len(schools) == 20
    levels = Counter(s.attributes["level"] for s in schools)
    assert set(levels) == {"preschool", "primary", "lower_secondary", "upper_secondary"}
    assert any(s.name == "Trường Tiểu học Vĩnh Quỳnh" for s in schools)
    for s in schools:
        assert s.domain == "education"
        assert s.name.startswith("Trường ")
        assert 100 <= s.attributes["students"] <= 2500
        assert isinstance(s.attributes["has_kitchen"], bool)
    kitchens = demo.assets_of_type("kitchen")
    with_kitchen = {s.code for s in schools if s.attributes["has_kitchen"]}
    assert {k.attributes["school_code"] for k in kitchens} == with_kitchen
    assert len(kitchens) == len(with_kitchen) >= 7
    by_code = {a.code: a for a in demo.assets}
    for k in kitchens:
        s = by_code[k.attributes["school_code"]]
        assert k.domain == "education"
        assert math.hypot((k.lon - s.lon) * 104_000, (k.lat - s.lat) * 110_700) < 100


def test_cameras(demo: DemoGeography) -> None:
    cams = demo.assets_of_type("camera")
    groups = Counter(c.attributes["group"] for c in cams)
    schools = [s for s in demo.assets_of_type("school") if s.attributes["level"] != "preschool"]
    gates = demo.assets_of_type("camera", "school_gate")
    assert sorted(c.attributes["target_code"] for c in gates) == sorted(s.code for s in schools)
    assert 8 <= groups["intersection"] <= 12
    assert groups["waste_point"] == len(demo.assets_of_type("waste_point"))
    assert 1 <= groups["kitchen"] <= len(demo.assets_of_type("kitchen"))
    domain = {"school_gate": "education", "intersection": "traffic", "waste_point": "environment"}
    domain["kitchen"] = "education"
    for c in cams:
        a = c.attributes
        assert c.domain == domain[a["group"]]
        assert a["stream_url"].startswith("rtsp://demo.invalid/")
        assert a["substream_url"].startswith("rtsp://demo.invalid/")
        assert 0 <= a["direction_deg"] < 360
        assert a["ai_features"] and all(isinstance(f, str) for f in a["ai_features"])
    intersections = [c.name for c in demo.assets_of_type("camera", "intersection")]
    assert "Camera Ngã tư Ngọc Hồi - Phan Trọng Tuệ" in intersections


def test_waste_sensors_hydrants(demo: DemoGeography) -> None:
    wps = demo.assets_of_type("waste_point")
    assert 6 <= len(wps) <= 10
    assert all(w.domain == "environment" for w in wps)
    sensors = demo.assets_of_type("sensor")
    kinds = Counter(s.attributes["sensor_kind"] for s in sensors)
    assert kinds == {"air": 6, "water": 4, "noise": 4, "flood": 3}
    for s in sensors:
        a = s.attributes
        assert a["measures"] and a["unit_of_measure"] and a["heartbeat_s"] > 0
    air = [s for s in sensors if s.attributes["sensor_kind"] == "air"]
    assert all(s.attributes["measures"] == ["pm25", "pm10"] and s.domain == "environment" for s in air)
    water = [s for s in sensors if s.attributes["sensor_kind"] == "water"]
    assert all(s.attributes["measures"] == ["water_level_cm"] for s in water)
    hydrants = demo.assets_of_type("hydrant")
    assert len(hydrants) == 6
    assert all(h.domain == "security" for h in hydrants)


def test_names_are_vietnamese(demo: DemoGeography) -> None:
    names = [demo.commune.name]
    names += [h.name for h in demo.hamlets]
    names += [a.name for a in demo.agencies]
    names += [a.name for a in demo.assets]
    for n in names:
        assert _is_vietnamese_text(n), n


def test_feature_collection(demo: DemoGeography) -> None:
    fc = demo.to_feature_collection()
    assert fc["type"] == "FeatureCollection"
    feats = fc["features"]
    assert len(feats) == 1 + len(demo.hamlets) + len(demo.agencies) + len(demo.assets)
    assert Counter(f["properties"]["layer"] for f in feats) == {
        "commune": 1,
        "hamlet": len(demo.hamlets),
        "agency": len(demo.agencies),
        "asset": len(demo.assets),
    }
    json.dumps(fc, ensure_ascii=False)  # serialisable
    for f in feats:
        if f["geometry"]["type"] == "Point":
            lon, lat = f["geometry"]["coordinates"]
            assert 105 < lon < 106 and 20 < lat < 21  # [lon, lat] order


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5, 6, 7])
def test_other_seeds_are_valid(seed: int) -> None:
    d = build_demo(seed)
    boundary = shape(d.commune.boundary)
    polys = [shape(h.boundary) for h in d.hamlets]
    assert 17.0 <= d.commune.area_km2 <= 21.0
    assert abs(shapely.union_all(polys).area - boundary.area) / boundary.area < 1e-3
    assert sum(h.population for h in d.hamlets) == 110_000
    for a in d.assets:
        assert shape(d.hamlet(a.hamlet_code).boundary).contains(Point(a.lon, a.lat))
