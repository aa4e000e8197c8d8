"""The layer catalogue (danh mục lớp bản đồ) and its features. Other modules use this file.

Who sees a layer: `gis.read` over its unit (and domain) through core's scope helper, and one of its `roles`
when it names some. Who changes it: `gis.write` over its unit and domain. A feature is seen with its layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import orjson
import shapely
import shapely.ops
from sqlalchemy import Select, String, cast, delete, func, insert, select, text
from sqlalchemy.orm import Session

from toancanh.core import audit
from toancanh.core.auth.scope import Principal, scoped, unit_path_of
from toancanh.core.errors import BadRequest, Conflict, NotFound
from toancanh.core.geo import GeoError, ShapeIndex, haversine_m, shape_from_geojson
from toancanh.core.units import get_unit, unit_index
from toancanh.modules.gis.formats import ParsedLayer
from toancanh.modules.gis.models import Feature, Layer
from toancanh.modules.gis.schemas import FeatureIn, LayerCreate, LayerUpdate, SpatialQuery

READ, WRITE = "gis.read", "gis.write"
INSERT_BATCH = 5000


# ------------------------------------------------------------------------------------------- layers


def scoped_layers(principal: Principal, permission: str = READ) -> Select[Any]:
    return scoped(select(Layer), principal, Layer, permission)


def _role_ok(principal: Principal, layer: Layer) -> bool:
    return not layer.roles or principal.is_admin or bool(principal.roles & set(layer.roles))


def list_layers(db: Session, principal: Principal) -> list[Layer]:
    rows = db.scalars(scoped_layers(principal).order_by(Layer.code)).all()
    return [lay for lay in rows if _role_ok(principal, lay)]


def get_layer(db: Session, principal: Principal, key: int | str, permission: str = READ) -> Layer:
    """A layer by id or code if the caller may see it (else 404); with `gis.write`, 403 if only seen."""
    cond = Layer.id == key if isinstance(key, int) else Layer.code == key
    layer = db.scalar(scoped_layers(principal).where(cond))
    if layer is None or not _role_ok(principal, layer):
        raise NotFound("Không tìm thấy lớp bản đồ", "Layer not found")
    if permission != READ:
        principal.require(permission, unit_path_of(db, layer.unit_id), layer.domain)
    return layer


def layer_summary(layer: Layer) -> dict[str, Any]:
    bbox = None if layer.min_x is None else [layer.min_x, layer.min_y, layer.max_x, layer.max_y]
    return {
        "id": layer.id,
        "code": layer.code,
        "title": layer.title,
        "title_en": layer.title_en,
        "description": layer.description,
        "kind": layer.kind,
        "unit_id": layer.unit_id,
        "domain": layer.domain,
        "geometry_type": layer.geometry_type,
        "style": layer.style,
        "legend": layer.legend,
        "roles": layer.roles,
        "time_enabled": layer.time_enabled,
        "time_extent": [
            layer.min_time.isoformat() if layer.min_time else None,
            layer.max_time.isoformat() if layer.max_time else None,
        ],
        "source_crs": layer.source_crs,
        "feature_count": layer.feature_count,
        "bbox": bbox,
    }


def create_layer(db: Session, principal: Principal, body: LayerCreate) -> Layer:
    unit = get_unit(db, body.unit_id)
    principal.require(WRITE, unit.path, body.domain)
    if db.scalar(select(Layer.id).where(Layer.code == body.code)) is not None:
        raise Conflict(f"Mã lớp '{body.code}' đã có", f"Layer code '{body.code}' already exists")
    data = body.model_dump(exclude_none=True)
    data["legend"] = [e.model_dump(exclude_none=True) for e in body.legend or []]
    layer = Layer(**{"style": {}, "roles": [], "title_en": "", "description": "", **data})
    db.add(layer)
    db.flush()
    audit.record_by(
        db, principal, "gis.layer.create", entity_type="gis_layer", entity_id=layer.id, unit_id=layer.unit_id
    )
    return layer


def update_layer(db: Session, principal: Principal, layer: Layer, body: LayerUpdate) -> Layer:
    data = body.model_dump(exclude_unset=True)
    if "legend" in data:
        data["legend"] = [e.model_dump(exclude_none=True) for e in body.legend or []]
    if "domain" in data:
        principal.require(WRITE, unit_path_of(db, layer.unit_id), data["domain"])
    for k, v in data.items():
        setattr(layer, k, v)
    audit.record_by(
        db,
        principal,
        "gis.layer.update",
        entity_type="gis_layer",
        entity_id=layer.id,
        unit_id=layer.unit_id,
        changes={k: str(v)[:200] for k, v in data.items()},
    )
    return layer


def delete_layer(db: Session, principal: Principal, layer: Layer) -> None:
    db.execute(delete(Feature).where(Feature.layer_id == layer.id))
    audit.record_by(
        db, principal, "gis.layer.delete", entity_type="gis_layer", entity_id=layer.id, unit_id=layer.unit_id
    )
    db.delete(layer)


# ------------------------------------------------------------------------------------------- features


def store_features(
    db: Session,
    principal: Principal | None,
    layer: Layer,
    parsed: ParsedLayer,
    *,
    replace: bool = False,
    holder: Any = None,
) -> int:
    """Add a validated file's features to the layer (all or none: the caller's transaction)."""
    if replace:
        db.execute(delete(Feature).where(Feature.layer_id == layer.id))
    geoms = parsed.geoms
    n = len(geoms)
    if n:
        bounds = shapely.bounds(geoms)
        wkbs = shapely.to_wkb(geoms)
        geojson = shapely.to_geojson(geoms)
        units = _units_of(db, geoms, holder)
        for start in range(0, n, INSERT_BATCH):
            rows = [
                {
                    "layer_id": layer.id,
                    "unit_id": units[i] if units[i] is not None else layer.unit_id,
                    "geometry": orjson.loads(geojson[i]),
                    "wkb": wkbs[i],
                    "min_x": float(bounds[i, 0]),
                    "min_y": float(bounds[i, 1]),
                    "max_x": float(bounds[i, 2]),
                    "max_y": float(bounds[i, 3]),
                    "properties": parsed.properties[i],
                    "time": parsed.times[i],
                }
                for i in range(start, min(n, start + INSERT_BATCH))
            ]
            db.execute(insert(Feature), rows)
    if replace or layer.feature_count == 0:
        layer.source_crs = parsed.source_crs
        layer.geometry_type = parsed.geometry_type
    elif layer.geometry_type != parsed.geometry_type:
        layer.geometry_type = "Unknown"
    refresh_extent(db, layer)
    audit.record_by(
        db,
        principal,
        "gis.layer.import",
        entity_type="gis_layer",
        entity_id=layer.id,
        unit_id=layer.unit_id,
        changes={"features": n, "crs": parsed.source_crs, "replace": replace},
    )
    return n


def _units_of(db: Session, geoms: np.ndarray, holder: Any) -> list[int | None]:
    """The most specific unit holding each feature's representative point (None where none does)."""
    if holder is None:
        return [None] * len(geoms)
    index = unit_index(db, holder)
    if not len(index):
        return [None] * len(geoms)
    pts = shapely.get_coordinates(shapely.point_on_surface(geoms))
    return list(index.locate_many(np.column_stack([pts[:, 1], pts[:, 0]])))


