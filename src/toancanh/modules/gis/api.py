"""The GIS API: `/api/v1/gis/layers` (catalogue, import, export, drawn features, spatial queries)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.errors import PayloadTooLarge
from toancanh.modules.gis import formats, service
from toancanh.modules.gis.crs import VN2000
from toancanh.modules.gis.schemas import FeatureIn, LayerCreate, LayerUpdate, SpatialQuery

router = APIRouter(prefix="/api/v1/gis", tags=["gis"])
MAX_UPLOAD = 200 * 1024 * 1024


@router.get("/layers")
def list_layers(db: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    principal.require(service.READ)
    return [service.layer_summary(lay) for lay in service.list_layers(db, principal)]


@router.post("/layers", status_code=201)
def create_layer(body: LayerCreate, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return service.layer_summary(service.create_layer(db, principal, body))


@router.get("/crs")
def known_crs(principal: CurrentPrincipal) -> dict[str, str]:
    """VN-2000 systems offered by the import form (any EPSG code or WKT is accepted)."""
    return {"EPSG:4326": "WGS 84", **VN2000}


@router.get("/layers/{layer_id}")
def get_layer(layer_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return service.layer_summary(service.get_layer(db, principal, layer_id))


@router.patch("/layers/{layer_id}")
def update_layer(
    layer_id: DbId, body: LayerUpdate, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    layer = service.get_layer(db, principal, layer_id, service.WRITE)
    return service.layer_summary(service.update_layer(db, principal, layer, body))


@router.delete("/layers/{layer_id}", status_code=204)
def delete_layer(layer_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> Response:
    service.delete_layer(db, principal, service.get_layer(db, principal, layer_id, service.WRITE))
    return Response(status_code=204)


@router.post("/layers/{layer_id}/import")
async def import_file(
    layer_id: DbId,
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File()],
    format: Annotated[str | None, Form(max_length=16)] = None,
    crs: Annotated[str | None, Form(max_length=2000)] = None,
    time_field: Annotated[str | None, Form(max_length=64)] = None,
    replace: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    """Import a GeoJSON, zipped Shapefile, GeoPackage or CSV (lon/lat or x/y columns) into the layer.
    `crs` overrides the file's own (CSV files and files without one are WGS 84 unless told). All or
    nothing: any bad row is a 422 listing the rows, and the layer is left as it was."""
    layer = service.get_layer(db, principal, layer_id, service.WRITE)
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise PayloadTooLarge("Tệp quá lớn", "The file is too large")
    parsed = formats.read_layer_file(
        data, file.filename or "", format or None, source_crs=crs or None, time_field=time_field or None
    )
    n = service.store_features(db, principal, layer, parsed, replace=replace, holder=request.app.state)
    return {"imported": n, "source_crs": parsed.source_crs, "layer": service.layer_summary(layer)}


@router.get("/layers/{layer_id}/export")
def export_layer(
    layer_id: DbId,
    db: SessionDep,
    principal: CurrentPrincipal,
    format: Annotated[str, Query(pattern="^(geojson|gpkg|csv)$")] = "geojson",
    crs: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The layer as a file, in WGS 84 unless `crs` names another (e.g. EPSG:3405 for VN-2000 / UTM 48N)."""
    from toancanh.modules.gis.crs import WGS84, crs_name

    layer = service.get_layer(db, principal, layer_id)
    geoms, props = service.layer_features(db, layer)
    data = formats.write_layer_file(format, layer.code, geoms, props, crs_name(crs) if crs else WGS84)
    _, ext, media = formats.EXPORT_FORMATS[format]
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{layer.code}.{ext}"'}
    )


@router.post("/layers/{layer_id}/features", status_code=201)
def add_feature(
    layer_id: DbId, body: FeatureIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Save a feature drawn on the map (a zone, a point)."""
    layer = service.get_layer(db, principal, layer_id, service.WRITE)
    f = service.add_feature(db, principal, layer, body, holder=request.app.state)
    return service.feature_geojson(f)


@router.delete("/layers/{layer_id}/features/{fid}", status_code=204)
def delete_feature(layer_id: DbId, fid: DbId, db: SessionDep, principal: CurrentPrincipal) -> Response:
    service.delete_feature(db, principal, service.get_layer(db, principal, layer_id, service.WRITE), fid)
    return Response(status_code=204)


@router.post("/layers/{layer_id}/query")
def spatial_query(
    layer_id: DbId, body: SpatialQuery, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Features within or intersecting a geometry, or the k nearest a point (same answers on each DB)."""
    layer = service.get_layer(db, principal, layer_id)
    return {"op": body.op, "features": service.spatial_query(db, layer, body)}
