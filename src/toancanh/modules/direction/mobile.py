"""The leader's phone view (màn hình lãnh đạo trên điện thoại): today's key figures, overdue tasks, new
incidents, extensions and completions waiting for a decision, and the latest documents, on one narrow page
that can be installed as an app (web manifest). Decisions post to the task actions and come back here."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select

from toancanh.core.api.deps import SessionDep
from toancanh.core.auth.scope import Principal
from toancanh.core.db import utcnow
from toancanh.modules.alerts import service as alerts
from toancanh.modules.direction import edocuments, service, views
from toancanh.modules.direction.models import DirectionTask, EDocument, ExtensionRequest
from toancanh.modules.direction.web import _context
from toancanh.web import render
from toancanh.web.pages import locale_of, page_principal

router = APIRouter(prefix="/direction")
MOBILE = "/direction/mobile"
SHOWN = 8  # rows per list: a phone screen, not a report


def _pending_extensions(db: Any, principal: Principal) -> list[tuple[ExtensionRequest, DirectionTask]]:
    tasks = service.scoped_tasks(principal).subquery()
    stmt = (
        select(ExtensionRequest, DirectionTask)
        .join(DirectionTask, DirectionTask.id == ExtensionRequest.task_id)
        .where(ExtensionRequest.status == "pending", DirectionTask.id.in_(select(tasks.c.id)))
        .order_by(ExtensionRequest.created_at)
        .limit(SHOWN)
    )
    return list(db.execute(stmt).tuples())


def _new_incidents(db: Any, principal: Principal) -> list[dict[str, Any]]:
    if not principal.has("incidents.read"):
        return []
    since = utcnow() - timedelta(days=1)
    rows = alerts.list_incidents(db, principal, open_only=True, limit=50)
    return [alerts.incident_row(i) for i in rows if i.opened_at >= since][:SHOWN]


def _documents(db: Any, principal: Principal) -> list[EDocument]:
    stmt = edocuments.scoped_documents(principal).where(EDocument.direction == "incoming")
    return list(db.scalars(stmt.order_by(EDocument.document_date.desc(), EDocument.id.desc()).limit(SHOWN)))


@router.get("/mobile")
def leader_mobile(request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    lang = locale_of(request)
    may_decide = principal.has("direction.issue")
    overdue = service.list_tasks(db, principal, overdue=True, limit=SHOWN)
    submitted = service.list_tasks(db, principal, states=("submitted",), order="deadline", limit=SHOWN)
    ctx = _context(
        request,
        figures=service.stats(db, principal),
        overdue=views.task_rows(db, overdue, lang),
        submitted=views.task_rows(db, submitted, lang) if may_decide else [],
        extensions=_pending_extensions(db, principal) if may_decide else [],
        incidents=_new_incidents(db, principal),
        documents=_documents(db, principal),
        may_decide=may_decide,
        lang=lang,
        back=MOBILE,
    )
    return render(request, "direction/mobile.html", ctx)


@router.get("/manifest.webmanifest")
def manifest() -> Response:
    """Lets a leader add the phone view to the home screen."""
    body = {
        "name": "Toàn Cảnh — Lãnh đạo",
        "short_name": "Lãnh đạo",
        "start_url": MOBILE,
        "scope": "/direction/",
        "display": "standalone",
        "background_color": "#07111c",
        "theme_color": "#07111c",
        "lang": "vi",
        "icons": [{"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml"}],
    }
    return JSONResponse(body, media_type="application/manifest+json")
