"""Behaviour of core.geo: GeoJSON validation, distances, and point-in-unit lookups against brute force."""

from __future__ import annotations

import json
import math
from functools import cache
from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toancanh.core.geo import (
    VIETNAM_BBOX,
    GeoError,
    UnitIndex,
    bbox_of,
    feature,
    feature_collection,
    geojson_from_shape,
    haversine_m,
    parse_bbox,
    random_points_in,
    shape_from_geojson,
    synthetic_units,
)


def square(min_lon: float, min_lat: float, size: float) -> dict[str, Any]:
    x0, y0, x1, y1 = min_lon, min_lat, min_lon + size, min_lat + size
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


# A province containing a commune containing a hamlet, given out of order on purpose.
PROVINCE, COMMUNE, HAMLET = 10, 20, 30
NESTED = [
    (HAMLET, square(105.2, 21.2, 0.1), 3),
    (PROVINCE, square(105.0, 21.0, 1.0), 1),
    (COMMUNE, square(105.1, 21.1, 0.4), 2),
]


# ----------------------------------------------------------------------------------------------------------
# UnitIndex, hand-built cases


def test_point_in_square_gives_its_id() -> None:
    index = UnitIndex([(7, square(105.0, 21.0, 1.0), 2)])
    assert index.locate(21.5, 105.5) == [7]
    assert index.locate_one(21.5, 105.5) == 7
    assert len(index) == 1


def test_nested_units_are_ordered_most_specific_first() -> None:
    index = UnitIndex(NESTED)
    assert index.locate(21.25, 105.25) == [HAMLET, COMMUNE, PROVINCE]
    assert index.locate_one(21.25, 105.25) == HAMLET
    assert index.locate_one(21.25, 105.25, level=2) == COMMUNE
    assert index.locate_one(21.25, 105.25, level=1) == PROVINCE
    # In the commune, outside the hamlet.
    assert index.locate(21.45, 105.45) == [COMMUNE, PROVINCE]
    assert index.locate_one(21.45, 105.45, level=3) is None
    assert index.locate_many([(21.25, 105.25), (21.45, 105.45), (21.9, 105.9)]) == [HAMLET, COMMUNE, PROVINCE]


def test_point_outside_every_unit() -> None:
    index = UnitIndex(NESTED)
    assert index.locate(10.7769, 106.7009) == []
    assert index.locate_one(10.7769, 106.7009) is None
    assert index.locate_many([(10.7769, 106.7009)]) == [None]
    assert index.locate(float("nan"), 105.5) == []
    assert index.locate_many([(float("nan"), 105.5)]) == [None]


def test_boundary_points_are_contained() -> None:
    west, east = 1, 2
    index = UnitIndex([(west, square(105.0, 21.0, 1.0), 2), (east, square(106.0, 21.0, 1.0), 2)])
    assert index.locate(21.0, 105.5) == [west]  # on the southern edge
    assert index.locate(21.0, 105.0) == [west]  # on a corner
    # The shared edge belongs to both; the tie is broken by id since the areas are equal.
    assert sorted(index.locate(21.5, 106.0)) == [west, east]
    assert index.locate_one(21.5, 106.0) == west
    assert index.locate_many([(21.5, 106.0), (21.0, 105.0)]) == [west, west]


def test_equal_level_overlap_prefers_smaller_area() -> None:
    index = UnitIndex([(1, square(105.0, 21.0, 1.0), 2), (2, square(105.4, 21.4, 0.2), 2)])
    assert index.locate(21.5, 105.5) == [2, 1]


def test_multipolygon_and_holes() -> None:
    island = {
        "type": "MultiPolygon",
        "coordinates": [square(105.0, 21.0, 1.0)["coordinates"], square(107.0, 21.0, 1.0)["coordinates"]],
    }
    ring = {
        "type": "Polygon",
        "coordinates": [
            square(100.0, 10.0, 1.0)["coordinates"][0],
            square(100.4, 10.4, 0.2)["coordinates"][0],
        ],
    }
    index = UnitIndex([(1, island, 2), (2, ring, 2)])
    assert index.locate(21.5, 107.5) == [1]
    assert index.locate(21.5, 106.5) == []
    assert index.locate(10.1, 100.1) == [2]
    assert index.locate(10.5, 100.5) == []  # in the hole
    assert index.locate(10.4, 100.5) == [2]  # on the hole's edge


