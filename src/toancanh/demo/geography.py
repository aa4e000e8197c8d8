"""Synthetic geography of the demo commune, Xã Đại Thanh (Thành phố Hà Nội).

Xã Đại Thanh (commune code 00664, province 01) was formed on 1 July 2025 from the communes Vĩnh Quỳnh, Tam
Hiệp, Tả Thanh Oai, Hữu Hòa and parts of Văn Điển and Kiến Hưng, in the former Thanh Trì district south of
central Hanoi: about 19 km² and 110,000 people. It opened its Intelligent Operations Center on 25 January
2026.

The code, name, area and population are real; everything located here is **synthetic but plausible**: the
boundary is a smooth random shape of the right size at the right place, the hamlets (thôn / tổ dân phố) are
Voronoi cells that partition it, and the agencies and assets (schools, kitchens, cameras, waste points,
sensors, fire hydrants) are placed inside them. Nothing here is an official boundary or a real device;
camera stream URLs point at the reserved `.invalid` domain. :func:`build_demo` is deterministic for a given
seed.

All coordinates are WGS84. GeoJSON geometries are plain dicts in ``[lon, lat]`` order (RFC 7946, exterior
rings counter-clockwise); the ``lat`` / ``lon`` fields of points are separate floats. Geometry is computed
in a local equirectangular projection in metres (accurate to well under 0.1 % over a commune) with shapely.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry import MultiPoint, Point, Polygon, shape
from shapely.geometry.polygon import orient

from toancanh.demo.places import (
    AGENCIES,
    AI_FEATURES,
    CAMERA_DOMAIN,
    DOMAINS,
    HAMLETS,
    HQ,
    HYDRANT_HAMLETS,
    INTERSECTIONS,
    KITCHEN_CAMERAS,
    MEAL_SHARE,
    SCHOOL_LEVELS,
    SCHOOLS,
    SENSOR_KINDS,
    SENSORS,
    URBAN_DENSITY,
    WASTE_HAMLETS,
)

__all__ = [
    "AREA_KM2",
    "COMMUNE_CODE",
    "COMMUNE_NAME",
    "DOMAINS",
    "POPULATION",
    "PROVINCE_CODE",
    "PROVINCE_NAME",
    "SYNTHETIC_NOTE_EN",
    "SYNTHETIC_NOTE_VI",
    "Agency",
    "Asset",
    "Commune",
    "DemoGeography",
    "Hamlet",
    "area_km2",
    "build_demo",
    "from_local_m",
    "to_local_m",
]

SYNTHETIC_NOTE_VI = "Dữ liệu địa lý mô phỏng (không phải ranh giới chính thức)"
SYNTHETIC_NOTE_EN = "Simulated geography (not official boundaries)"

COMMUNE_CODE = "00664"
COMMUNE_NAME = "Xã Đại Thanh"
COMMUNE_NAME_EN = "Đại Thanh Commune"
PROVINCE_CODE = "01"
PROVINCE_NAME = "Thành phố Hà Nội"
POPULATION = 110_000
AREA_KM2 = 19.0
ESTABLISHED = "2025-07-01"
FORMER_UNITS: tuple[str, ...] = (
    "Xã Vĩnh Quỳnh",
    "Xã Tam Hiệp",
    "Xã Tả Thanh Oai",
    "Xã Hữu Hòa",
    "Thị trấn Văn Điển (một phần)",
    "Phường Kiến Hưng (một phần)",
)


GeoJSON = dict[str, Any]

# Centre of the synthetic commune and of the local projection (former Thanh Trì district, south of Hanoi).
_LAT0 = 20.935
_LON0 = 105.82
# Semi-axes (metres) of the ellipse the boundary is drawn around, before scaling to AREA_KM2.
_SEMI_X = 2700.0
_SEMI_Y = 2250.0
_POLY_DECIMALS = 7  # about 1 cm
_POINT_DECIMALS = 6  # about 10 cm


# ----------------------------------------------------------------------------------------------------
# Local projection


def _m_per_deg(lat: float) -> tuple[float, float]:
    """Metres per degree of longitude and of latitude at ``lat`` (WGS84 ellipsoid series)."""
    phi = math.radians(lat)
    m_lon = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi) + 0.118 * math.cos(5 * phi)
    m_lat = 111132.92 - 559.82 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi) - 0.0023 * math.cos(6 * phi)
    return m_lon, m_lat


_M_LON, _M_LAT = _m_per_deg(_LAT0)


def to_local_m(lon: float, lat: float) -> tuple[float, float]:
    """Project WGS84 ``lon, lat`` to metres east and north of the demo commune's centre."""
    return (lon - _LON0) * _M_LON, (lat - _LAT0) * _M_LAT


