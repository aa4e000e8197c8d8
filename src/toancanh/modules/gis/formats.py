"""Reading and writing layer files with pyogrio (GDAL): GeoJSON, zipped Shapefile, GeoPackage and CSV with
coordinate columns.

Reading validates everything before anything is stored: an unreadable file, an unknown CRS, a geometry that is
missing, empty, invalid (self-intersection, unclosed ring, ...) or outside WGS 84 after reprojection is
reported with its row number (1 = the first feature; for CSV, the file line is row + 1). Geometries are
validated, never repaired, like everywhere in the platform (see core.geo).
"""

from __future__ import annotations

import math
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pyogrio.errors
import shapely

from toancanh.core.errors import BadRequest, Unprocessable
from toancanh.modules.gis import crs as crsmod

FORMATS = ("geojson", "shapefile", "gpkg", "csv")
EXPORT_FORMATS = {
    "geojson": ("GeoJSON", "geojson", "application/geo+json"),
    "gpkg": ("GPKG", "gpkg", "application/geopackage+sqlite3"),
    "csv": ("CSV", "csv", "text/csv; charset=utf-8"),
}
MAX_PROBLEMS = 50  # reported; the count says how many there were in all
X_NAMES = "lon,lng,long,longitude,x,kinh_do,kinhdo,easting"
Y_NAMES = "lat,latitude,y,vi_do,vido,northing"
_PYOGRIO_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
    pyogrio.errors.FeatureError,
)


@dataclass
class ParsedLayer:
    """A validated file: WGS 84 shapely geometries with their properties and times, in file order."""

    geoms: np.ndarray
    properties: list[dict[str, Any]]
    times: list[datetime | None]
    source_crs: str
    geometry_type: str
    problems: list[dict[str, Any]] = field(default_factory=list)


def format_of(filename: str, declared: str | None) -> str:
    if declared:
        if declared not in FORMATS:
            raise BadRequest(f"Định dạng không hỗ trợ: {declared}", f"Unsupported format: {declared}")
        return declared
    name = filename.lower()
    for suffix, fmt in (
        (".geojson", "geojson"),
        (".json", "geojson"),
        (".zip", "shapefile"),
        (".gpkg", "gpkg"),
        (".csv", "csv"),
    ):
        if name.endswith(suffix):
            return fmt
    raise BadRequest(
        "Không nhận ra định dạng tệp (.geojson, .zip chứa Shapefile, .gpkg, .csv)",
        "Cannot tell the file format (.geojson, .zip with a Shapefile, .gpkg, .csv)",
    )


def read_layer_file(
    data: bytes,
    filename: str,
    fmt: str | None = None,
    *,
    source_crs: str | None = None,
    time_field: str | None = None,
) -> ParsedLayer:
    """Read and validate a layer file; raises Unprocessable (422) listing the problems, changing nothing."""
    fmt = format_of(filename, fmt)
    if not data:
        raise Unprocessable("Tệp rỗng", "The file is empty")
    with tempfile.TemporaryDirectory(prefix="toancanh-gis-") as tmp:
        path = (
            Path(tmp)
            / f"upload.{ {'geojson': 'geojson', 'shapefile': 'zip', 'gpkg': 'gpkg', 'csv': 'csv'}[fmt] }"
        )
        path.write_bytes(data)
        source, options = str(path), {}
        if fmt == "shapefile":
            source = _shapefile_in_zip(path)
        elif fmt == "csv":
            options = {
                "X_POSSIBLE_NAMES": X_NAMES,
                "Y_POSSIBLE_NAMES": Y_NAMES,
                "KEEP_GEOM_COLUMNS": "NO",
                "AUTODETECT_TYPE": "YES",
            }
        try:
            meta, _, wkb, field_data = pyogrio.raw.read(source, datetime_as_string=True, **options)
        except _PYOGRIO_ERRORS as exc:
            raise Unprocessable(
                f"Không đọc được tệp {fmt}: {exc}",
                f"Cannot read the {fmt} file: {exc}",
                code="unreadable_file",
            ) from exc
    names = [str(n) for n in meta["fields"]]
    if wkb is None:
        raise Unprocessable("Tệp không có hình học", "The file has no geometry column", code="no_geometry")
    declared_crs = meta.get("crs")
    if source_crs:
        src = crsmod.crs_name(source_crs)
    elif declared_crs:
        src = crsmod.crs_name(declared_crs)
    else:
        src = crsmod.WGS84  # GeoJSON (RFC 7946) and coordinate CSVs without a CRS are lon/lat
    if time_field and time_field not in names:
        raise Unprocessable(
            f"Không có trường thời gian '{time_field}'", f"No time field '{time_field}' in the file"
        )

    n = len(wkb)
    geoms = shapely.from_wkb(np.asarray(wkb, dtype=object), on_invalid="ignore")
    problems: list[dict[str, Any]] = []

    def problem(i: int, vi: str, en: str) -> None:
        problems.append({"row": i + 1, **({"line": i + 2} if fmt == "csv" else {}), "error": f"{vi} / {en}"})

    for i in range(n):
        g = geoms[i]
        if g is None:
            problem(
                i,
                "không có hình học (thiếu toạ độ hoặc không đọc được)",
                "no geometry (missing or unreadable)",
            )
        elif g.is_empty:
            problem(i, "hình học rỗng", "empty geometry")
        elif not shapely.is_valid(g):
            reason = shapely.is_valid_reason(g)
            problem(i, f"hình học không hợp lệ: {reason}", f"invalid geometry: {reason}")
    ok = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    if ok.any():
        geoms[ok] = shapely.force_2d(crsmod.to_wgs84(geoms[ok], src))
        bounds = shapely.bounds(geoms[ok])
        out = ~((bounds[:, 0] >= -180) & (bounds[:, 2] <= 180) & (bounds[:, 1] >= -90) & (bounds[:, 3] <= 90))
        for i in np.flatnonzero(ok)[out]:
            problem(
                int(i),
                f"toạ độ ngoài phạm vi WGS 84 (sai hệ quy chiếu {src}?)",
                f"coordinates outside WGS 84 (wrong CRS {src}?)",
            )

    properties = [dict[str, Any]() for _ in range(n)]
    for name, values in zip(names, field_data, strict=True):
        for i in range(n):
            properties[i][name] = _json_value(values[i])
    times: list[datetime | None] = [None] * n
    if time_field:
        for i in range(n):
            raw = properties[i].get(time_field)
            try:
                times[i] = _parse_time(raw)
            except ValueError:
                problem(i, f"thời gian không hợp lệ: {raw!r}", f"invalid time: {raw!r}")

    if problems:
        problems.sort(key=lambda p: p["row"])
        raise Unprocessable(
            f"Tệp có {len(problems)} lỗi; không đối tượng nào được nhập",
            f"The file has {len(problems)} problems; nothing was imported",
            code="invalid_features",
            details={"count": len(problems), "problems": problems[:MAX_PROBLEMS]},
        )
    types = sorted(set(shapely.get_type_id(geoms).tolist())) if n else []
    names_of = {
        0: "Point",
        1: "LineString",
        3: "Polygon",
        4: "MultiPoint",
        5: "MultiLineString",
        6: "MultiPolygon",
        7: "GeometryCollection",
    }
    gtype = names_of.get(types[0], "Unknown") if len(types) == 1 else "Unknown"
    return ParsedLayer(geoms, properties, times, src, gtype)


