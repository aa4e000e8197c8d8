"""Coordinate reference systems (hệ quy chiếu): everything stored is WGS 84 lon/lat (EPSG:4326).

Vietnamese data usually comes in VN-2000 (EPSG:4756): geographic, UTM zones 48N/49N (EPSG:3405/3406) or the
cadastral TM-3 zones per province (EPSG:5896-5899, 9205-9218). pyproj (PROJ's EPSG database) knows them all,
with the official 7-parameter shift of VN-2000 to WGS 84 (EPSG:6960, from Thông tư 973/2001/TT-TCĐC).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from pyproj.transformer import TransformerGroup

from toancanh.core.errors import Unprocessable

WGS84 = "EPSG:4326"
# Codes people type for VN-2000, for the import form's list.
VN2000 = {
    "EPSG:4756": "VN-2000 (kinh độ, vĩ độ)",
    "EPSG:3405": "VN-2000 / UTM 48N",
    "EPSG:3406": "VN-2000 / UTM 49N",
    "EPSG:5896": "VN-2000 / TM-3 481",
    "EPSG:5897": "VN-2000 / TM-3 482",
    "EPSG:5898": "VN-2000 / TM-3 491",
    "EPSG:5899": "VN-2000 / TM-3 107-45",
    **{
        f"EPSG:{c}": f"VN-2000 / TM-3 {m}"
        for c, m in zip(
            range(9205, 9219),
            (
                "103-00",
                "104-00",
                "104-30",
                "104-45",
                "105-30",
                "105-45",
                "106-00",
                "106-15",
                "106-30",
                "107-00",
                "107-15",
                "107-30",
                "108-15",
                "108-30",
            ),
            strict=True,
        )
    },
}


def crs_name(text: str | Any) -> str:
    """`EPSG:nnnn` when the CRS has an EPSG code, else its name; 422 when pyproj does not know it."""
    try:
        crs = CRS.from_user_input(text)
    except CRSError as exc:
        raise Unprocessable(
            f"Hệ quy chiếu không xác định: {text}", f"Unknown coordinate reference system: {text}"
        ) from exc
    code = crs.to_epsg(min_confidence=70)
    return f"EPSG:{code}" if code else crs.to_string()


# PROJ would pick, inside the Mekong delta, EPSG:5194 "VN-2000 to WGS 84 (1)", fitted for offshore oil blocks
# DBSCL 02/03 and about 0.8 m away from the national shift; local government data uses the national one.
NATIONAL_SHIFT = "VN-2000 to WGS 84 (2)"


def _transformer(source: str, target: str) -> Transformer:
    group = TransformerGroup(CRS.from_user_input(source), CRS.from_user_input(target), always_xy=True)
    for t in group.transformers:
        if NATIONAL_SHIFT in t.description:
            return t
    return Transformer.from_crs(CRS.from_user_input(source), CRS.from_user_input(target), always_xy=True)


@lru_cache(maxsize=64)
def _to_wgs84(source: str) -> Transformer:
    return _transformer(source, WGS84)


@lru_cache(maxsize=64)
def _from_wgs84(target: str) -> Transformer:
    return _transformer(WGS84, target)


def is_wgs84(source: str) -> bool:
    return source in (WGS84, "OGC:CRS84")


def to_wgs84(geoms: np.ndarray, source: str) -> np.ndarray:
    """The geometries reprojected from `source` to WGS 84 lon/lat."""
    if is_wgs84(source):
        return geoms
    t = _to_wgs84(source)
    return shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def from_wgs84(geoms: np.ndarray, target: str) -> np.ndarray:
    if is_wgs84(target):
        return geoms
    t = _from_wgs84(target)
    return shapely.transform(geoms, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


def point_to_wgs84(x: float, y: float, source: str) -> tuple[float, float]:
    """(lon, lat) of one point given in `source` (x = easting or longitude)."""
    lon, lat = _to_wgs84(source).transform(x, y)
    return float(lon), float(lat)
