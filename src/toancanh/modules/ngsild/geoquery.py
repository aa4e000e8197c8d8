"""NGSI-LD geo-queries (truy vấn không gian): `georel`, `geometry`, `coordinates`, `geoproperty`.

georel is `near;maxDistance==<m>` or `near;minDistance==<m>` (geometry Point), `within`, `contains`,
`intersects`, `equals`, `disjoint` or `overlaps`. The test runs in Python with shapely (core.geo) on both
databases, so SQLite and PostgreSQL give the same answers; the database only narrows the candidates by the
bounding box columns of each entity's `location`. Distances are great-circle metres (haversine) from the
reference point to the nearest point of the entity's geometry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import orjson
import shapely
from shapely.geometry import shape as shapely_shape
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from toancanh.core.geo import GeoError, bbox_around, haversine_m, shape_from_geojson
from toancanh.modules.ngsild.errors import bad_data

RELATIONS = ("near", "within", "contains", "intersects", "equals", "disjoint", "overlaps")
GEOMETRIES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")


@dataclass
class GeoQuery:
    rel: str
    shape: BaseGeometry
    geoproperty: str  # expanded name
    max_distance: float | None = None
    min_distance: float | None = None

    def bbox(self) -> tuple[float, float, float, float] | None:
        """The (min lon, min lat, max lon, max lat) an entity's geometry must intersect, or None (no hint)."""
        if self.rel in ("disjoint",) or (self.rel == "near" and self.max_distance is None):
            return None
        if self.rel == "near":
            assert self.max_distance is not None
            p = self.shape
            return bbox_around(p.y, p.x, self.max_distance * 1.001 + 1)
        b = self.shape.bounds
        return (b[0], b[1], b[2], b[3])

    def test(self, geojson: Any) -> bool:
        try:
            geom = to_shape(geojson)
        except (GeoError, ValueError, TypeError, AttributeError, shapely.errors.GEOSException):
            return False
        q = self.shape
        if self.rel == "near":
            d = distance_m(q, geom)
            if self.max_distance is not None and d > self.max_distance:
                return False
            return self.min_distance is None or d >= self.min_distance
        if self.rel == "within":
            return bool(geom.within(q))
        if self.rel == "contains":
            return bool(geom.contains(q))
        if self.rel == "intersects":
            return bool(geom.intersects(q))
        if self.rel == "equals":
            return bool(geom.equals(q))
        if self.rel == "disjoint":
            return bool(geom.disjoint(q))
        return bool(geom.overlaps(q))


def to_shape(geojson: Any) -> BaseGeometry:
    """A shapely geometry of a GeoJSON geometry: core.geo validates the types it knows, shapely the rest."""
    kind = geojson.get("type") if isinstance(geojson, dict) else None
    if kind in ("Point", "LineString", "Polygon", "MultiPolygon"):
        return shape_from_geojson(geojson)
    if kind in ("MultiPoint", "MultiLineString"):
        return shapely_shape(geojson)
    raise ValueError(f"unsupported geometry {kind!r}")


def distance_m(point: BaseGeometry, geom: BaseGeometry) -> float:
    if geom.geom_type == "Point":
        nearest = geom
    elif geom.covers(point):
        return 0.0
    else:
        nearest = nearest_points(point, geom)[1]
    return haversine_m(point.y, point.x, nearest.y, nearest.x)


def parse(
    georel: str | None, geometry: str | None, coordinates: str | None, geoproperty: str
) -> GeoQuery | None:
    """The geo-query of a request's parameters, None without any; BadRequestData when incomplete or wrong."""
    if not georel and not geometry and not coordinates:
        return None
    if not (georel and geometry and coordinates):
        raise bad_data("a geo-query needs georel, geometry and coordinates together")
    parts = georel.split(";")
    rel = parts[0]
    if rel not in RELATIONS:
        raise bad_data(f"georel {rel!r} is not one of {', '.join(RELATIONS)}")
    if geometry not in GEOMETRIES:
        raise bad_data(f"geometry {geometry!r} is not one of {', '.join(GEOMETRIES)}")
    try:
        coords = orjson.loads(coordinates)
    except orjson.JSONDecodeError:
        raise bad_data("coordinates must be a JSON array") from None
    try:
        shape = to_shape({"type": geometry, "coordinates": coords})
    except (GeoError, ValueError, TypeError, IndexError, shapely.errors.GEOSException) as exc:
        raise bad_data(f"invalid {geometry} coordinates: {exc}") from None
    q = GeoQuery(rel, shape, geoproperty)
    if rel == "near":
        if geometry != "Point":
            raise bad_data("georel near needs geometry Point")
        for mod in parts[1:]:
            name, sep, raw = mod.partition("==")
            try:
                value = float(raw)
            except ValueError:
                raise bad_data(f"bad near modifier {mod!r}") from None
            if not sep or not math.isfinite(value) or value < 0:
                raise bad_data(f"bad near modifier {mod!r}")
            if name == "maxDistance":
                q.max_distance = value
            elif name == "minDistance":
                q.min_distance = value
            else:
                raise bad_data(f"bad near modifier {mod!r}")
        if q.max_distance is None and q.min_distance is None:
            raise bad_data("georel near needs maxDistance or minDistance")
    elif len(parts) > 1:
        raise bad_data(f"georel {rel} takes no modifiers")
    return q


def bounds_of(geojson: Any) -> tuple[float, float, float, float] | None:
    """The bounding box of a GeoJSON geometry, or None when it is not one."""
    try:
        b = to_shape(geojson).bounds
    except (GeoError, ValueError, TypeError, AttributeError, shapely.errors.GEOSException):
        return None
    return (b[0], b[1], b[2], b[3])
