"""Directives and directed tasks over HTTP: issue, track, act, rank and count; every list scoped."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.modules.direction import service, views
from toancanh.modules.direction.models import Directive
from toancanh.modules.direction.schemas import ActionIn, DirectiveIn

directives = APIRouter(prefix="/api/v1/directives", tags=["direction"])
tasks = APIRouter(prefix="/api/v1/direction-tasks", tags=["direction"])

STATES = "^(assigned|in_progress|submitted|returned|done)$"
SOURCES = "^(meeting_conclusion|incident|indicator|field_report|other)$"


def _lang(request: Request) -> str:
    return "en" if request.cookies.get("tc_lang") == "en" else "vi"


@directives.post("", status_code=201)
def create(
    body: DirectiveIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Issue a directive (văn bản chỉ đạo, kết luận, thông báo) with its tasks: leaders of the unit."""
    principal.require(service.ISSUE)
    d = service.create_directive(db, request.app.state.workflow, request.app.state.blobs, principal, body)
    return views.directive_detail(db, principal, d, _lang(request))


@directives.get("")
def list_directives(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    limit: int = Query(default=100, ge=1, le=500),
    before_id: DbId | None = None,
) -> list[dict[str, Any]]:
    """Directives of the caller's units, newest first (agency staff: those with one of their tasks)."""
    principal.require(service.READ)
    stmt = service.scoped_directives(principal)
    if before_id is not None:
        stmt = stmt.where(Directive.id < before_id)
    rows = db.scalars(stmt.order_by(Directive.id.desc()).limit(limit))
    return [views.directive_summary(d) for d in rows]


@directives.get("/{directive_id}")
def directive_detail(
    directive_id: DbId, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    d = service.get_directive(db, principal, directive_id)
    return views.directive_detail(db, principal, d, _lang(request))


@tasks.get("")
def list_tasks(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    agency_id: DbId | None = None,
    leader_id: DbId | None = None,
    source: str | None = Query(default=None, pattern=SOURCES),
    state: Annotated[list[Annotated[str, Query(pattern=STATES)]] | None, Query(max_length=5)] = None,
    directive_id: DbId | None = None,
    unit_id: DbId | None = None,
    overdue: bool | None = None,
    order: str = Query(default="overdue", pattern="^(overdue|deadline|newest)$"),
    limit: int = Query(default=100, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=100_000),
) -> list[dict[str, Any]]:
    """The tracking list, overdue first by default, limited to the caller's units and agency."""
    principal.require(service.READ)
    rows = service.list_tasks(
        db,
        principal,
        agency_id=agency_id,
        leader_id=leader_id,
        source_kind=source,
        states=state or (),
        directive_id=directive_id,
        unit_id=unit_id,
        overdue=overdue,
        order=order,
        limit=limit,
        offset=offset,
    )
    return views.task_rows(db, rows, _lang(request))


@tasks.get("/ranking")
def ranking(db: SessionDep, principal: CurrentPrincipal, unit_id: DbId | None = None) -> list[dict[str, Any]]:
    """Lead agencies by on-time completion: received, done on time, done late, overdue open, the rate."""
    principal.require(service.READ)
    return service.agency_ranking(db, principal, unit_id)


@tasks.get("/stats")
def stats(db: SessionDep, principal: CurrentPrincipal, unit_id: DbId | None = None) -> dict[str, Any]:
    """Counts per state and flag for a unit subtree, and tasks received, done on time and overdue."""
    principal.require(service.READ)
    return service.stats(db, principal, unit_id)


@tasks.get("/{task_id}")
def task_detail(
    task_id: DbId, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """A task with its history, extension requests and the actions the caller may take."""
    task = service.get_task(db, principal, task_id)
    return views.task_detail(db, request.app.state.workflow, principal, task, _lang(request))


@tasks.post("/{task_id}/actions/{name}")
def act(
    task_id: DbId, name: str, body: ActionIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """One step: acknowledge, report_progress, request_extension, approve_extension, refuse_extension,
    submit, accept, return."""
    task = service.get_task(db, principal, task_id)
    engine = request.app.state.workflow
    service.act(db, engine, request.app.state.blobs, task, name[:32], principal, body.fields())
    return views.task_detail(db, engine, principal, task, _lang(request))