def from_local_m(x: float, y: float) -> tuple[float, float]:
    """Inverse of :func:`to_local_m`: metres east/north of the centre to WGS84 ``(lon, lat)``."""
    return _LON0 + x / _M_LON, _LAT0 + y / _M_LAT


def area_km2(geometry: GeoJSON) -> float:
    """Area in km² of a GeoJSON (Multi)Polygon in lon/lat, by a local equirectangular projection.

    The projection is centred on the geometry's own mean latitude, which is equal-area to well under 0.1 % for
    anything the size of a commune or a district.
    """
    geom = shape(geometry)
    minx, miny, maxx, maxy = geom.bounds
    m_lon, m_lat = _m_per_deg((miny + maxy) / 2.0)
    projected = shapely.transform(geom, lambda c: c * [m_lon, m_lat])
    return float(projected.area) / 1e6


def _poly_to_geojson(poly_m: Any) -> GeoJSON:
    """A metre-space shapely Polygon to a GeoJSON Polygon in lon/lat (CCW exterior, rounded)."""
    poly = orient(poly_m, sign=1.0)

    def ring(coords: Iterable[tuple[float, float]]) -> list[list[float]]:
        out: list[list[float]] = []
        for x, y in coords:
            lon, lat = from_local_m(x, y)
            out.append([round(lon, _POLY_DECIMALS), round(lat, _POLY_DECIMALS)])
        return out

    rings = [ring(poly.exterior.coords)] + [ring(r.coords) for r in poly.interiors]
    return {"type": "Polygon", "coordinates": rings}


def _geojson_to_m(geometry: GeoJSON) -> Any:
    """A GeoJSON Polygon in lon/lat to a metre-space shapely Polygon (the inverse of `_poly_to_geojson`)."""
    rings = [[to_local_m(lon, lat) for lon, lat in r] for r in geometry["coordinates"]]
    return Polygon(rings[0], rings[1:])


# ----------------------------------------------------------------------------------------------------
# Data classes


@dataclass(frozen=True)
class Commune:
    """The demo commune: real code, name and statistics, synthetic boundary."""

    code: str
    name: str
    name_en: str
    province_code: str
    province_name: str
    population: int
    area_km2: float
    center_lat: float
    center_lon: float
    boundary: GeoJSON  # GeoJSON Polygon, [lon, lat]
    former_units: tuple[str, ...]
    established: str  # ISO date the merged commune started (2025-07-01)


@dataclass(frozen=True)
class Hamlet:
    """A sub-unit of the commune (thôn, or tổ dân phố in urban parts); the hamlets partition the commune."""

    code: str  # "0066401" ...
    name: str  # "Thôn Vĩnh Ninh", "Tổ dân phố Văn Điển"
    name_en: str
    kind: str  # "thôn" | "tổ dân phố"
    former_unit: str  # the pre-2025 commune it belonged to, e.g. "Vĩnh Quỳnh"
    population: int
    area_km2: float
    center_lat: float  # a point inside the polygon, for labels
    center_lon: float
    boundary: GeoJSON  # GeoJSON Polygon, [lon, lat]


@dataclass(frozen=True)
class Agency:
    """An agency (cơ quan, đơn vị) attached to the commune or to a hamlet, located at its office."""

    code: str  # slug, unique
    name: str
    name_en: str
    kind: str  # party | government | ioc | office | department | service_center | police | fire | military
    #            | enforcement | health | cooperative | utility
    domains: tuple[str, ...]  # subset of DOMAINS
    unit_code: str  # the commune's or a hamlet's code
    lat: float
    lon: float
    hamlet_code: str  # the hamlet whose polygon contains the office


