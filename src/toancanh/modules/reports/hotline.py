"""The operators' form for reports received by telephone (đường dây nóng)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from toancanh.core.api.deps import SessionDep
from toancanh.modules.reports.web import STAFF_JS, _categories, _strings
from toancanh.web import render
from toancanh.web.pages import page_principal

router = APIRouter()


@router.get("/reports/hotline")
def hotline_page(request: Request, db: SessionDep) -> Any:
    """A form that enters a phone report with the caller's location picked on the map."""
    principal = page_principal(request, db, "reports.assign")
    if isinstance(principal, Response):
        return principal
    return render(
        request, "reports/hotline.html", {"categories": _categories(db), "js": _strings(request, STAFF_JS)}
    )
