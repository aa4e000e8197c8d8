"""Administration pages."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from toancanh.core.api.deps import SessionDep
from toancanh.modules.admin import service
from toancanh.web import render
from toancanh.web.pages import page_principal

router = APIRouter(prefix="/admin")


@router.get("/assets")
def assets_page(
    request: Request, db: SessionDep, type: str | None = Query(default=None, max_length=32)
) -> Any:
    principal = page_principal(request, db, "assets.read")
    if isinstance(principal, Response):
        return principal
    rows = service.asset_rows(db, principal, type)
    counts = service.asset_type_counts(db, principal)
    return render(request, "admin/assets.html", {"rows": rows, "counts": counts, "current": type})


@router.get("/units")
def units_page(request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, "units.read")
    if isinstance(principal, Response):
        return principal
    return render(request, "admin/units.html", {"rows": service.unit_rows(db, principal)})


@router.get("/users")
def users_page(request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, "users.read")
    if isinstance(principal, Response):
        return principal
    ctx = {"rows": service.user_rows(db), "agencies": service.agency_names(db)}
    return render(request, "admin/users.html", ctx)


@router.get("/audit")
def audit_page(request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, "audit.read")
    if isinstance(principal, Response):
        return principal
    return render(request, "admin/audit.html", {"rows": service.audit_rows(db, principal)})