@dataclass(frozen=True)
class Asset:
    """A located thing: school, kitchen, camera, waste point, sensor, fire hydrant."""

    code: str  # unique: "sch-01", "kit-01", "cam-001", "wp-01", "aq-01", "wl-01", "ns-01", "fl-01", "hyd-01"
    type: str  # school | kitchen | camera | waste_point | sensor | hydrant
    domain: str  # one of DOMAINS
    name: str
    lat: float
    lon: float
    hamlet_code: str  # the hamlet whose polygon contains the point
    attributes: dict[str, Any]


@dataclass(frozen=True)
class DemoGeography:
    """Everything :func:`build_demo` makes."""

    seed: int
    commune: Commune
    hamlets: tuple[Hamlet, ...]
    agencies: tuple[Agency, ...]
    assets: tuple[Asset, ...]

    def hamlet(self, code: str) -> Hamlet:
        for h in self.hamlets:
            if h.code == code:
                return h
        raise KeyError(code)

    def assets_of_type(self, type_: str, group: str | None = None) -> tuple[Asset, ...]:
        """Assets of one type, optionally of one camera group (``attributes["group"]``)."""
        return tuple(
            a
            for a in self.assets
            if a.type == type_ and (group is None or a.attributes.get("group") == group)
        )

    def hamlet_at(self, lat: float, lon: float) -> Hamlet | None:
        """The hamlet containing the point, or None outside the commune."""
        pt = Point(lon, lat)
        for h in self.hamlets:
            if shape(h.boundary).covers(pt):
                return h
        return None

    def to_feature_collection(self) -> GeoJSON:
        """A GeoJSON FeatureCollection of the commune, hamlets, agencies and assets (for a quick look)."""
        c = self.commune
        features: list[GeoJSON] = [
            {
                "type": "Feature",
                "id": c.code,
                "geometry": c.boundary,
                "properties": {
                    "layer": "commune",
                    "code": c.code,
                    "name": c.name,
                    "province_code": c.province_code,
                    "population": c.population,
                    "area_km2": c.area_km2,
                    "note": SYNTHETIC_NOTE_VI,
                },
            }
        ]
        for h in self.hamlets:
            features.append(
                {
                    "type": "Feature",
                    "id": h.code,
                    "geometry": h.boundary,
                    "properties": {
                        "layer": "hamlet",
                        "code": h.code,
                        "name": h.name,
                        "kind": h.kind,
                        "former_unit": h.former_unit,
                        "population": h.population,
                        "area_km2": h.area_km2,
                    },
                }
            )
        for ag in self.agencies:
            features.append(
                {
                    "type": "Feature",
                    "id": ag.code,
                    "geometry": {"type": "Point", "coordinates": [ag.lon, ag.lat]},
                    "properties": {
                        "layer": "agency",
                        "code": ag.code,
                        "name": ag.name,
                        "kind": ag.kind,
                        "domains": list(ag.domains),
                        "unit_code": ag.unit_code,
                        "hamlet_code": ag.hamlet_code,
                    },
                }
            )
        for a in self.assets:
            features.append(
                {
                    "type": "Feature",
                    "id": a.code,
                    "geometry": {"type": "Point", "coordinates": [a.lon, a.lat]},
                    "properties": {
                        "layer": "asset",
                        "code": a.code,
                        "type": a.type,
                        "domain": a.domain,
                        "name": a.name,
                        "hamlet_code": a.hamlet_code,
                        "attributes": a.attributes,
                    },
                }
            )
        return {
            "type": "FeatureCollection",
            "name": f"{c.name} ({c.code})",
            "note": SYNTHETIC_NOTE_EN,
            "features": features,
        }


# ----------------------------------------------------------------------------------------------------
# Static specifications. Anchors are (u, v) in [-1, 1]: fractions of the ellipse's semi-axes, east and
# north of the centre. Văn Điển and Quốc lộ 1A (Ngọc Hồi) lie east, Tam Hiệp north, Kiến Hưng and Hữu Hòa
# north-west, the Nhuệ river and Tả Thanh Oai west, Vĩnh Quỳnh in the middle and south.


# (key, name, kind, former unit, anchor)
def _lower_first(s: str) -> str:
    return s[:1].lower() + s[1:]


# ----------------------------------------------------------------------------------------------------
# Construction


