"""Geometry for the platform: GeoJSON in and out, distances, and point-in-unit lookups.

Conventions used throughout:

- GeoJSON positions are ``[longitude, latitude]`` (RFC 7946). Functions that take a single point name
  the order in their parameters and use ``(lat, lon)``, the order people read coordinates aloud and the
  order of ``UnitIndex.locate_many``'s point tuples.
- Input GeoJSON is **validated, never repaired**: an unclosed ring, a self-intersecting polygon or a
  coordinate out of range raises ``GeoError`` with a message in Vietnamese and English. We do not call
  ``shapely.make_valid``, because a silently repaired boundary would put citizens' reports in the wrong
  commune without anyone noticing. A third position element (altitude) is accepted and dropped: the
  operations center works in 2D.
- A point on a unit's boundary counts as inside the unit (``covers`` semantics, not ``contains``). A point
  on the border of two communes belongs to both; ``UnitIndex.locate_one`` picks one deterministically.

No database access here: pure functions plus ``UnitIndex``, an in-memory index (shapely ``STRtree``) that
services build from the units table.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

__all__ = [
    "BBox",
    "GeoError",
    "VIETNAM_BBOX",
    "ShapeIndex",
    "UnitIndex",
    "bbox_of",
    "feature",
    "feature_collection",
    "geojson_from_shape",
    "haversine_m",
    "parse_bbox",
    "random_points_in",
    "shape_from_geojson",
    "synthetic_units",
]

BBox = tuple[float, float, float, float]
"""``(min_lon, min_lat, max_lon, max_lat)``, the GeoJSON ``bbox`` order."""

Float2D = npt.NDArray[np.float64]

EARTH_RADIUS_M: Final = 6_371_008.8
"""Mean Earth radius (IUGG), the usual choice for haversine distances."""

VIETNAM_BBOX: Final[BBox] = (102.1, 8.5, 109.5, 23.4)
"""Mainland Viet Nam, roughly; the default extent of synthetic data."""

SUPPORTED_TYPES: Final = ("Point", "LineString", "Polygon", "MultiPolygon")

_NUMBER_TYPES: Final = frozenset({int, float, np.float64, np.float32, np.int64, np.int32})
# Points per locate_many chunk: bounds the memory of the temporary shapely points and candidate pairs.
_BATCH_CHUNK: Final = 65_536


class GeoError(ValueError):
    """Bad geometry input (*dữ liệu hình học không hợp lệ*), caused by the user; the message is bilingual.

    ``str(error)`` is ``"<Vietnamese> / <English>"``; ``.vi`` and ``.en`` hold each half.
    """

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(f"{vi} / {en}")
        self.vi = vi
        self.en = en

    def __reduce__(self) -> tuple[type[GeoError], tuple[str, str]]:
        return (GeoError, (self.vi, self.en))  # survives pickling to worker processes


# ----------------------------------------------------------------------------------------------------------
# GeoJSON in


def shape_from_geojson(geom: Mapping[str, Any]) -> BaseGeometry:
    """Build a shapely geometry from a GeoJSON geometry object, rejecting anything that is not clean.

    Accepts Point, LineString, Polygon and MultiPolygon. Raises ``GeoError`` for any other type, a malformed
    coordinate array, a non-finite coordinate, a longitude outside [-180, 180], a latitude outside [-90, 90],
    a ring with fewer than 4 positions or not closed, and a geometry shapely finds invalid
    (self-intersection, ...).
    """
    if not isinstance(geom, Mapping):
        raise GeoError("Hình học phải là một đối tượng GeoJSON", "geometry must be a GeoJSON object")
    gtype = geom.get("type")
    if gtype not in SUPPORTED_TYPES:
        allowed = ", ".join(SUPPORTED_TYPES)
        raise GeoError(
            f"Kiểu hình học {gtype!r} không được hỗ trợ (chỉ nhận {allowed})",
            f"unsupported geometry type {gtype!r} (expected one of {allowed})",
        )
    if "coordinates" not in geom:
        raise GeoError("Hình học thiếu trường 'coordinates'", "geometry has no 'coordinates' member")
    coords = geom["coordinates"]

    shape: BaseGeometry
    if gtype == "Point":
        shape = shapely.Point(_positions([coords], "coordinates", indexed=False)[0])
    elif gtype == "LineString":
        line = _positions(coords, "coordinates")
        if len(line) < 2:
            raise GeoError("Đường cần ít nhất 2 vị trí", "a LineString needs at least 2 positions")
        shape = shapely.LineString(line)
    elif gtype == "Polygon":
        shape = _polygon(coords, "coordinates")
    else:
        parts = _array(coords, "coordinates")
        if not parts:
            raise GeoError("MultiPolygon không có đa giác nào", "MultiPolygon has no polygons")
        shape = shapely.MultiPolygon([_polygon(part, f"coordinates[{i}]") for i, part in enumerate(parts)])

    if not shapely.is_valid(shape):
        reason = shapely.is_valid_reason(shape)
        raise GeoError(f"Hình học {gtype} không hợp lệ: {reason}", f"invalid {gtype}: {reason}")
    return shape


def _array(value: object, path: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise GeoError(f"'{path}' phải là một mảng", f"'{path}' must be an array")
    return value


def _positions(value: object, path: str, *, indexed: bool = True) -> Float2D:
    """Validate an array of GeoJSON positions; return it as an (n, 2) float array of (lon, lat).

    ``indexed=False`` names errors by ``path`` alone (a Point's single position) instead of ``path[i]``.
    """
    items = _array(value, path)
    xy: list[tuple[float, float]] = []
    for i, p in enumerate(items):
        if (
            not isinstance(p, list | tuple)
            or not 2 <= len(p) <= 3
            or any(type(v) not in _NUMBER_TYPES for v in p)
        ):
            where = f"{path}[{i}]" if indexed else path
            raise GeoError(
                f"Vị trí tại '{where}' phải có dạng [kinh độ, vĩ độ], nhận được {p!r}",
                f"position at '{where}' must be [longitude, latitude], got {p!r}",
            )
        xy.append((p[0], p[1]))
    try:
        arr = np.array(xy, dtype=np.float64).reshape(-1, 2)
    except OverflowError:
        raise GeoError(
            f"Toạ độ tại '{path}' quá lớn", f"a coordinate at '{path}' is too large to be a number"
        ) from None
    _check_ranges(arr, path, indexed)
    return arr


def _check_ranges(arr: Float2D, path: str, indexed: bool) -> None:
    checks = (
        (~np.isfinite(arr).all(axis=1), "không phải số hữu hạn", "is not a finite number"),
        (np.abs(arr[:, 0]) > 180.0, "có kinh độ ngoài [-180, 180]", "has a longitude outside [-180, 180]"),
        (np.abs(arr[:, 1]) > 90.0, "có vĩ độ ngoài [-90, 90]", "has a latitude outside [-90, 90]"),
    )
    for bad, vi, en in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            lon, lat = arr[i].tolist()
            where = f"{path}[{i}]" if indexed else path
            raise GeoError(
                f"Vị trí [{lon}, {lat}] tại '{where}' {vi}", f"position [{lon}, {lat}] at '{where}' {en}"
            )


def _polygon(value: object, path: str) -> BaseGeometry:
    rings_in = _array(value, path)
    if not rings_in:
        raise GeoError(f"Đa giác tại '{path}' không có vòng nào", f"polygon at '{path}' has no rings")
    rings: list[Float2D] = []
    for i, ring_in in enumerate(rings_in):
        where = f"{path}[{i}]"
        ring = _positions(ring_in, where)
        if len(ring) < 4:
            raise GeoError(
                f"Vòng tại '{where}' cần ít nhất 4 vị trí, có {len(ring)}",
                f"ring at '{where}' needs at least 4 positions, has {len(ring)}",
            )
        if not np.array_equal(ring[0], ring[-1]):
            raise GeoError(
                f"Vòng tại '{where}' chưa khép kín: vị trí đầu và cuối phải trùng nhau",
                f"ring at '{where}' is not closed: its first and last positions must be equal",
            )
        rings.append(ring)
    return shapely.Polygon(rings[0], rings[1:])


# ----------------------------------------------------------------------------------------------------------
# GeoJSON out


def geojson_from_shape(shape: BaseGeometry) -> dict[str, Any]:
    """The GeoJSON geometry object of a shapely geometry; lists, not tuples, so it equals parsed JSON."""
    return cast(dict[str, Any], _listify(shapely.geometry.mapping(shape)))


def _listify(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_listify(v) for v in value]
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    return value


def feature(
    geometry: Mapping[str, Any] | None, properties: Mapping[str, Any], id: int | str | None = None
) -> dict[str, Any]:
    """A GeoJSON Feature; ``id`` is left out when None."""
    out: dict[str, Any] = {
        "type": "Feature",
        "geometry": dict(geometry) if geometry is not None else None,
        "properties": dict(properties),
    }
    if id is not None:
        out["id"] = id
    return out


def feature_collection(features: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A GeoJSON FeatureCollection."""
    return {"type": "FeatureCollection", "features": [dict(f) for f in features]}


def bbox_of(geom: Mapping[str, Any]) -> BBox:
    """``(min_lon, min_lat, max_lon, max_lat)`` of a GeoJSON geometry, Feature or FeatureCollection.

    Geometries are validated as in ``shape_from_geojson``. Features without geometry are skipped; raises
    ``GeoError`` when nothing has a geometry.
    """
    if isinstance(geom, Mapping) and geom.get("type") == "FeatureCollection":
        geometries = [f.get("geometry") for f in _array(geom.get("features"), "features")]
    elif isinstance(geom, Mapping) and geom.get("type") == "Feature":
        geometries = [geom.get("geometry")]
    else:
        geometries = [geom]
    bounds = [shape_from_geojson(g).bounds for g in geometries if g is not None]
    if not bounds:
        raise GeoError(
            "Không có hình học nào để tính khung bao", "nothing has a geometry to take the bbox of"
        )
    arr = np.array(bounds, dtype=np.float64)
    return (float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max()))


