"""GIS test helpers: layer files written on the fly with pyogrio, and a few layers in the test world."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pytest
import shapely


def write_file(
    tmp: Path, driver: str, name: str, geoms: list[Any], props: dict[str, list[Any]], crs: str = "EPSG:4326"
) -> bytes:
    """The bytes of a layer file (a zip of the parts for a Shapefile)."""
    ext = {"GeoJSON": "geojson", "GPKG": "gpkg", "ESRI Shapefile": "shp"}[driver]
    folder = tmp / f"{name}-{ext}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{ext}"
    arr = np.array(geoms, dtype=object)
    types = {g.geom_type for g in geoms}
    pyogrio.raw.write(
        str(path),
        geometry=shapely.to_wkb(arr),
        field_data=[np.array(v, dtype=object if isinstance(v[0], str) else None) for v in props.values()],
        fields=list(props),
        driver=driver,
        crs=crs,
        geometry_type=types.pop() if len(types) == 1 else "Unknown",
    )
    if driver != "ESRI Shapefile":
        return path.read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for part in folder.iterdir():
            z.write(part, f"data/{part.name}")
    return buf.getvalue()


def new_layer(
    client: Any, w: Any, code: str, unit: str = "A", who: str = "admin", **extra: Any
) -> dict[str, Any]:
    r = client.post(
        "/api/v1/gis/layers",
        json={"code": code, "title": code.title(), "unit_id": w.units[unit].id, **extra},
        headers=w.auth(who),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def upload(
    client: Any, w: Any, layer_id: int, data: bytes, filename: str, who: str = "admin", **form: Any
) -> Any:
    return client.post(
        f"/api/v1/gis/layers/{layer_id}/import",
        files={"file": (filename, data)},
        data={k: str(v) for k, v in form.items()},
        headers=w.auth(who),
    )


def grid_points(n: int, lon0: float = 105.80, lat0: float = 20.90, step: float = 0.001) -> list[Any]:
    side = int(np.ceil(np.sqrt(n)))
    return [shapely.Point(lon0 + (i % side) * step, lat0 + (i // side) * step) for i in range(n)]


@pytest.fixture
def points_geojson(tmp_path: Path) -> bytes:
    pts = grid_points(25)
    return write_file(
        tmp_path,
        "GeoJSON",
        "pts",
        pts,
        {
            "name": [f"p{i}" for i in range(25)],
            "kind": ["school" if i % 5 == 0 else "shop" for i in range(25)],
            "seen": [f"2026-0{1 + i % 3}-15T08:00:00Z" for i in range(25)],
        },
    )