def refresh_extent(db: Session, layer: Layer) -> None:
    db.flush()
    row = db.execute(
        select(
            func.count(),
            func.min(Feature.min_x),
            func.min(Feature.min_y),
            func.max(Feature.max_x),
            func.max(Feature.max_y),
            func.min(Feature.time),
            func.max(Feature.time),
        ).where(Feature.layer_id == layer.id)
    ).one()
    layer.feature_count = int(row[0])
    layer.min_x, layer.min_y, layer.max_x, layer.max_y = row[1], row[2], row[3], row[4]
    layer.min_time, layer.max_time = _aware(row[5]), _aware(row[6])


def _aware(t: Any) -> datetime | None:
    if t is None:
        return None
    if isinstance(t, str):
        t = datetime.fromisoformat(t)
    from datetime import UTC

    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def add_feature(
    db: Session, principal: Principal, layer: Layer, body: FeatureIn, holder: Any = None
) -> Feature:
    """A feature drawn on the map (a zone, a point), validated like an import."""
    try:
        shape = shape_from_geojson(body.geometry)
    except GeoError as exc:
        raise BadRequest(exc.vi, exc.en) from exc
    time = None
    if body.time:
        from toancanh.modules.gis.formats import _parse_time

        try:
            time = _parse_time(body.time)
        except ValueError as exc:
            raise BadRequest("Thời gian không hợp lệ", "Invalid time") from exc
    geoms = np.array([shape], dtype=object)
    unit = _units_of(db, geoms, holder)[0]
    if unit is not None and not principal.can(WRITE, unit_path_of(db, unit), layer.domain):
        unit = None
    b = shape.bounds
    f = Feature(
        layer_id=layer.id,
        unit_id=unit or layer.unit_id,
        geometry=orjson.loads(shapely.to_geojson(shape)),
        wkb=shapely.to_wkb(shape),
        min_x=b[0],
        min_y=b[1],
        max_x=b[2],
        max_y=b[3],
        properties=body.properties,
        time=time,
    )
    db.add(f)
    refresh_extent(db, layer)
    audit.record_by(
        db, principal, "gis.feature.create", entity_type="gis_feature", entity_id=f.id, unit_id=layer.unit_id
    )
    return f


