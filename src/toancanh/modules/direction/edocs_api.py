"""The e-documents register over HTTP (/api/v1/edocuments): list, read, register, change state, import from
the document management system (JSON batch or file), the template, and the figures; every read scoped."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response

from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.errors import NotFound
from toancanh.modules.direction import edocs_import, edocuments
from toancanh.modules.direction.schemas import EDocumentImportIn, EDocumentIn, EDocumentPatch

router = APIRouter(prefix="/api/v1/edocuments", tags=["direction"])

STATES = "^(received|in_process|finished|no_action|drafted|signed|sent)$"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("")
def list_documents(
    db: SessionDep,
    principal: CurrentPrincipal,
    unit: DbId | None = None,
    direction: str | None = Query(default=None, pattern="^(incoming|outgoing)$"),
    state: Annotated[list[Annotated[str, Query(pattern=STATES)]] | None, Query(max_length=7)] = None,
    overdue: bool | None = None,
    from_: Annotated[dt.date | None, Query(alias="from")] = None,
    to: dt.date | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=100_000),
) -> list[dict[str, Any]]:
    """The register of the caller's units (agency staff: the documents their agency handles), newest first."""
    principal.require(edocuments.READ)
    rows = edocuments.list_documents(
        db,
        principal,
        unit_id=unit,
        direction=direction,
        states=state or (),
        overdue=overdue,
        since=from_,
        until=to,
        limit=limit,
        offset=offset,
    )
    return [edocuments.summary(d) for d in rows]


@router.post("", status_code=201)
def create(
    body: EDocumentIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Register one document (clerks: edocuments.write on the unit)."""
    principal.require(edocuments.WRITE)
    doc = edocuments.create(db, request.app.state.workflow.calendar, principal, body)
    return edocuments.summary(doc)


@router.get("/metrics")
def metrics(
    db: SessionDep,
    principal: CurrentPrincipal,
    unit: DbId | None = None,
    from_: Annotated[dt.date | None, Query(alias="from")] = None,
    to: dt.date | None = None,
) -> dict[str, Any]:
    """Incoming, outgoing, in process on time / overdue, finished on time / late, % digitally signed,
    % sent electronically, of the documents the caller may read dated from `from` to `to`."""
    principal.require(edocuments.READ)
    return edocuments.metrics(db, principal, unit, since=from_, until=to)


@router.get("/template.{fmt}")
def template(fmt: str, principal: CurrentPrincipal) -> Response:
    """The import template (.xlsx with a sheet of explanations, or .csv)."""
    principal.require(edocuments.READ)
    if fmt == "csv":
        return Response(
            edocs_import.template_csv(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="mau_van_ban.csv"'},
        )
    if fmt != "xlsx":
        raise NotFound("Chỉ có mẫu .xlsx và .csv", "Templates are .xlsx or .csv")
    return Response(
        edocs_import.template_xlsx(),
        media_type=XLSX_MIME,
        headers={"Content-Disposition": 'attachment; filename="mau_van_ban.xlsx"'},
    )


@router.post("/import", status_code=201)
def import_batch(
    body: EDocumentImportIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """A batch from the document management system: all or nothing, idempotent on `external_id`; on
    errors 422 with (row, column, message) for each."""
    principal.require(edocuments.WRITE)
    calendar = request.app.state.workflow.calendar
    return edocs_import.import_batch(db, calendar, principal, body.unit_id, body.documents).as_dict()


@router.post("/import/file", status_code=201)
def import_file(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    unit_id: Annotated[DbId, Form()],
    file: Annotated[UploadFile, File()],
) -> Any:
    """An .xlsx or .csv file made from the template: the same checks and outcome as a batch."""
    principal.require(edocuments.WRITE)
    limits = edocs_import.limits_from(request.app.state.settings)
    data = file.file.read(limits.max_bytes + 1)
    calendar = request.app.state.workflow.calendar
    result = edocs_import.import_file(db, calendar, principal, unit_id, file.filename or "", data, limits)
    return JSONResponse(result.as_dict(), status_code=201)


@router.get("/{doc_id}")
def detail(doc_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return edocuments.summary(edocuments.get_document(db, principal, doc_id))


@router.patch("/{doc_id}")
def update(
    doc_id: DbId, body: EDocumentPatch, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Move a document on or change its handling: received -> in_process -> finished (or no_action),
    drafted -> signed -> sent; audited, one event per change."""
    doc = edocuments.get_document(db, principal, doc_id)
    doc = edocuments.update(db, request.app.state.workflow.calendar, principal, doc, body)
    return edocuments.summary(doc)
