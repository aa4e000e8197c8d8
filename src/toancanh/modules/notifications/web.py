"""Notification pages: the bell fragment of the top bar (polled by htmx) and the inbox page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from toancanh.core.api.deps import SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.errors import NotFound
from toancanh.modules.notifications import service
from toancanh.web import render
from toancanh.web.pages import csrf_ok as _csrf_ok
from toancanh.web.pages import page_principal, web_principal

router = APIRouter(prefix="/notifications")


@router.get("/bell")
def bell(request: Request, db: SessionDep) -> Response:
    """The bell with the unread count (an htmx fragment, polled every 30 s by the top bar)."""
    principal = web_principal(request, db)
    if principal is None:
        return HTMLResponse("", headers={"Cache-Control": "no-store"})
    ctx = {"unread": service.unread_count(db, principal)}
    resp: Response = render(request, "notifications/_bell.html", ctx)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@router.get("")
def inbox_page(request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db)
    if isinstance(principal, Response):
        return principal
    rows = service.inbox(db, principal, limit=100)
    return render(
        request, "notifications/list.html", {"rows": rows, "unread": service.unread_count(db, principal)}
    )


@router.post("/read-all")
def read_all(request: Request, db: SessionDep, csrf: str = Form(default="", max_length=100)) -> Response:
    principal = page_principal(request, db)
    if isinstance(principal, Response):
        return principal
    if _csrf_ok(request, csrf):
        service.mark_all_read(db, principal)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/{notification_id}/open")
def open_notification(
    notification_id: DbId, request: Request, db: SessionDep, csrf: str = Form(default="", max_length=100)
) -> Response:
    """Mark one notification read and follow its link."""
    principal = page_principal(request, db)
    if isinstance(principal, Response):
        return principal
    if not _csrf_ok(request, csrf):
        return RedirectResponse("/notifications", status_code=303)
    try:
        row = service.mark_read(db, principal, notification_id)
    except NotFound:
        return render(request, "error.html", {"title": "404"}, 404)  # type: ignore[no-any-return]
    return RedirectResponse(row.link or "/notifications", status_code=303)
