"""The health API: `/api/v1/health/...` — one set of routes per register (cases, contacts, tests, quarantines,
lockdowns, zones, vaccination, capacity), criteria tables, weekly levels (JSON and GeoJSON), counts, map
layers.

No `from __future__ import annotations` here: the register routes are built in a loop, and FastAPI reads each
route's body type from its live annotations.
"""

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request

from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.modules.health import service
from toancanh.modules.health.models import DOMAIN
from toancanh.modules.health.schemas import ComputeIn
from toancanh.modules.health.service import REGISTERS, Register
from toancanh.web.pages import locale_of

router = APIRouter(prefix="/api/v1/health", tags=["health"])


def _routes(reg: Register) -> None:
    create_model: Any = reg.create
    patch_model: Any = reg.patch

    def list_(
        db: SessionDep,
        principal: CurrentPrincipal,
        unit_id: DbId | None = None,
        disease: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z0-9_]+$")] = None,
        active: bool | None = None,
        since: date | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    ) -> dict[str, Any]:
        items, total = service.list_rows(
            db,
            principal,
            reg,
            unit_id=unit_id,
            disease=disease,
            active=active,
            since=since,
            limit=limit,
            offset=offset,
        )
        return {"total": total, "items": items}

    def create(body: create_model, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
        return service.create_row(db, principal, reg, body)

    def get(row_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
        return service.show_row(db, principal, reg, row_id)

    def patch(row_id: DbId, body: patch_model, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
        return service.update_row(db, principal, reg, row_id, body)

    path = f"/{reg.name}"
    router.add_api_route(path, list_, methods=["GET"], name=f"health_{reg.name}_list")
    router.add_api_route(path, create, methods=["POST"], status_code=201, name=f"health_{reg.name}_create")
    router.add_api_route(path + "/{row_id}", get, methods=["GET"], name=f"health_{reg.name}_get")
    router.add_api_route(path + "/{row_id}", patch, methods=["PATCH"], name=f"health_{reg.name}_patch")


for _reg in REGISTERS.values():
    _routes(_reg)


@router.get("/criteria")
def list_criteria(db: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    principal.require(service.READ)
    return [service.criteria_summary(c) for c in service.list_criteria(db)]


@router.put("/criteria")
def put_criteria(
    db: SessionDep, principal: CurrentPrincipal, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    return service.criteria_summary(service.put_criteria(db, principal, body))


@router.post("/levels/compute")
def compute_levels(body: ComputeIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Recompute a week's levels of the caller's communes (health writers of those units)."""
    paths = sorted(
        {g.unit_path for g in principal.grants_for(service.WRITE) if g.domains is None or DOMAIN in g.domains}
    )
    if not paths:
        principal.require(service.WRITE, "/", DOMAIN)  # raises: no grant writes health data
    week = body.week or service.last_full_week()
    service.week_start(week)
    if "/" in paths:
        paths = ["/"]
    runs = [
        service.compute_week(db, body.criteria, week, within=None if p == "/" else p).as_dict() for p in paths
    ]
    return {"runs": runs}


@router.get("/levels")
def get_levels(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    criteria: Annotated[str, Query(max_length=64)] = "COVID19_QD4800",
    week: Annotated[str | None, Query(pattern=r"^\d{4}-W\d{2}$")] = None,
    unit_id: DbId | None = None,
    weeks: Annotated[int, Query(ge=1, le=520)] = 12,
) -> dict[str, Any]:
    return service.levels(db, principal, criteria, week, unit_id, weeks, locale_of(request))


@router.get("/levels.geojson")
def levels_geojson(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    criteria: Annotated[str, Query(max_length=64)] = "COVID19_QD4800",
    week: Annotated[str | None, Query(pattern=r"^\d{4}-W\d{2}$")] = None,
) -> dict[str, Any]:
    return service.levels_geojson(db, principal, criteria, week, locale_of(request))


@router.get("/overview")
def overview(
    db: SessionDep,
    principal: CurrentPrincipal,
    disease: Annotated[str, Query(max_length=40, pattern=r"^[a-z0-9_]+$")] = "covid19",
) -> dict[str, Any]:
    return service.overview(db, principal, disease)


@router.get("/map.geojson")
def map_layers(db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return service.map_layers(db, principal)