def parse_bbox(text: str) -> BBox:
    """Parse ``"min_lon,min_lat,max_lon,max_lat"`` (a map view, a ``?bbox=`` query parameter).

    Raises ``GeoError`` unless there are exactly four finite numbers with longitudes in [-180, 180],
    latitudes in [-90, 90] and each minimum no greater than its maximum. Boxes crossing the antimeridian
    are not supported.
    """
    parts = str(text).split(",")
    if len(parts) != 4:
        raise GeoError(
            f"Khung bao cần 4 số 'kinh_min,vĩ_min,kinh_max,vĩ_max', nhận được {text!r}",
            f"bbox needs 4 numbers 'min_lon,min_lat,max_lon,max_lat', got {text!r}",
        )
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise GeoError(
            f"Khung bao {text!r} chứa giá trị không phải số",
            f"bbox {text!r} contains a value that is not a number",
        ) from None
    if not all(math.isfinite(v) for v in values):
        raise GeoError(
            f"Khung bao {text!r} chứa số không hữu hạn", f"bbox {text!r} contains a non-finite number"
        )
    min_lon, min_lat, max_lon, max_lat = values
    if not (-180.0 <= min_lon <= 180.0 and -180.0 <= max_lon <= 180.0):
        raise GeoError(
            f"Kinh độ của khung bao {text!r} ngoài [-180, 180]",
            f"bbox {text!r} longitude outside [-180, 180]",
        )
    if not (-90.0 <= min_lat <= 90.0 and -90.0 <= max_lat <= 90.0):
        raise GeoError(
            f"Vĩ độ của khung bao {text!r} ngoài [-90, 90]", f"bbox {text!r} latitude outside [-90, 90]"
        )
    if min_lon > max_lon or min_lat > max_lat:
        raise GeoError(
            f"Khung bao {text!r}: giá trị nhỏ nhất lớn hơn giá trị lớn nhất",
            f"bbox {text!r}: a minimum is greater than its maximum",
        )
    return (min_lon, min_lat, max_lon, max_lat)


