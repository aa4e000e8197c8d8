"""`/gis`: the map of the layers the caller may see."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from toancanh.core.api.deps import SessionDep
from toancanh.modules.gis import service
from toancanh.web import render
from toancanh.web.pages import locale_of, page_principal

router = APIRouter()


@router.get("/gis")
def map_page(request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    locale = locale_of(request)
    layers = [service.layer_summary(lay) for lay in service.list_layers(db, principal)]
    ctx = {
        "t": lambda vi, en: vi if locale == "vi" else en,
        "layers": layers,
        "can_write": principal.has(service.WRITE),
        "tile_url": request.app.state.settings.gis_base_tile_url,
    }
    return render(request, "gis/map.html", ctx)
