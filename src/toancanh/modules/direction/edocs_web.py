"""The e-documents page `/direction/documents`: the register with its filters, the figures on top, and an
upload form for an import file that shows each row's error when the file is refused (nothing written)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.api.deps import SessionDep
from toancanh.core.auth.scope import Principal, scoped
from toancanh.core.errors import AppError, BadRequest
from toancanh.core.units import Agency, Unit
from toancanh.modules.direction import edocs_import, edocuments
from toancanh.modules.direction.web import _csrf_ok, _forbidden, _t, vn
from toancanh.web import render
from toancanh.web.pages import locale_of, page_principal

router = APIRouter(prefix="/direction/documents")

STATE_LABELS = {
    "received": ("Đã tiếp nhận", "Received"),
    "in_process": ("Đang xử lý", "In process"),
    "finished": ("Đã xử lý xong", "Finished"),
    "no_action": ("Để biết", "For information"),
    "drafted": ("Dự thảo", "Drafted"),
    "signed": ("Đã ký", "Signed"),
    "sent": ("Đã phát hành", "Sent"),
}


def _units(db: Session, principal: Principal) -> list[Unit]:
    """Units where the caller may import (communes and above first)."""
    rows = db.scalars(scoped(select(Unit), principal, Unit, edocuments.WRITE).order_by(Unit.level, Unit.name))
    return list(rows)[:200]


def _page(
    request: Request,
    db: Session,
    principal: Principal,
    *,
    direction: str | None,
    state: str | None,
    overdue: bool | None,
    errors: list[dict[str, Any]] | None = None,
    message: str = "",
    status: int = 200,
) -> Any:
    locale = locale_of(request)
    docs = edocuments.list_documents(
        db, principal, direction=direction, states=(state,) if state else (), overdue=overdue, limit=300
    )
    agency_ids = {d.handler_agency_id for d in docs if d.handler_agency_id}
    names = dict(db.execute(select(Agency.id, Agency.name).where(Agency.id.in_(agency_ids))).tuples().all())
    i = 0 if locale == "vi" else 1
    ctx = {
        "t": _t(locale),
        "vn": vn,
        "rows": [{**edocuments.summary(d), "handler": names.get(d.handler_agency_id or 0, "")} for d in docs],
        "m": edocuments.metrics(db, principal),
        "state_label": {k: v[i] for k, v in STATE_LABELS.items()},
        "filters": {"direction": direction, "state": state, "overdue": overdue},
        "can_import": principal.has(edocuments.WRITE),
        "units": _units(db, principal) if principal.has(edocuments.WRITE) else [],
        "errors": errors or [],
        "message": message,
        "failed": status >= 400,
    }
    return render(request, "direction/documents.html", ctx, status)


@router.get("")
def documents(
    request: Request,
    db: SessionDep,
    direction: str | None = Query(default=None, pattern="^(incoming|outgoing)$"),
    state: str | None = Query(
        default=None, pattern="^(received|in_process|finished|no_action|drafted|signed|sent)$"
    ),
    overdue: bool | None = None,
    imported: str | None = Query(default=None, max_length=80),
) -> Any:
    """The register: incoming / outgoing, state, overdue; the figures; the import form for clerks."""
    principal = page_principal(request, db, edocuments.READ)
    if isinstance(principal, Response):
        return principal
    message = ""
    if imported:
        message = _t(locale_of(request))(f"Đã nhập: {imported}", f"Imported: {imported}")
    return _page(request, db, principal, direction=direction, state=state, overdue=overdue, message=message)


@router.post("/import")
def import_file(
    request: Request,
    db: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    unit_id: Annotated[str, Form(max_length=20)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Any:
    """Import a file from the form; a refused file shows the page again with the list of errors."""
    principal = page_principal(request, db, edocuments.WRITE)
    if isinstance(principal, Response):
        return principal
    if not _csrf_ok(request, csrf):
        return _forbidden(request)
    locale = locale_of(request)
    try:
        if file is None or not file.filename:
            raise BadRequest("Chưa chọn tệp", "No file chosen")
        if not unit_id.isdigit() or len(unit_id) > 18:
            raise BadRequest("Chưa chọn đơn vị", "No unit chosen")
        limits = edocs_import.limits_from(request.app.state.settings)
        data = file.file.read(limits.max_bytes + 1)
        calendar = request.app.state.workflow.calendar
        result = edocs_import.import_file(db, calendar, principal, int(unit_id), file.filename, data, limits)
    except AppError as exc:
        db.rollback()
        errors = exc.details.get("errors", []) if isinstance(exc.details, dict) else []
        msg = exc.message if locale == "vi" else exc.message_en
        return _page(
            request,
            db,
            principal,
            direction=None,
            state=None,
            overdue=None,
            errors=errors,
            message=msg,
            status=400,
        )
    summary = (
        f"{result.created} mới, {result.updated} cập nhật"
        if locale == "vi"
        else (f"{result.created} new, {result.updated} updated")
    )
    return RedirectResponse(f"/direction/documents?{urlencode({'imported': summary})}", status_code=303)