def delete_feature(db: Session, principal: Principal, layer: Layer, fid: int) -> None:
    f = db.scalar(select(Feature).where(Feature.layer_id == layer.id, Feature.id == fid))
    if f is None:
        raise NotFound("Không tìm thấy đối tượng", "Feature not found")
    db.delete(f)
    refresh_extent(db, layer)
    audit.record_by(
        db, principal, "gis.feature.delete", entity_type="gis_feature", entity_id=fid, unit_id=layer.unit_id
    )


def feature_query(
    layer: Layer,
    *,
    bbox: tuple[float, float, float, float] | None = None,
    properties: dict[str, str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> Select[Any]:
    """SELECT of a layer's features in a bbox (any overlap of bounding boxes, the OGC API rule), with
    properties equal to the given texts and a time in [start, end]."""
    stmt: Any = select(Feature).where(Feature.layer_id == layer.id)
    if bbox is not None:
        stmt = stmt.where(
            Feature.min_x <= bbox[2],
            Feature.max_x >= bbox[0],
            Feature.min_y <= bbox[3],
            Feature.max_y >= bbox[1],
        )
    for key, value in (properties or {}).items():
        stmt = stmt.where(cast(Feature.properties[key].as_string(), String) == value)
    if start is not None:
        stmt = stmt.where(Feature.time >= start)
    if end is not None:
        stmt = stmt.where(Feature.time <= end)
    return stmt


def feature_page(db: Session, stmt: Select[Any], limit: int, offset: int) -> tuple[list[Feature], int]:
    matched = int(db.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    rows = list(db.scalars(stmt.order_by(Feature.id).limit(limit).offset(offset)))
    return rows, matched


def feature_geojson(f: Feature) -> dict[str, Any]:
    props = dict(f.properties or {})
    if f.time is not None:
        props.setdefault("time", f.time.isoformat())
    return {"type": "Feature", "id": f.id, "geometry": f.geometry, "properties": props}


def layer_features(db: Session, layer: Layer) -> tuple[np.ndarray, list[dict[str, Any]]]:
    rows = db.execute(
        select(Feature.wkb, Feature.properties).where(Feature.layer_id == layer.id).order_by(Feature.id)
    ).all()
    geoms = (
        shapely.from_wkb(np.array([r[0] for r in rows], dtype=object)) if rows else np.empty(0, dtype=object)
    )
    return geoms, [dict(r[1] or {}) for r in rows]


# ------------------------------------------------------------------------------------------- spatial


def spatial_query(db: Session, layer: Layer, q: SpatialQuery) -> list[dict[str, Any]]:
    """Features `within` / `intersecting` a geometry, or `nearest` a point: PostGIS on PostgreSQL, core.geo's
    STRtree elsewhere; the same answers (ids; for `nearest` also the distance in metres)."""
    postgis = db.get_bind().dialect.name == "postgresql" and _has_postgis(db)
    if q.op == "nearest":
        if q.lat is None or q.lon is None:
            raise BadRequest("Cần lat và lon", "lat and lon are required")
        ids = (
            _nearest_pg(db, layer, q.lat, q.lon, q.k)
            if postgis
            else _nearest_py(db, layer, q.lat, q.lon, q.k)
        )
        shapes = _shapes(db, [i for i, _ in ids])
        out = []
        for fid, _ in ids:
            near = shapely.ops.nearest_points(shapes[fid], shapely.Point(q.lon, q.lat))[0]
            out.append({"id": fid, "distance_m": round(haversine_m(q.lat, q.lon, near.y, near.x), 3)})
        return out
    if q.geometry is None:
        raise BadRequest("Cần hình học 'geometry'", "'geometry' is required")
    try:
        shape = shape_from_geojson(q.geometry)
    except GeoError as exc:
        raise BadRequest(exc.vi, exc.en) from exc
    if postgis:
        fn = "ST_Within" if q.op == "within" else "ST_Intersects"
        sql = text(
            f"SELECT id FROM gis_features WHERE layer_id = :layer AND min_x <= :x2 AND max_x >= :x1 "  # noqa: S608
            f"AND min_y <= :y2 AND max_y >= :y1 AND {fn}(ST_GeomFromWKB(wkb, 4326), "
            "ST_GeomFromWKB(:q, 4326)) ORDER BY id"
        )
        b = shape.bounds
        found = list(
            db.scalars(
                sql,
                {
                    "layer": layer.id,
                    "x1": b[0],
                    "y1": b[1],
                    "x2": b[2],
                    "y2": b[3],
                    "q": shapely.to_wkb(shape),
                },
            )
        )
    else:
        stmt = feature_query(layer, bbox=shape.bounds)
        rows = db.execute(
            select(Feature.id, Feature.wkb).where(Feature.id.in_(stmt.with_only_columns(Feature.id)))
        ).all()
        index = ShapeIndex(
            [r[0] for r in rows],
            shapely.from_wkb(np.array([r[1] for r in rows], dtype=object)) if rows else [],
        )
        found = index.query(shape, q.op)
    return [{"id": int(i)} for i in found]


def _has_postgis(db: Session) -> bool:
    return bool(db.scalar(text("SELECT count(*) FROM pg_extension WHERE extname = 'postgis'")))


def _nearest_pg(db: Session, layer: Layer, lat: float, lon: float, k: int) -> list[tuple[int, float]]:
    rows = db.execute(
        text(
            "SELECT id, ST_Distance(ST_GeomFromWKB(wkb, 4326), "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) AS d "
            "FROM gis_features WHERE layer_id = :layer ORDER BY d, id LIMIT :k"
        ),
        {"lon": lon, "lat": lat, "layer": layer.id, "k": k},
    ).all()
    return [(int(r[0]), float(r[1])) for r in rows]


def _nearest_py(db: Session, layer: Layer, lat: float, lon: float, k: int) -> list[tuple[int, float]]:
    rows = db.execute(select(Feature.id, Feature.wkb).where(Feature.layer_id == layer.id)).all()
    if not rows:
        return []
    index = ShapeIndex([r[0] for r in rows], shapely.from_wkb(np.array([r[1] for r in rows], dtype=object)))
    return index.nearest(lat, lon, k)


def _shapes(db: Session, ids: Sequence[int]) -> dict[int, Any]:
    if not ids:
        return {}
    rows = db.execute(select(Feature.id, Feature.wkb).where(Feature.id.in_(list(ids)))).all()
    return {int(r[0]): shapely.from_wkb(r[1]) for r in rows}
