"""Pages of the reports module: the operators' queue, and report photos with their visibility rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select

from toancanh.core.api.deps import SessionDep
from toancanh.core.auth.scope import unit_path_of
from toancanh.core.errors import NotFound
from toancanh.modules.reports import service, views
from toancanh.modules.reports.models import FieldReport, ReportCategory, ReportPhoto
from toancanh.web import render
from toancanh.web.pages import page_principal, web_principal

router = APIRouter(prefix="/reports")


@router.get("/photo/{sha256}")
def photo(sha256: str, request: Request, db: SessionDep) -> Response:
    """A report photo: public once moderated; otherwise only to staff who may read the report."""
    rows = db.scalars(select(ReportPhoto).where(ReportPhoto.sha256 == sha256[:64])).all()
    if not rows:
        raise NotFound("Không tìm thấy ảnh", "Photo not found")
    allowed = any(p.public for p in rows)
    if not allowed:
        principal = web_principal(request, db)
        if principal is not None:
            for p in rows:
                report = db.get(FieldReport, p.report_id)
                if report and principal.can("reports.read", unit_path_of(db, report.unit_id), report.domain):
                    allowed = True
                    break
    if not allowed:
        raise NotFound("Không tìm thấy ảnh", "Photo not found")
    data = request.app.state.blobs.read(rows[0].sha256)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/queue")
def queue_page(request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, "reports.read")
    if isinstance(principal, Response):
        return principal
    rows = service.staff_queue(db, principal, limit=200)
    cats = {c.id: c for c in db.scalars(select(ReportCategory))}
    return render(request, "reports/queue.html", {"rows": [views.queue_row(db, r, cats) for r in rows]})
