"""VN-2000 -> WGS 84 accuracy against known values.

Sources: the 7-parameter shift of VN-2000 to WGS 84 published with Thông tư 973/2001/TT-TCĐC (EPSG:6960,
"VN-2000 to WGS 84 (2)": dX -191.90441429 m, dY -39.30318279 m, dZ -111.45032835 m, rX -0.00928836",
rY 0.01975479", rZ -0.00427372", dS +0.252906278 ppm, coordinate frame rotation), applied here by hand on the
WGS 84 ellipsoid (which VN-2000 uses); and the definition of the UTM/TM-3 projections (central meridian at
false easting 500 000 m, scale 0.9996 for UTM and 0.9999 for TM-3, northing 0 on the equator).
"""

from __future__ import annotations

import math

import pytest

from toancanh.modules.gis.crs import crs_name, point_to_wgs84

A, F = 6378137.0, 1 / 298.257223563
E2 = F * (2 - F)
SHIFT = (-191.90441429, -39.30318279, -111.45032835)
ROT = tuple(math.radians(s / 3600) for s in (-0.00928836, 0.01975479, -0.00427372))
SCALE = 0.252906278e-6


def _geocentric(lon: float, lat: float) -> tuple[float, float, float]:
    phi, lam = math.radians(lat), math.radians(lon)
    n = A / math.sqrt(1 - E2 * math.sin(phi) ** 2)
    return n * math.cos(phi) * math.cos(lam), n * math.cos(phi) * math.sin(lam), n * (1 - E2) * math.sin(phi)


def _geodetic(x: float, y: float, z: float) -> tuple[float, float]:
    lon = math.atan2(y, x)
    p = math.hypot(x, y)
    lat = math.atan2(z, p * (1 - E2))
    for _ in range(10):
        n = A / math.sqrt(1 - E2 * math.sin(lat) ** 2)
        lat = math.atan2(z + E2 * n * math.sin(lat), p)
    return math.degrees(lon), math.degrees(lat)


def helmert_vn2000_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Coordinate frame rotation convention (EPSG method 9607)."""
    x, y, z = _geocentric(lon, lat)
    rx, ry, rz = ROT
    m = 1 + SCALE
    x2 = SHIFT[0] + m * (x + rz * y - ry * z)
    y2 = SHIFT[1] + m * (-rz * x + y + rx * z)
    z2 = SHIFT[2] + m * (ry * x - rx * y + z)
    return _geodetic(x2, y2, z2)


# Points across the country: Hà Nội, Huế, TP. Hồ Chí Minh, Cà Mau, Móng Cái.
PLACES = [
    (105.8542, 21.0285),
    (107.5909, 16.4637),
    (106.7009, 10.7769),
    (105.1524, 9.1769),
    (107.9668, 21.5240),
]


@pytest.mark.parametrize("lon,lat", PLACES)
def test_vn2000_geographic_matches_the_published_shift(lon: float, lat: float) -> None:
    want = helmert_vn2000_to_wgs84(lon, lat)
    got = point_to_wgs84(lon, lat, "EPSG:4756")
    # within 1 mm on the ground (1e-8 degrees is about 1 mm)
    assert abs(got[0] - want[0]) < 1e-8 and abs(got[1] - want[1]) < 1e-8
    # the datum shift itself is a few metres on the ground, not zero and not a blunder
    shift_m = math.hypot((got[0] - lon) * 111_320 * math.cos(math.radians(lat)), (got[1] - lat) * 110_574)
    assert 0.5 < shift_m < 500


def test_the_national_shift_is_used_in_the_mekong_delta() -> None:
    # PROJ's default there is the oil-block fit EPSG:5194, about 0.8 m away; ours is the national one.
    lon, lat = PLACES[2]
    assert point_to_wgs84(lon, lat, "EPSG:4756") == pytest.approx(helmert_vn2000_to_wgs84(lon, lat), abs=1e-9)


def test_projected_vn2000_origin_points() -> None:
    # On the central meridian at the equator a transverse Mercator point is (500 000, 0): only the datum moves.
    for code, meridian in (
        ("EPSG:3405", 105.0),
        ("EPSG:3406", 111.0),
        ("EPSG:9210", 105.75),
        ("EPSG:5899", 107.75),
    ):
        lon, lat = point_to_wgs84(500_000.0, 0.0, code)
        want = helmert_vn2000_to_wgs84(meridian, 0.0)
        assert abs(lon - want[0]) < 1e-8 and abs(lat - want[1]) < 1e-8, code


def test_utm48n_known_northing() -> None:
    # 21° N on the central meridian: northing = k0 * meridian arc length (2 323 637.3 m with k0 = 0.9996;
    # arc length 2 324 567.1 m on WGS 84 from the series expansion below).
    lat = math.radians(21.0)
    n = F / (2 - F)
    a_hat = A / (1 + n) * (1 + n**2 / 4 + n**4 / 64)
    arc = a_hat * (
        lat
        - (3 * n / 2 - 9 * n**3 / 16) * math.sin(2 * lat)
        + (15 * n**2 / 16) * math.sin(4 * lat)
        - (35 * n**3 / 48) * math.sin(6 * lat)
    )
    lon, lat_w = point_to_wgs84(500_000.0, 0.9996 * arc, "EPSG:3405")
    want = helmert_vn2000_to_wgs84(105.0, 21.0)
    assert abs(lon - want[0]) < 1e-7 and abs(lat_w - want[1]) < 1e-7


def test_crs_names() -> None:
    assert crs_name("EPSG:3405") == "EPSG:3405"
    assert crs_name("epsg:4326") == "EPSG:4326"
    with pytest.raises(Exception, match="Unknown"):
        crs_name("EPSG:0")
