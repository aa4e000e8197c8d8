"""Administration pages."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from toancanh.core.api.deps import SessionDep
from toancanh.modules.admin import service
from toancanh.web import render
from toancanh.web.pages import to_login, web_principal

router = APIRouter(prefix="/admin")


def _forbidden(request: Request) -> Response:
    return render(request, "error.html", {"title": "403"}, 403)  # type: ignore[no-any-return]


@router.get("/assets")
def assets_page(
    request: Request, db: SessionDep, type: str | None = Query(default=None, max_length=32)
) -> Response:
    principal = web_principal(request, db)
    if principal is None:
        return to_login(request)
    if not principal.has("assets.read"):
        return _forbidden(request)
    rows = service.asset_rows(db, principal, type)
    counts = service.asset_type_counts(db, principal)
    return render(request, "admin/assets.html", {"rows": rows, "counts": counts, "current": type})  # type: ignore[no-any-return]


@router.get("/units")
def units_page(request: Request, db: SessionDep) -> Response:
    principal = web_principal(request, db)
    if principal is None:
        return to_login(request)
    if not principal.has("units.read"):
        return _forbidden(request)
    return render(request, "admin/units.html", {"rows": service.unit_rows(db, principal)})  # type: ignore[no-any-return]


@router.get("/users")
def users_page(request: Request, db: SessionDep) -> Response:
    principal = web_principal(request, db)
    if principal is None:
        return to_login(request)
    if not principal.has("users.read"):
        return _forbidden(request)
    ctx = {"rows": service.user_rows(db), "agencies": service.agency_names(db)}
    return render(request, "admin/users.html", ctx)  # type: ignore[no-any-return]


@router.get("/audit")
def audit_page(request: Request, db: SessionDep) -> Response:
    principal = web_principal(request, db)
    if principal is None:
        return to_login(request)
    if not principal.has("audit.read"):
        return _forbidden(request)
    return render(request, "admin/audit.html", {"rows": service.audit_rows(db, principal)})  # type: ignore[no-any-return]