# ----------------------------------------------------------------------------------------------------------
# Distance


def bbox_around(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(minlon, minlat, maxlon, maxlat) of a box that contains every point within `radius_m` of (lat, lon).

    A cheap pre-filter for an indexed range query; confirm candidates with `haversine_m`.
    """
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(0.01, math.cos(math.radians(lat)))
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres on a spherical Earth (error under 0.5 % against the ellipsoid)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2.0 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


# ----------------------------------------------------------------------------------------------------------
# Point in unit


class UnitIndex:
    """Which administrative units (*đơn vị hành chính*) contain a point.

    Built from ``(unit_id, GeoJSON Polygon/MultiPolygon, level)`` triples, level 1 province (*tỉnh*),
    2 commune or ward (*xã, phường*), 3 hamlet or residential group (*thôn, tổ dân phố*). Units of every
    level live in one index.

    Answers are ordered most specific first: highest level first, then smaller area, then smaller id, so the
    order is deterministic even where two units of one level overlap or share a border. Boundary points are
    inside (``covers`` semantics).

    How it is fast: an ``STRtree`` over the unit envelopes gives candidates, then ``shapely.intersects_xy``
    tests the point against each candidate's *prepared* geometry. We deliberately do not use
    ``STRtree.query(..., predicate=...)``: shapely prepares the query point there, not the tree's polygons,
    so each test walks every edge of the polygon; on a 50,000-vertex boundary that is ~800 times slower.
    Units are stored in answer order, so "most specific" is simply the smallest tree index.
    """

    def __init__(self, units: Iterable[tuple[int, Mapping[str, Any], int]]) -> None:
        ids: list[int] = []
        levels: list[int] = []
        shapes: list[BaseGeometry] = []
        seen: set[int] = set()
        for unit_id, geometry, level in units:
            if unit_id in seen:
                raise GeoError(f"Đơn vị {unit_id} xuất hiện hai lần", f"unit {unit_id} appears twice")
            seen.add(unit_id)
            try:
                shape = shape_from_geojson(geometry)
            except GeoError as exc:
                raise GeoError(f"Đơn vị {unit_id}: {exc.vi}", f"unit {unit_id}: {exc.en}") from None
            if shape.geom_type not in ("Polygon", "MultiPolygon"):
                raise GeoError(
                    f"Đơn vị {unit_id}: ranh giới phải là Polygon hoặc MultiPolygon, "
                    f"không phải {shape.geom_type}",
                    f"unit {unit_id}: a boundary must be a Polygon or MultiPolygon, not {shape.geom_type}",
                )
            ids.append(int(unit_id))
            levels.append(int(level))
            shapes.append(shape)

        geoms = np.empty(len(shapes), dtype=object)
        geoms[:] = shapes
        id_arr = np.array(ids, dtype=np.int64)
        level_arr = np.array(levels, dtype=np.int64)
        order = np.lexsort((id_arr, shapely.area(geoms), -level_arr))  # last key is the primary one
        self._geoms: npt.NDArray[np.object_] = geoms[order]
        self._ids = id_arr[order]
        self._levels = level_arr[order]
        # Python ints plus a trailing None: "no hit" (index == len) maps to None without a Python loop.
        self._ids_or_none: npt.NDArray[np.object_] = np.empty(len(ids) + 1, dtype=object)
        self._ids_or_none[:-1] = self._ids.tolist()
        shapely.prepare(self._geoms)
        self._tree = shapely.STRtree(self._geoms)

    def __len__(self) -> int:
        return len(self._ids)

    def _hits(self, lat: float, lon: float) -> npt.NDArray[np.intp]:
        """Tree indices of the units covering the point, most specific first."""
        if not (math.isfinite(lat) and math.isfinite(lon)):
            return np.empty(0, dtype=np.intp)
        # Annotated assignments rather than cast(): this path runs per request, cast's argument is evaluated.
        candidates: npt.NDArray[np.intp] = self._tree.query(shapely.Point(lon, lat))
        inside: npt.NDArray[np.bool_] = shapely.intersects_xy(self._geoms[candidates], lon, lat)
        return np.sort(candidates[inside])

    def locate(self, lat: float, lon: float) -> list[int]:
        """Ids of every unit containing the point, most specific first: ``[hamlet, commune, province]``."""
        ids: list[int] = self._ids[self._hits(lat, lon)].tolist()
        return ids

    def locate_one(self, lat: float, lon: float, level: int | None = None) -> int | None:
        """The most specific unit containing the point, or the one of ``level``; None when there is none."""
        hits = self._hits(lat, lon)
        if level is not None:
            hits = hits[self._levels[hits] == level]
        return int(self._ids[hits[0]]) if hits.size else None

    def locate_many(self, points: Sequence[Sequence[float]] | Float2D) -> list[int | None]:
        """``locate_one`` for each ``(lat, lon)`` point, vectorised; a list of pairs or an (n, 2) array."""
        arr = np.asarray(points, dtype=np.float64)
        if arr.size == 0:
            return []
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise GeoError(
                f"Danh sách điểm phải có dạng (vĩ độ, kinh độ), nhận được mảng {arr.shape}",
                f"points must be (lat, lon) pairs, got an array of shape {arr.shape}",
            )
        best = np.full(len(arr), len(self), dtype=np.intp)
        for start in range(0, len(arr), _BATCH_CHUNK):
            lat = arr[start : start + _BATCH_CHUNK, 0]
            lon = arr[start : start + _BATCH_CHUNK, 1]
            point_idx, tree_idx = self._tree.query(shapely.points(lon, lat))
            # Grouping the tests by polygon keeps each prepared polygon hot in cache: about twice as fast
            # as the tree's point order, and much steadier.
            by_unit = np.argsort(tree_idx, kind="stable")
            point_idx, tree_idx = point_idx[by_unit], tree_idx[by_unit]
            inside = shapely.intersects_xy(self._geoms[tree_idx], lon[point_idx], lat[point_idx])
            np.minimum.at(best[start : start + _BATCH_CHUNK], point_idx[inside], tree_idx[inside])
        found: list[int | None] = self._ids_or_none[best].tolist()
        return found


# ----------------------------------------------------------------------------------------------------------
# Spatial queries over any geometries


SPATIAL_PREDICATES: Final = ("within", "intersects")


class ShapeIndex:
    """An ``STRtree`` over any geometries with ids: which ones lie within or intersect a query geometry, and
    which are nearest a point. The embedded (SQLite) side of spatial queries whose PostgreSQL side is PostGIS
    (``ST_Within``, ``ST_Intersects``, ``ST_Distance`` on SRID 4326): the same DE-9IM predicates and the same
    planar distances in degrees, so both give the same answers.

    Answers are lists of ids, ``nearest`` ordered by distance then id, the others by id.
    """

    def __init__(self, ids: Sequence[int], shapes: Sequence[BaseGeometry] | npt.NDArray[np.object_]) -> None:
        if len(ids) != len(shapes):
            raise ValueError("ids and shapes differ in length")
        geoms = np.empty(len(shapes), dtype=object)
        geoms[:] = list(shapes)
        self._geoms: npt.NDArray[np.object_] = geoms
        self._ids = np.asarray(ids, dtype=np.int64)
        self._tree = shapely.STRtree(self._geoms)

    def __len__(self) -> int:
        return len(self._ids)

    def query(self, geometry: BaseGeometry, predicate: str) -> list[int]:
        """Ids of the geometries that are ``within`` the query geometry or ``intersect`` it."""
        if predicate not in SPATIAL_PREDICATES:
            raise GeoError(
                f"Phép truy vấn không hợp lệ: {predicate}", f"unknown spatial predicate {predicate}"
            )
        # tree.query(g, "contains") gives the tree geometries g contains, i.e. those within g.
        tree_predicate = "contains" if predicate == "within" else "intersects"
        hits: npt.NDArray[np.intp] = self._tree.query(geometry, predicate=tree_predicate)
        found: list[int] = np.sort(self._ids[hits]).tolist()
        return found

    def nearest(self, lat: float, lon: float, k: int = 1) -> list[tuple[int, float]]:
        """The ``k`` geometries nearest the point, as ``(id, planar distance in degrees)``, nearest first."""
        if k < 1 or not len(self):
            return []
        dist = shapely.distance(self._geoms, shapely.Point(lon, lat))
        order = np.lexsort((self._ids, dist))[:k]
        return [(int(self._ids[i]), float(dist[i])) for i in order]


# ----------------------------------------------------------------------------------------------------------
# Synthetic data for tests and benches


def synthetic_units(
    n: int, bbox: BBox = VIETNAM_BBOX, seed: int = 0
) -> list[tuple[int, dict[str, Any], int]]:
    """``n`` non-overlapping synthetic communes (level 2) tiling ``bbox``, ids 1..n, deterministic by seed.

    Voronoi cells of random sites clipped to the box; ids follow the centroids south to north, then west to
    east. Each cell gets 20 to 60 distinct vertices (more only if its Voronoi cell already had more edges)
    by inserting points along its edges, so a lookup costs about what it costs on a real commune boundary.
    Neighbours share their edges exactly, up to the rounding of inserted points.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    if n == 0:
        return []
    min_lon, min_lat, max_lon, max_lat = bbox
    rng = np.random.default_rng(seed)
    box = shapely.box(min_lon, min_lat, max_lon, max_lat)
    if n == 1:
        cells = np.array([box], dtype=object)
    else:
        # A margin keeps sites off the box edge, where clipping could leave a degenerate cell.
        dx, dy = (max_lon - min_lon) * 1e-6, (max_lat - min_lat) * 1e-6
        sites = np.column_stack(
            [rng.uniform(min_lon + dx, max_lon - dx, n), rng.uniform(min_lat + dy, max_lat - dy, n)]
        )
        diagram = shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=box)
        cells = shapely.intersection(shapely.get_parts(diagram), box)
        if len(cells) != n or not (shapely.get_type_id(cells) == 3).all():
            raise RuntimeError(f"Voronoi diagram gave {len(cells)} cells for {n} sites; try another seed")
        centroids = shapely.get_coordinates(shapely.centroid(cells))
        cells = cells[np.lexsort((centroids[:, 0], centroids[:, 1]))]

    targets = rng.integers(20, 61, size=n)
    units: list[tuple[int, dict[str, Any], int]] = []
    for i, (cell, target) in enumerate(zip(cells, targets, strict=True)):
        ring = _densify_ring(shapely.get_coordinates(cell.exterior), int(target))
        units.append((i + 1, {"type": "Polygon", "coordinates": [ring.tolist()]}, 2))
    return units


def _densify_ring(ring: Float2D, target: int) -> Float2D:
    """Insert evenly spaced points along a closed ring's edges until it has ``target`` distinct vertices."""
    starts, ends = ring[:-1], ring[1:]
    extra = max(target - len(starts), 0)
    lengths = np.hypot(*(ends - starts).T)
    share = extra * lengths / lengths.sum()
    per_edge = np.floor(share).astype(np.intp)
    short = extra - int(per_edge.sum())
    if short:
        per_edge[np.argsort(per_edge - share, kind="stable")[:short]] += 1
    counts = per_edge + 1  # each edge contributes its start point plus its inserted points
    edge = np.repeat(np.arange(len(starts)), counts)
    step = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    t = (step / counts[edge])[:, None]
    points = starts[edge] + t * (ends[edge] - starts[edge])
    return np.vstack([points, points[:1]])


def random_points_in(bbox: BBox, n: int, seed: int = 0) -> Float2D:
    """``n`` uniform random points in ``bbox``: an (n, 2) array of ``(lat, lon)`` rows, seeded."""
    min_lon, min_lat, max_lon, max_lat = bbox
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(min_lat, max_lat, n), rng.uniform(min_lon, max_lon, n)])