def test_empty_index() -> None:
    index = UnitIndex([])
    assert index.locate(21.0, 105.0) == []
    assert index.locate_many([(21.0, 105.0)]) == [None]
    assert index.locate_many([]) == []


def test_index_rejects_bad_units() -> None:
    with pytest.raises(GeoError, match="appears twice"):
        UnitIndex([(1, square(105.0, 21.0, 1.0), 2), (1, square(106.0, 21.0, 1.0), 2)])
    with pytest.raises(GeoError, match="unit 5: a boundary must be a Polygon"):
        UnitIndex([(5, {"type": "Point", "coordinates": [105.0, 21.0]}, 2)])
    with pytest.raises(GeoError, match="unit 6: .*not closed"):
        UnitIndex(
            [(6, {"type": "Polygon", "coordinates": [[[105, 21], [106, 21], [106, 22], [105, 22]]]}, 2)]
        )


def test_locate_many_rejects_bad_shape() -> None:
    with pytest.raises(GeoError, match="lat, lon"):
        UnitIndex(NESTED).locate_many(np.zeros((3, 3)))


# ----------------------------------------------------------------------------------------------------------
# GeoJSON in and out

BOWTIE = [[105, 21], [106, 22], [106, 21], [105, 22], [105, 21]]


@pytest.mark.parametrize(
    ("geom", "message"),
    [
        ("POINT (105 21)", "must be a GeoJSON object"),
        ({"type": "Circle", "coordinates": [105, 21]}, "unsupported geometry type 'Circle'"),
        ({"type": "Point"}, "no 'coordinates'"),
        ({"type": "Point", "coordinates": [105]}, "must be \\[longitude, latitude\\]"),
        ({"type": "Point", "coordinates": ["105", 21]}, "must be \\[longitude, latitude\\]"),
        ({"type": "Point", "coordinates": [True, 21]}, "must be \\[longitude, latitude\\]"),
        ({"type": "Point", "coordinates": [float("nan"), 21]}, "not a finite number"),
        ({"type": "Point", "coordinates": [105, float("inf")]}, "not a finite number"),
        ({"type": "Point", "coordinates": [10**400, 21]}, "too large"),
        ({"type": "Point", "coordinates": [181, 21]}, "longitude outside"),
        ({"type": "Point", "coordinates": [105, -91]}, "latitude outside"),
        ({"type": "LineString", "coordinates": [[105, 21]]}, "at least 2 positions"),
        ({"type": "Polygon", "coordinates": []}, "has no rings"),
        ({"type": "Polygon", "coordinates": "[[...]]"}, "must be an array"),
        ({"type": "Polygon", "coordinates": [[[105, 21], [106, 21], [105, 21]]]}, "at least 4 positions"),
        ({"type": "Polygon", "coordinates": [[[105, 21], [106, 21], [106, 22], [105, 22]]]}, "not closed"),
        ({"type": "Polygon", "coordinates": [BOWTIE]}, "invalid Polygon: Self-intersection"),
        ({"type": "MultiPolygon", "coordinates": []}, "no polygons"),
        ({"type": "MultiPolygon", "coordinates": [[BOWTIE]]}, "invalid MultiPolygon"),
    ],
)
def test_bad_geojson_is_rejected(geom: Any, message: str) -> None:
    with pytest.raises(GeoError, match=message) as info:
        shape_from_geojson(geom)
    assert info.value.vi and info.value.en
    assert isinstance(info.value, ValueError)


def test_error_names_the_bad_position() -> None:
    ring = [[105, 21], [106, 21], [106, 95], [105, 22], [105, 21]]
    with pytest.raises(GeoError, match=r"coordinates\[0\]\[2\]"):
        shape_from_geojson({"type": "Polygon", "coordinates": [ring]})