def _make_boundary(rng: random.Random) -> Any:
    """A smooth irregular polygon (metres) of area AREA_KM2: a tilted ellipse with low-frequency wobble."""
    n = rng.randint(30, 36)
    tilt = rng.uniform(-0.35, 0.35)
    harmonics = [
        (k, rng.uniform(lo, hi), rng.uniform(0.0, 2 * math.pi))
        for k, lo, hi in (
            (2, 0.05, 0.10),
            (3, 0.04, 0.08),
            (4, 0.02, 0.045),
            (5, 0.01, 0.03),
            (7, 0.005, 0.015),
        )
    ]
    pts: list[tuple[float, float]] = []
    for i in range(n):
        th = 2 * math.pi * (i + rng.uniform(-0.3, 0.3)) / n
        t = th - tilt
        r_ellipse = _SEMI_X * _SEMI_Y / math.hypot(_SEMI_Y * math.cos(t), _SEMI_X * math.sin(t))
        wobble = 1.0 + sum(amp * math.cos(k * th + ph) for k, amp, ph in harmonics)
        r = r_ellipse * wobble * (1.0 + rng.uniform(-0.025, 0.025))
        pts.append((r * math.cos(th), r * math.sin(th)))
    raw = Polygon(pts)
    scale = math.sqrt(AREA_KM2 * 1e6 / float(raw.area))
    return Polygon([(x * scale, y * scale) for x, y in pts])


def _inside_point(poly: Any, p: tuple[float, float], toward: tuple[float, float] = (0.0, 0.0)) -> Any:
    """``p`` if inside ``poly``, else the first point on the way to ``toward`` that is."""
    x, y = p
    for step in range(60):
        f = 1.0 - step / 60.0
        q = Point(toward[0] + (x - toward[0]) * f, toward[1] + (y - toward[1]) * f)
        if poly.contains(q):
            return q
    return poly.representative_point()


def _partition(boundary_m: Any, seeds: Sequence[Any]) -> list[Any]:
    """Voronoi cells of ``seeds`` clipped to ``boundary_m``; one Polygon per seed, in order.

    A cell cut in two by a concavity of the boundary keeps the piece with its seed; the other pieces join the
    neighbouring cell they share the longest edge with.
    """
    cells_gc = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=boundary_m)
    cells = list(cells_gc.geoms)
    ordered: list[Any] = []
    for s in seeds:
        ordered.append(next(c for c in cells if c.contains(s)))
    clipped = [c.intersection(boundary_m) for c in ordered]
    strays: list[Any] = []
    result: list[Any] = []
    for s, g in zip(seeds, clipped, strict=True):
        parts = [g] if g.geom_type == "Polygon" else [p for p in g.geoms if p.geom_type == "Polygon"]
        keep = next(p for p in parts if p.covers(s))
        result.append(keep)
        strays.extend(p for p in parts if p is not keep)
    for piece in strays:
        shared = [float(piece.boundary.intersection(r.boundary).length) for r in result]
        for j in sorted(range(len(result)), key=lambda i: -shared[i]):
            merged = shapely.union(result[j], piece)
            if merged.geom_type == "Polygon":
                result[j] = merged
                break
        else:
            raise RuntimeError("cannot attach a piece of a hamlet cell to any neighbour")
    return result


