"""The facilities API: `/api/v1/facilities` — schools, health facilities, tourist sites and their figures."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.modules.facilities import service
from toancanh.modules.facilities.schemas import FacilityIn, FacilityUpdate, VisitorsIn

router = APIRouter(prefix="/api/v1/facilities", tags=["facilities"])


@router.get("")
def list_facilities(
    db: SessionDep,
    principal: CurrentPrincipal,
    kind: Literal["school", "health_facility", "tourism_site"] | None = None,
    unit_id: DbId | None = None,
) -> list[dict[str, Any]]:
    principal.require("assets.read")
    return [service.summary(a) for a in service.list_facilities(db, principal, kind, unit_id)]


@router.post("", status_code=201)
def create(body: FacilityIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return service.summary(service.create(db, principal, body))


@router.get("/{facility_id}")
def get(facility_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return service.summary(service.get(db, principal, facility_id))


@router.patch("/{facility_id}")
def update(
    facility_id: DbId, body: FacilityUpdate, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    return service.summary(service.update(db, principal, service.get(db, principal, facility_id), body))


@router.post("/{facility_id}/visitors")
def visitors(
    facility_id: DbId, body: VisitorsIn, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    return service.summary(
        service.record_visitors(db, principal, service.get(db, principal, facility_id), body)
    )
