"""Administration API: a scoped overview for the admin pages (users, units and assets have core endpoints)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.modules.admin import service

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.get("/summary")
def admin_summary(db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Counts of assets by type within the caller's scope."""
    principal.require("assets.read")
    return service.summary(db, principal)