class _Placer:
    """Places points (metres) inside hamlets, away from edges and from each other."""

    def __init__(self, rng: random.Random, boundary_m: Any, hamlets_m: dict[str, Any]) -> None:
        self.rng = rng
        self.hamlets_m = hamlets_m
        self.inner = {k: h.buffer(-30.0) for k, h in hamlets_m.items()}
        self.inner_all = shapely.union_all(list(self.inner.values())).intersection(boundary_m.buffer(-40.0))
        self.sites: list[tuple[float, float]] = []

    def _free(self, p: Any, min_sep: float) -> bool:
        return all(math.hypot(p.x - x, p.y - y) >= min_sep for x, y in self.sites)

    def _take(self, p: Any) -> tuple[float, float]:
        self.sites.append((float(p.x), float(p.y)))
        return float(p.x), float(p.y)

    def in_hamlet(self, key: str, min_sep: float = 180.0) -> tuple[float, float]:
        area = self.inner[key]
        minx, miny, maxx, maxy = area.bounds
        sep = min_sep
        for attempt in range(2000):
            p = Point(self.rng.uniform(minx, maxx), self.rng.uniform(miny, maxy))
            if area.contains(p) and self._free(p, sep):
                return self._take(p)
            if attempt % 200 == 199:
                sep *= 0.7
        return self._take(area.representative_point())

    def near_anchor(
        self, xy: tuple[float, float], jitter: float = 120.0, min_sep: float = 80.0
    ) -> tuple[float, float]:
        base = _inside_point(self.inner_all, xy)
        sep = min_sep
        for attempt in range(600):
            r = jitter * math.sqrt(self.rng.random())
            a = self.rng.uniform(0.0, 2 * math.pi)
            p = Point(base.x + r * math.cos(a), base.y + r * math.sin(a))
            if self.inner_all.contains(p) and self._free(p, sep):
                return self._take(p)
            if attempt % 100 == 99:
                sep *= 0.7
                jitter *= 1.3
        return self._take(base)

    def near(self, xy: tuple[float, float], lo: float, hi: float) -> tuple[float, float]:
        """A point ``lo``-``hi`` metres from ``xy`` in the same hamlet (for gates and kitchens of a site)."""
        home = next(k for k, h in self.hamlets_m.items() if h.contains(Point(xy)))
        area = self.hamlets_m[home].buffer(-8.0)
        for _ in range(400):
            r = self.rng.uniform(lo, hi)
            a = self.rng.uniform(0.0, 2 * math.pi)
            p = Point(xy[0] + r * math.cos(a), xy[1] + r * math.sin(a))
            if area.contains(p):
                return float(p.x), float(p.y)
        return xy


def _bearing_deg(frm: tuple[float, float], to: tuple[float, float]) -> int:
    """Compass bearing (0 = north, clockwise) from one metre-space point to another."""
    return round(math.degrees(math.atan2(to[0] - frm[0], to[1] - frm[1]))) % 360


