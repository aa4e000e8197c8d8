"""OGC API - Features - Part 1: Core at `/ogc`, so that QGIS, GDAL (`OAPIF:`) and other clients open the
layers a caller may see. Conformance: core, GeoJSON, OpenAPI 3.0. Items take `bbox`, `limit`/`offset`
paging with `next`/`prev` links, `datetime` on time-enabled layers, and any other query parameter as an
equality filter on a feature property."""

from __future__ import annotations

import datetime as dt
from datetime import UTC
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.errors import BadRequest, NotFound
from toancanh.core.geo import GeoError, parse_bbox
from toancanh.modules.gis import service
from toancanh.modules.gis.formats import _parse_time
from toancanh.modules.gis.models import Feature, Layer

router = APIRouter(prefix="/ogc", tags=["ogc-api-features"])
GEOJSON = "application/geo+json"
JSON = "application/json"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
RESERVED = {"bbox", "limit", "offset", "datetime", "f", "bbox-crs", "crs"}
MAX_LIMIT = 10_000


class GeoJSONResponse(JSONResponse):
    media_type = GEOJSON


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/ogc"


@router.get("")
def landing(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    base = _base(request)
    root = str(request.base_url).rstrip("/")
    return {
        "title": "Toàn Cảnh — lớp bản đồ (OGC API - Features)",
        "description": "Map layers of the operations center / Các lớp bản đồ của trung tâm điều hành",
        "links": [
            {"href": base, "rel": "self", "type": JSON, "title": "this document"},
            {
                "href": f"{root}/openapi.json",
                "rel": "service-desc",
                "type": "application/vnd.oai.openapi+json;version=3.0",
                "title": "OpenAPI",
            },
            {"href": f"{root}/docs", "rel": "service-doc", "type": "text/html", "title": "API docs"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": JSON, "title": "conformance"},
            {"href": f"{base}/collections", "rel": "data", "type": JSON, "title": "collections"},
        ],
    }


@router.get("/conformance")
def conformance(principal: CurrentPrincipal) -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


def _collection(base: str, layer: Layer) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": layer.code,
        "title": layer.title,
        "description": layer.description or layer.title_en,
        "itemType": "feature",
        "crs": [CRS84],
        "links": [
            {"href": f"{base}/collections/{layer.code}", "rel": "self", "type": JSON},
            {
                "href": f"{base}/collections/{layer.code}/items",
                "rel": "items",
                "type": GEOJSON,
                "title": layer.title,
            },
        ],
    }
    extent: dict[str, Any] = {}
    if layer.min_x is not None:
        extent["spatial"] = {"bbox": [[layer.min_x, layer.min_y, layer.max_x, layer.max_y]], "crs": CRS84}
    if layer.time_enabled:
        extent["temporal"] = {
            "interval": [[_iso(layer.min_time), _iso(layer.max_time)]],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    if extent:
        out["extent"] = extent
    return out


def _iso(t: dt.datetime | None) -> str | None:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z") if t else None


@router.get("/collections")
def collections(request: Request, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    base = _base(request)
    return {
        "links": [{"href": f"{base}/collections", "rel": "self", "type": JSON}],
        "collections": [_collection(base, lay) for lay in service.list_layers(db, principal)],
    }


@router.get("/collections/{collection_id}")
def collection(
    collection_id: str, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    return _collection(_base(request), service.get_layer(db, principal, collection_id))


def parse_datetime(text: str) -> tuple[dt.datetime | None, dt.datetime | None]:
    """OGC `datetime`: an instant, `start/end`, `../end` or `start/..` (RFC 3339)."""
    try:
        if "/" in text:
            a, b = text.split("/", 1)
            start = None if a in ("", "..") else _parse_time(a)
            end = None if b in ("", "..") else _parse_time(b)
            return start, end
        t = _parse_time(text)
        return t, t
    except ValueError as exc:
        raise BadRequest(f"Tham số datetime không hợp lệ: {text}", f"Invalid datetime: {text}") from exc


@router.get("/collections/{collection_id}/items", response_class=GeoJSONResponse)
def items(
    collection_id: str,
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    bbox: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1)] = 10,
    offset: Annotated[int, Query(ge=0, le=2**53)] = 0,
    when: Annotated[str | None, Query(alias="datetime", max_length=100)] = None,
) -> GeoJSONResponse:
    layer = service.get_layer(db, principal, collection_id)
    limit = min(limit, MAX_LIMIT)
    box = None
    if bbox:
        try:
            box = parse_bbox(bbox)
        except GeoError as exc:
            raise BadRequest(exc.vi, exc.en) from exc
    start = end = None
    if when and layer.time_enabled:
        start, end = parse_datetime(when)
    props = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    stmt = service.feature_query(layer, bbox=box, properties=props, start=start, end=end)
    rows, matched = service.feature_page(db, stmt, limit, offset)
    base = f"{_base(request)}/collections/{layer.code}/items"
    params = dict(request.query_params)
    links = [{"href": f"{base}?{urlencode(params)}" if params else base, "rel": "self", "type": GEOJSON}]
    if offset + len(rows) < matched:
        links.append(
            {
                "href": f"{base}?{urlencode({**params, 'limit': limit, 'offset': offset + limit})}",
                "rel": "next",
                "type": GEOJSON,
            }
        )
    if offset > 0:
        links.append(
            {
                "href": f"{base}?{urlencode({**params, 'limit': limit, 'offset': max(0, offset - limit)})}",
                "rel": "prev",
                "type": GEOJSON,
            }
        )
    body = {
        "type": "FeatureCollection",
        "features": [service.feature_geojson(f) for f in rows],
        "numberMatched": matched,
        "numberReturned": len(rows),
        "timeStamp": _iso(dt.datetime.now(UTC)),
        "links": links,
    }
    return GeoJSONResponse(body)


@router.get("/collections/{collection_id}/items/{fid}", response_class=GeoJSONResponse)
def item(collection_id: str, fid: DbId, request: Request, db: SessionDep, principal: CurrentPrincipal) -> Any:
    layer = service.get_layer(db, principal, collection_id)
    f = db.get(Feature, fid)
    if f is None or f.layer_id != layer.id:
        raise NotFound("Không tìm thấy đối tượng", "Feature not found")
    out = service.feature_geojson(f)
    base = f"{_base(request)}/collections/{layer.code}"
    out["links"] = [
        {"href": f"{base}/items/{fid}", "rel": "self", "type": GEOJSON},
        {"href": base, "rel": "collection", "type": JSON},
    ]
    return GeoJSONResponse(out)