def test_geojson_round_trip() -> None:
    for geom in (
        square(105.0, 21.0, 1.0),
        {"type": "Point", "coordinates": [105.5, 21.5]},
        {"type": "LineString", "coordinates": [[105.0, 21.0], [106.0, 22.0]]},
    ):
        assert geojson_from_shape(shape_from_geojson(geom)) == geom
    assert json.loads(json.dumps(geojson_from_shape(shapely.box(0, 0, 1, 1))))["type"] == "Polygon"


def test_altitude_is_dropped() -> None:
    assert shape_from_geojson({"type": "Point", "coordinates": [105.0, 21.0, 12.5]}).has_z is False


def test_feature_and_collection() -> None:
    point = {"type": "Point", "coordinates": [105.0, 21.0]}
    assert feature(point, {"name": "Hà Nội"}, id=1) == {
        "type": "Feature",
        "geometry": point,
        "properties": {"name": "Hà Nội"},
        "id": 1,
    }
    assert "id" not in feature(None, {})
    collection = feature_collection([feature(point, {}), feature(None, {})])
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == 2


def test_bbox_of() -> None:
    assert bbox_of(square(105.0, 21.0, 1.0)) == (105.0, 21.0, 106.0, 22.0)
    point = {"type": "Point", "coordinates": [107.0, 10.0]}
    assert bbox_of(feature(point, {})) == (107.0, 10.0, 107.0, 10.0)
    collection = feature_collection(
        [feature(square(105.0, 21.0, 1.0), {}), feature(point, {}), feature(None, {})]
    )
    assert bbox_of(collection) == (105.0, 10.0, 107.0, 22.0)
    with pytest.raises(GeoError, match="nothing has a geometry"):
        bbox_of(feature_collection([]))


def test_parse_bbox() -> None:
    assert parse_bbox("105.1, 20.9,106.0,21.5") == (105.1, 20.9, 106.0, 21.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("105,21,106", "needs 4 numbers"),
        ("105,21,106,22,1", "needs 4 numbers"),
        ("105,21,abc,22", "not a number"),
        ("105,21,nan,22", "non-finite"),
        ("105,21,inf,22", "non-finite"),
        ("105,21,190,22", "longitude outside"),
        ("105,-95,106,22", "latitude outside"),
        ("106,21,105,22", "minimum is greater"),
        ("", "needs 4 numbers"),
    ],
)
def test_parse_bbox_errors(text: str, message: str) -> None:
    with pytest.raises(GeoError, match=message):
        parse_bbox(text)


# ----------------------------------------------------------------------------------------------------------
# Distance


def test_haversine_hanoi_to_ho_chi_minh_city() -> None:
    metres = haversine_m(21.0285, 105.8542, 10.7769, 106.7009)
    assert metres == pytest.approx(1_137_000, abs=10_000)
    assert haversine_m(10.7769, 106.7009, 21.0285, 105.8542) == pytest.approx(metres)
    assert haversine_m(21.0285, 105.8542, 21.0285, 105.8542) == 0.0


# ----------------------------------------------------------------------------------------------------------
# Synthetic data and the index against brute force

MIN_LON, MIN_LAT, MAX_LON, MAX_LAT = VIETNAM_BBOX


@cache
def synthetic() -> tuple[list[tuple[int, dict[str, Any], int]], UnitIndex, Any, Any]:
    units = synthetic_units(200)
    geoms = np.array([shapely.geometry.shape(g) for _, g, _ in units], dtype=object)
    ids = np.array([unit_id for unit_id, _, _ in units])
    return units, UnitIndex(units), geoms, ids


def brute_force(lat: float, lon: float) -> set[int]:
    _, _, geoms, ids = synthetic()
    return {int(i) for i in ids[shapely.covers(geoms, shapely.Point(lon, lat))]}


