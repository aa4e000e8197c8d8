"""Units, agencies and assets over HTTP, every query scoped to the caller's grants."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from toancanh.core import assets as asset_service
from toancanh.core import audit
from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.api.schemas import AgencyIn, AssetIn, AssetPatch, DbId
from toancanh.core.auth.scope import get_scoped, scoped
from toancanh.core.errors import BadRequest, Conflict
from toancanh.core.geo import GeoError, feature, feature_collection, parse_bbox
from toancanh.core.units import Agency, Unit, get_unit, unit_index

router = APIRouter(prefix="/api/v1", tags=["places"])


@router.get("/units")
def list_units(
    db: SessionDep,
    principal: CurrentPrincipal,
    level: int | None = Query(default=None, ge=1, le=3),
    parent_id: DbId | None = None,
    q: str | None = Query(default=None, max_length=100),
    limit: int = Query(default=500, ge=1, le=5000),
) -> list[dict[str, Any]]:
    stmt = scoped(select(Unit), principal, Unit, "units.read")
    if level is not None:
        stmt = stmt.where(Unit.level == level)
    if parent_id is not None:
        stmt = stmt.where(Unit.parent_id == parent_id)
    if q:
        stmt = stmt.where(Unit.name.ilike(f"%{q}%"))
    return [u.summary() for u in db.scalars(stmt.order_by(Unit.path).limit(limit))]


@router.get("/units/geojson")
def units_geojson(
    db: SessionDep, principal: CurrentPrincipal, level: int | None = Query(default=None, ge=1, le=3)
) -> dict[str, Any]:
    """Unit boundaries as a GeoJSON FeatureCollection (units without a boundary are left out)."""
    stmt = scoped(select(Unit).where(Unit.boundary.is_not(None)), principal, Unit, "units.read")
    if level is not None:
        stmt = stmt.where(Unit.level == level)
    units = db.scalars(stmt.order_by(Unit.path).limit(5000))
    return feature_collection([feature(u.boundary, u.summary(), id=u.id) for u in units])


@router.get("/units/locate")
def locate(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    lat: float = Query(ge=-90, le=90),
    lon: float = Query(ge=-180, le=180),
) -> dict[str, Any]:
    """The units (most specific first) whose boundary contains the point."""
    ids = unit_index(db, request.app.state).locate(lat, lon)
    units = [db.get(Unit, i) for i in ids]
    visible = [u.summary() for u in units if u is not None and principal.can("units.read", u.path)]
    return {"lat": lat, "lon": lon, "units": visible}


@router.get("/units/{unit_id}")
def unit_detail(unit_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    unit = get_scoped(db, principal, Unit, unit_id, "units.read")
    return {**unit.summary(), "boundary": unit.boundary}


@router.get("/agencies")
def list_agencies(
    db: SessionDep, principal: CurrentPrincipal, unit_id: DbId | None = None
) -> list[dict[str, Any]]:
    stmt = scoped(select(Agency), principal, Agency, "agencies.read")
    if unit_id is not None:
        stmt = stmt.where(Agency.unit_id == unit_id)
    return [a.summary() for a in db.scalars(stmt.order_by(Agency.name).limit(2000))]


@router.post("/agencies", status_code=201)
def create_agency(body: AgencyIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    unit = get_unit(db, body.unit_id)
    principal.require("agencies.write", unit.path)
    if db.scalar(select(Agency.id).where(Agency.code == body.code)) is not None:
        raise Conflict("Mã cơ quan đã tồn tại", "Agency code already exists")
    agency = Agency(**body.model_dump())
    db.add(agency)
    db.flush()
    audit.record_by(
        db,
        principal,
        "agency.create",
        entity_type="agency",
        entity_id=agency.id,
        unit_id=unit.id,
        changes={"after": agency.summary()},
    )
    return agency.summary()


@router.get("/assets")
def list_assets(
    db: SessionDep,
    principal: CurrentPrincipal,
    type: list[str] | None = Query(default=None, max_length=20),
    bbox: str | None = Query(default=None, max_length=120, description="minlon,minlat,maxlon,maxlat"),
    unit_id: DbId | None = None,
    domain: str | None = Query(default=None, max_length=32),
    format: Literal["geojson", "json"] = "geojson",
) -> Any:
    """Assets in the caller's scope, as a GeoJSON FeatureCollection (default) or a plain list."""
    try:
        box = parse_bbox(bbox) if bbox else None
    except GeoError as exc:
        raise BadRequest(f"bbox không hợp lệ: {exc}", f"Invalid bbox: {exc}") from exc
    types = [t for raw in type or [] for t in raw.split(",") if t]
    found = asset_service.list_assets(
        db, principal, types=types or None, bbox=box, unit_id=unit_id, domain=domain
    )
    if format == "json":
        return [a.summary() for a in found]
    return asset_service.assets_geojson(found)


@router.post("/assets", status_code=201)
def create_asset(body: AssetIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return asset_service.create_asset(db, principal, **body.model_dump()).summary()


@router.get("/assets/{asset_id}")
def asset_detail(asset_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return asset_service.get_asset(db, principal, asset_id).summary()


@router.patch("/assets/{asset_id}")
def patch_asset(
    asset_id: DbId, body: AssetPatch, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    asset = asset_service.get_asset(db, principal, asset_id)
    changes = body.model_dump(exclude_unset=True)
    if any(v is None for v in changes.values()):
        raise BadRequest("Không được đặt giá trị rỗng", "Fields cannot be set to null")
    return asset_service.update_asset(db, principal, asset, **changes).summary()