def build_demo(seed: int = 664) -> DemoGeography:
    """Build the synthetic geography of Xã Đại Thanh; the same seed always gives the same result."""
    rng = random.Random(seed)

    # Commune boundary: published in rounded lon/lat; everything after is derived from the published values.
    boundary_geojson = _poly_to_geojson(_make_boundary(rng))
    boundary_m = _geojson_to_m(boundary_geojson)
    scale = math.sqrt(float(boundary_m.area) / (math.pi * _SEMI_X * _SEMI_Y))

    def anchor_m(uv: tuple[float, float]) -> tuple[float, float]:
        return uv[0] * _SEMI_X * scale, uv[1] * _SEMI_Y * scale

    # Hamlets: Voronoi cells around jittered anchors.
    seed_inner = boundary_m.buffer(-250.0)
    seeds = []
    for _key, _name, _kind, _former, uv in HAMLETS:
        x, y = anchor_m(uv)
        x += rng.uniform(-260.0, 260.0)
        y += rng.uniform(-260.0, 260.0)
        seeds.append(_inside_point(seed_inner, (x, y)))
    cells_m = _partition(boundary_m, seeds)
    cells_geojson = [_poly_to_geojson(c) for c in cells_m]
    cells_m = [_geojson_to_m(g) for g in cells_geojson]

    weights = []
    for (_key, _name, kind, _former, _uv), cell in zip(HAMLETS, cells_m, strict=True):
        density = URBAN_DENSITY if kind == "tổ dân phố" else 1.0
        weights.append(float(cell.area) * density * rng.uniform(0.85, 1.15))
    total_w = sum(weights)
    pops = [int(round(POPULATION * w / total_w, -1)) for w in weights]
    pops[pops.index(max(pops))] += POPULATION - sum(pops)

    codes = {key: f"{COMMUNE_CODE}{i:02d}" for i, (key, *_rest) in enumerate(HAMLETS, start=1)}
    hamlets: list[Hamlet] = []
    for (key, name, kind, former, _uv), geo, cell, pop in zip(
        HAMLETS, cells_geojson, cells_m, pops, strict=True
    ):
        label = cell.centroid if cell.buffer(-50.0).contains(cell.centroid) else cell.representative_point()
        lon, lat = from_local_m(float(label.x), float(label.y))
        base = name.removeprefix("Thôn ").removeprefix("Tổ dân phố ")
        hamlets.append(
            Hamlet(
                code=codes[key],
                name=name,
                name_en=f"{base} {'Hamlet' if kind == 'thôn' else 'Residential Group'}",
                kind=kind,
                former_unit=former,
                population=pop,
                area_km2=round(area_km2(geo), 3),
                center_lat=round(lat, _POINT_DECIMALS),
                center_lon=round(lon, _POINT_DECIMALS),
                boundary=geo,
            )
        )
    hamlet_polys_ll = [(h.code, shape(h.boundary)) for h in hamlets]

    def publish(xy: tuple[float, float]) -> tuple[float, float, str]:
        """Metres -> rounded (lat, lon) and the code of the hamlet containing the published point."""
        lon, lat = from_local_m(*xy)
        lat, lon = round(lat, _POINT_DECIMALS), round(lon, _POINT_DECIMALS)
        pt = Point(lon, lat)
        for code, poly in hamlet_polys_ll:
            if poly.contains(pt):
                return lat, lon, code
        raise RuntimeError(f"point {lat}, {lon} is in no hamlet")

    placer = _Placer(rng, boundary_m, {key: cell for (key, *_r), cell in zip(HAMLETS, cells_m, strict=True)})

    # Agencies.
    agencies: list[Agency] = []
    hq = placer.near_anchor(anchor_m(HQ), jitter=60.0, min_sep=300.0)
    for code, name, name_en, kind, domains, place in AGENCIES:
        if isinstance(place, str):  # "hq"
            xy = placer.near(hq, 15.0, 90.0)
        else:
            xy = placer.near_anchor(anchor_m(place), jitter=150.0, min_sep=200.0)
        lat, lon, hcode = publish(xy)
        agencies.append(Agency(code, name, name_en, kind, tuple(domains), COMMUNE_CODE, lat, lon, hcode))

    assets: list[Asset] = []
    cameras: list[tuple[str, str, tuple[float, float], tuple[float, float] | None, str | None]] = []

    def add(
        code: str, type_: str, domain: str, name: str, xy: tuple[float, float], attrs: dict[str, Any]
    ) -> None:
        lat, lon, hcode = publish(xy)
        assets.append(Asset(code, type_, domain, name, lat, lon, hcode, attrs))

    # Schools, their kitchens and gate cameras.
    kitchens: list[tuple[str, str, tuple[float, float]]] = []
    for i, (name, level, hkey) in enumerate(SCHOOLS, start=1):
        label, (lo, hi), p_kitchen = SCHOOL_LEVELS[level]
        students = rng.randint(lo, hi)
        has_kitchen = rng.random() < p_kitchen
        xy = placer.in_hamlet(hkey, min_sep=260.0)
        code = f"sch-{i:02d}"
        per_class = 28 if level == "preschool" else 38
        add(
            code,
            "school",
            "education",
            name,
            xy,
            {
                "level": level,
                "level_vi": label,
                "students": students,
                "classes": max(1, round(students / per_class)),
                "has_kitchen": has_kitchen,
                "public": True,
            },
        )
        if has_kitchen:
            kitchens.append((code, name, xy))
        if level != "preschool":
            gate = placer.near(xy, 25.0, 45.0)
            cameras.append(("school_gate", f"Camera cổng {name}", gate, xy, code))

    kitchen_asset_codes: list[tuple[str, str, tuple[float, float]]] = []
    for j, (school_code, school_name, sxy) in enumerate(kitchens, start=1):
        school = next(a for a in assets if a.code == school_code)
        share = MEAL_SHARE[school.attributes["level"]]
        kxy = placer.near(sxy, 20.0, 60.0)
        kcode = f"kit-{j:02d}"
        kname = "Bếp ăn bán trú " + school_name
        add(
            kcode,
            "kitchen",
            "education",
            kname,
            kxy,
            {
                "school_code": school_code,
                "meals_per_day": int(school.attributes["students"] * share),
                "food_safety_certified": True,
            },
        )
        kitchen_asset_codes.append((kcode, kname, kxy))
    n_kitchen_cameras = min(KITCHEN_CAMERAS, len(kitchen_asset_codes))
    for kcode, kname, kxy in sorted(rng.sample(kitchen_asset_codes, k=n_kitchen_cameras)):
        cameras.append(("kitchen", f"Camera {_lower_first(kname)}", placer.near(kxy, 2.0, 8.0), None, kcode))

    # Intersections (traffic cameras).
    for name, uv in INTERSECTIONS:
        xy = placer.near_anchor(anchor_m(uv), jitter=120.0, min_sep=250.0)
        cameras.append(("intersection", f"Camera {name}", xy, None, None))

    # Waste collection points and their cameras.
    hamlet_by_key = {key: name for key, name, *_r in HAMLETS}
    for i, hkey in enumerate(WASTE_HAMLETS, start=1):
        xy = placer.in_hamlet(hkey, min_sep=220.0)
        code = f"wp-{i:02d}"
        name = f"Điểm tập kết rác {_lower_first(hamlet_by_key[hkey])}"
        add(
            code,
            "waste_point",
            "environment",
            name,
            xy,
            {
                "capacity_m3": rng.choice((4, 6, 8, 10, 12)),
                "collection_times": ["05:30", "18:30"] if rng.random() < 0.5 else ["06:00", "19:00"],
                "operator": "htx-moi-truong",
            },
        )
        cam_xy = placer.near(xy, 15.0, 30.0)
        cameras.append(("waste_point", f"Camera {_lower_first(name)}", cam_xy, xy, code))

    # Cameras, numbered in one sequence.
    for n, (group, name, xy, target_xy, target) in enumerate(cameras, start=1):
        code = f"cam-{n:03d}"
        direction = _bearing_deg(xy, target_xy) if target_xy is not None else rng.randrange(0, 360, 5)
        attrs: dict[str, Any] = {
            "group": group,
            "direction_deg": direction,
            "stream_url": f"rtsp://demo.invalid/{code}",
            "substream_url": f"rtsp://demo.invalid/{code}/sub",
            "ai_features": list(AI_FEATURES[group]),
        }
        if target is not None:
            attrs["target_code"] = target
        add(code, "camera", CAMERA_DOMAIN[group], name, xy, attrs)

    # Sensors.
    counters: dict[str, int] = {}
    for kind, name, uv in SENSORS:
        prefix, measures, unit, heartbeat = SENSOR_KINDS[kind]
        counters[kind] = counters.get(kind, 0) + 1
        jitter = 60.0 if kind == "water" else 150.0
        xy = placer.near_anchor(anchor_m(uv), jitter=jitter, min_sep=150.0)
        attrs = {
            "sensor_kind": kind,
            "measures": list(measures),
            "unit_of_measure": unit,
            "heartbeat_s": heartbeat,
        }
        if kind == "water":
            alarm1 = rng.choice((420, 440, 460))
            attrs["warning_levels_cm"] = {"I": alarm1, "II": alarm1 + 60, "III": alarm1 + 120}
        add(f"{prefix}-{counters[kind]:02d}", "sensor", "environment", name, xy, attrs)

    # Fire hydrants.
    for i, hkey in enumerate(HYDRANT_HAMLETS, start=1):
        xy = placer.in_hamlet(hkey, min_sep=150.0)
        add(
            f"hyd-{i:02d}",
            "hydrant",
            "security",
            f"Trụ nước chữa cháy số {i} - {_lower_first(hamlet_by_key[hkey])}",
            xy,
            {
                "diameter_mm": rng.choice((100, 125)),
                "pressure_bar": round(rng.uniform(2.5, 4.0), 1),
                "status": "ok",
            },
        )

    center = boundary_m.centroid
    if not boundary_m.buffer(-100.0).contains(center):
        center = boundary_m.representative_point()
    c_lon, c_lat = from_local_m(float(center.x), float(center.y))
    commune = Commune(
        code=COMMUNE_CODE,
        name=COMMUNE_NAME,
        name_en=COMMUNE_NAME_EN,
        province_code=PROVINCE_CODE,
        province_name=PROVINCE_NAME,
        population=POPULATION,
        area_km2=round(area_km2(boundary_geojson), 3),
        center_lat=round(c_lat, _POINT_DECIMALS),
        center_lon=round(c_lon, _POINT_DECIMALS),
        boundary=boundary_geojson,
        former_units=FORMER_UNITS,
        established=ESTABLISHED,
    )
    return DemoGeography(
        seed=seed,
        commune=commune,
        hamlets=tuple(hamlets),
        agencies=tuple(agencies),
        assets=tuple(assets),
    )