def test_synthetic_units_tile_the_box() -> None:
    units, _, geoms, ids = synthetic()
    assert len(units) == 200
    assert ids.tolist() == list(range(1, 201))
    assert all(level == 2 for _, _, level in units)
    vertices = [len(g["coordinates"][0]) - 1 for _, g, _ in units]
    assert min(vertices) >= 20
    assert max(vertices) <= 60
    box_area = (MAX_LON - MIN_LON) * (MAX_LAT - MIN_LAT)
    # Non-overlapping and covering: the areas add up to the union, which is the whole box.
    assert shapely.area(geoms).sum() == pytest.approx(box_area, rel=1e-9)
    assert shapely.union_all(geoms).area == pytest.approx(box_area, rel=1e-9)


def test_synthetic_units_are_deterministic() -> None:
    assert synthetic_units(50, seed=3) == synthetic_units(50, seed=3)
    assert synthetic_units(50, seed=3) != synthetic_units(50, seed=4)
    assert synthetic_units(0) == []
    assert len(synthetic_units(1)) == 1


def test_random_points_in() -> None:
    points = random_points_in(VIETNAM_BBOX, 1000, seed=5)
    assert points.shape == (1000, 2)
    assert ((points[:, 0] >= MIN_LAT) & (points[:, 0] <= MAX_LAT)).all()
    assert ((points[:, 1] >= MIN_LON) & (points[:, 1] <= MAX_LON)).all()
    assert np.array_equal(points, random_points_in(VIETNAM_BBOX, 1000, seed=5))


def test_every_point_in_the_box_finds_exactly_one_synthetic_unit() -> None:
    _, index, _, _ = synthetic()
    found = index.locate_many(random_points_in(VIETNAM_BBOX, 20_000, seed=11))
    assert None not in found


lats = st.floats(min_value=MIN_LAT, max_value=MAX_LAT)
lons = st.floats(min_value=MIN_LON, max_value=MAX_LON)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(lat=lats, lon=lons)
def test_locate_one_agrees_with_brute_force(lat: float, lon: float) -> None:
    _, index, _, _ = synthetic()
    expected = brute_force(lat, lon)
    got = index.locate_one(lat, lon)
    if expected:
        assert got in expected
        assert set(index.locate(lat, lon)) == expected
    else:
        assert got is None


@FAST
@given(unit=st.integers(0, 199), vertex=st.integers(0, 59))
def test_vertices_are_contained_like_brute_force(unit: int, vertex: int) -> None:
    units, index, _, _ = synthetic()
    ring = units[unit][1]["coordinates"][0]
    lon, lat = ring[vertex % (len(ring) - 1)]
    expected = brute_force(lat, lon)
    assert units[unit][0] in expected
    assert set(index.locate(lat, lon)) == expected


@settings(max_examples=100, deadline=None)
@given(points=st.lists(st.tuples(lats, lons), max_size=50))
def test_locate_many_agrees_with_locate_one(points: list[tuple[float, float]]) -> None:
    _, index, _, _ = synthetic()
    assert index.locate_many(points) == [index.locate_one(lat, lon) for lat, lon in points]


@given(
    lat=st.floats(min_value=-80, max_value=80),
    lon=st.floats(min_value=-179, max_value=179),
    radius=st.floats(min_value=1, max_value=50_000),
    bearing=st.floats(min_value=0, max_value=360),
)
def test_bbox_around_contains_every_point_within_the_radius(
    lat: float, lon: float, radius: float, bearing: float
) -> None:
    from toancanh.core.geo import EARTH_RADIUS_M, bbox_around

    # a point at 99.9 % of the radius in any direction (great-circle destination formula)
    d, b, p1, l1 = (
        radius * 0.999 / EARTH_RADIUS_M,
        math.radians(bearing),
        math.radians(lat),
        math.radians(lon),
    )
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    lat2, lon2 = math.degrees(p2), math.degrees(l2)
    assert haversine_m(lat, lon, lat2, lon2) <= radius
    minlon, minlat, maxlon, maxlat = bbox_around(lat, lon, radius)
    assert minlat <= lat2 <= maxlat and minlon <= lon2 <= maxlon