def _shapefile_in_zip(path: Path) -> str:
    try:
        with zipfile.ZipFile(path) as z:
            shp = [n for n in z.namelist() if n.lower().endswith(".shp") and not n.startswith("__MACOSX")]
    except zipfile.BadZipFile as exc:
        raise Unprocessable("Tệp zip hỏng", "The zip file is damaged", code="unreadable_file") from exc
    if len(shp) != 1:
        raise Unprocessable(
            f"Tệp zip cần đúng một tệp .shp, có {len(shp)}",
            f"The zip needs exactly one .shp file, it has {len(shp)}",
            code="unreadable_file",
        )
    return f"/vsizip/{path}/{shp[0]}"


def _json_value(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, datetime | date):
        return v.isoformat()
    return v


def _parse_time(raw: Any) -> datetime | None:
    if raw is None or raw == "":
        return None
    text = str(raw).strip().replace("/", "-")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    t = datetime.fromisoformat(text)
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def write_layer_file(
    fmt: str, name: str, geoms: np.ndarray, properties: list[dict[str, Any]], target_crs: str = crsmod.WGS84
) -> bytes:
    """The features as a GeoJSON, GeoPackage or CSV (WKT geometry column) file."""
    if fmt not in EXPORT_FORMATS:
        raise BadRequest(f"Định dạng xuất không hỗ trợ: {fmt}", f"Unsupported export format: {fmt}")
    driver, ext, _ = EXPORT_FORMATS[fmt]
    keys: list[str] = []
    for p in properties:
        keys.extend(k for k in p if k not in keys)
    columns = [_column([p.get(k) for p in properties]) for k in keys]
    geoms = crsmod.from_wgs84(geoms, target_crs)
    types = set(shapely.get_type_id(geoms).tolist())
    gtype = "Unknown"
    if len(types) == 1:
        gtype = {
            0: "Point",
            1: "LineString",
            3: "Polygon",
            4: "MultiPoint",
            5: "MultiLineString",
            6: "MultiPolygon",
        }.get(types.pop(), "Unknown")
    options = {"GEOMETRY": "AS_WKT"} if fmt == "csv" else None
    with tempfile.TemporaryDirectory(prefix="toancanh-gis-") as tmp:
        path = Path(tmp) / f"{name}.{ext}"
        pyogrio.raw.write(
            str(path),
            geometry=shapely.to_wkb(geoms),
            field_data=columns,
            fields=keys,
            layer=name,
            driver=driver,
            geometry_type=gtype,
            crs=target_crs,
            layer_options=options,
        )
        return path.read_bytes()


def _column(values: list[Any]) -> np.ndarray:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        if len(present) == len(values):
            return np.array(values, dtype=np.int64)
        return np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return np.array([math.nan if v is None else v for v in values], dtype=np.float64)
    return np.array(
        [None if v is None else (v if isinstance(v, str) else _text(v)) for v in values], dtype=object
    )


def _text(v: Any) -> str:
    import orjson

    return v if isinstance(v, str) else orjson.dumps(v).decode()
