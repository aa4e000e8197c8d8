"""`/vision`: the state of the analytics pipelines of this process, for the cameras the caller may see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response

from toancanh.core.api.deps import SessionDep
from toancanh.modules.cameras.service import READ
from toancanh.modules.vision.api import pipeline_status
from toancanh.web import render
from toancanh.web.pages import locale_of, page_principal

router = APIRouter()
TEMPLATES = Path(__file__).parent / "templates"


@router.get("/vision")
def status_page(request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, READ)
    if isinstance(principal, Response):
        return principal
    locale = locale_of(request)
    ctx = {
        "t": lambda vi, en: vi if locale == "vi" else en,
        **pipeline_status(request, db, principal),
    }
    return render(request, "vision/status.html", ctx)
