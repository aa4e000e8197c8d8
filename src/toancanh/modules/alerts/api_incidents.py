"""Incidents and response procedures over HTTP: the console's list, detail and handling steps, files,
the after-action PDF, and the SOP templates. Every id outside the caller's scope is a 404."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile
from sqlalchemy import select

from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.auth.scope import Principal, get_scoped
from toancanh.core.errors import BadRequest, NotFound, PayloadTooLarge
from toancanh.core.units import unit_index
from toancanh.core.workflow import WorkflowEngine
from toancanh.modules.alerts import incidents, sop
from toancanh.modules.alerts.models import Incident, IncidentAttachment, SopRun, SopStep, SopTemplate
from toancanh.modules.alerts.report_pdf import after_action_pdf
from toancanh.modules.alerts.schemas_incidents import (
    IncidentActionIn,
    IncidentIn,
    Severity,
    SopStartIn,
    SopTemplateIn,
    SplitIn,
    StepNoteIn,
)

router = APIRouter(prefix="/api/v1/alerts/incidents", tags=["incidents"])
sops_router = APIRouter(prefix="/api/v1/alerts/sops", tags=["sops"])


def _engine(request: Request) -> WorkflowEngine:
    engine: WorkflowEngine = request.app.state.workflow
    return engine


def _incident(db: Any, principal: Principal, incident_id: int) -> Incident:
    return get_scoped(db, principal, Incident, incident_id, "incidents.read")


def _detail(request: Request, db: Any, principal: Principal, incident: Incident) -> dict[str, Any]:
    return incidents.detail(db, _engine(request), incident, principal)


# ------------------------------------------------------------------------------------------- SOP steps
# Declared first: "/steps/..." must not be read as an incident id.


def _step(db: Any, principal: Principal, step_id: int) -> tuple[SopStep, Incident]:
    """A step and its incident, or 404 when either is outside the caller's scope."""
    step = db.get(SopStep, step_id)
    run = db.get(SopRun, step.run_id) if step is not None else None
    if step is None or run is None:
        raise NotFound()
    return step, _incident(db, principal, run.incident_id)


@router.post("/steps/{step_id}/done")
def step_done(
    step_id: DbId,
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    body: StepNoteIn | None = None,
) -> dict[str, Any]:
    """Record an SOP step as done (by its role, or an operator); returns the incident's detail."""
    step, incident = _step(db, principal, step_id)
    sop.complete_step(db, step, principal, note=body.note if body else "")
    return _detail(request, db, principal, incident)


@router.post("/steps/{step_id}/skip")
def step_skip(
    step_id: DbId, body: StepNoteIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Skip an SOP step; `note` (the reason) is required."""
    step, incident = _step(db, principal, step_id)
    sop.complete_step(db, step, principal, note=body.note, skip=True)
    return _detail(request, db, principal, incident)


# ------------------------------------------------------------------------------------------- incidents


@router.get("")
def list_incidents(
    db: SessionDep,
    principal: CurrentPrincipal,
    state: str | None = Query(default=None, pattern=r"^[a-z_]{1,32}$"),
    open_only: bool = False,
    type: str | None = Query(default=None, pattern=r"^[a-z0-9_]{1,32}$"),
    severity: Severity | None = None,
    unit_id: DbId | None = None,
    limit: int = Query(default=100, ge=1, le=500),
    offset: int = Query(default=0, ge=0, le=100_000),
) -> list[dict[str, Any]]:
    """Incidents in the caller's units and domains, newest first."""
    principal.require("incidents.read")
    rows = incidents.list_incidents(
        db,
        principal,
        state=state,
        open_only=open_only,
        limit=limit,
        offset=offset,
        type=type,
        severity=severity,
        unit_id=unit_id,
    )
    return [incidents.incident_row(i) for i in rows]


@router.post("", status_code=201)
def create(body: IncidentIn, request: Request, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """An incident entered by an operator; its unit is `unit_id` or the unit at (lat, lon)."""
    principal.require("incidents.handle")
    unit_id = body.unit_id
    if unit_id is None and body.lat is not None and body.lon is not None:
        found: list[int] = unit_index(db, request.app.state).locate(body.lat, body.lon)
        if not found:
            raise BadRequest("Vị trí nằm ngoài địa bàn quản lý", "The location is outside the area served")
        unit_id = found[0]
    assert unit_id is not None  # IncidentIn requires a unit or a point
    incident = incidents.open_incident(
        db,
        _engine(request),
        type=body.type,
        title=body.title,
        title_en=body.title_en,
        unit_id=unit_id,
        domain=body.domain,
        severity=body.severity,
        lat=body.lat,
        lon=body.lon,
        source="manual",
        description=body.description,
        actor=principal,
    )
    return _detail(request, db, principal, incident)


@router.get("/{incident_id}")
def detail(
    incident_id: DbId, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The incident, its alerts, SOP checklist, timeline, files, the steps the caller may take, cameras."""
    return _detail(request, db, principal, _incident(db, principal, incident_id))


@router.post("/{incident_id}/actions/{name}")
def act(
    incident_id: DbId,
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    name: Annotated[str, Path(pattern=r"^[a-z_]{1,32}$")],
    body: IncidentActionIn | None = None,
) -> dict[str, Any]:
    """A handling step: acknowledge, dispatch, start, resolve, close, dismiss, reopen, merge, comment."""
    incident = _incident(db, principal, incident_id)
    incidents.act(db, _engine(request), incident, name, principal, body.fields() if body else {})
    return _detail(request, db, principal, incident)


@router.post("/{incident_id}/split", status_code=201)
def split(
    incident_id: DbId, body: SplitIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Move some alerts into a new incident; returns the new incident's detail."""
    incident = _incident(db, principal, incident_id)
    new = incidents.split(db, _engine(request), incident, body.alert_ids, principal, title=body.title)
    return _detail(request, db, principal, new)


@router.post("/{incident_id}/attachments", status_code=201)
def upload(
    incident_id: DbId,
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File()],
) -> dict[str, Any]:
    """Attach a photo (JPEG, PNG, WebP), a PDF or an MP4 clip: at most 20 MB, 20 files per incident."""
    incident = _incident(db, principal, incident_id)
    data = file.file.read(incidents.MAX_ATTACHMENT_BYTES + 1)
    if len(data) > incidents.MAX_ATTACHMENT_BYTES:
        raise PayloadTooLarge(
            f"Tệp quá lớn (tối đa {incidents.MAX_ATTACHMENT_BYTES >> 20} MB)",
            f"File too large (max {incidents.MAX_ATTACHMENT_BYTES >> 20} MB)",
        )
    row = incidents.attach(db, request.app.state.blobs, incident, file.filename or "", data, principal)
    return incidents.attachment_row(row)


@router.get("/{incident_id}/attachments/{attachment_id}")
def download(
    incident_id: DbId, attachment_id: DbId, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> Response:
    """One attached file, as stored (its type was checked by content on upload)."""
    incident = _incident(db, principal, incident_id)
    row = db.get(IncidentAttachment, attachment_id)
    if row is None or row.incident_id != incident.id:
        raise NotFound("Không tìm thấy tệp", "File not found")
    data = request.app.state.blobs.read(row.blob_key)
    inline = row.content_type.startswith("image/") or row.content_type == "video/mp4"
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in row.filename)
    kind = "inline" if inline else "attachment"
    disposition = f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(row.filename)}"
    return Response(
        content=data,
        media_type=row.content_type,
        headers={
            "Content-Disposition": disposition,
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, max-age=3600",
        },
    )


@router.get("/{incident_id}/report.pdf")
def report_pdf(
    incident_id: DbId,
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    lang: str = Query(default="vi", pattern="^(vi|en)$"),
) -> Response:
    """The after-action report (báo cáo sau sự cố) as a PDF."""
    incident = _incident(db, principal, incident_id)
    pdf = after_action_pdf(_detail(request, db, principal, incident), lang)
    return Response(
        content=pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{incident.code}.pdf"'},
    )


@router.post("/{incident_id}/sop/start", status_code=201)
def start_sop(
    incident_id: DbId, body: SopStartIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Start a procedure by hand (another one, or the type's own when it does not auto-start)."""
    incident = _incident(db, principal, incident_id)
    template = db.get(SopTemplate, body.template_id)
    if template is None:
        raise BadRequest("Quy trình không tồn tại", "Unknown procedure")
    sop.start_run(db, incident, template, principal)
    return _detail(request, db, principal, incident)


# ------------------------------------------------------------------------------------------- templates


@sops_router.get("")
def list_templates(
    db: SessionDep,
    principal: CurrentPrincipal,
    incident_type: str | None = Query(default=None, pattern=r"^[a-z0-9_]{1,32}$"),
    active: bool | None = None,
) -> list[dict[str, Any]]:
    """The response procedures, by incident type."""
    principal.require("incidents.read")
    stmt = select(SopTemplate)
    if incident_type:
        stmt = stmt.where(SopTemplate.incident_type == incident_type)
    if active is not None:
        stmt = stmt.where(SopTemplate.active.is_(active))
    return [sop.template_row(t) for t in db.scalars(stmt.order_by(SopTemplate.incident_type, SopTemplate.id))]


@sops_router.get("/{template_id}")
def get_template(template_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    principal.require("incidents.read")
    template = db.get(SopTemplate, template_id)
    if template is None:
        raise NotFound()
    return sop.template_row(template)


@sops_router.post("", status_code=201)
def create_template(body: SopTemplateIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """A new procedure (sops.configure)."""
    return sop.template_row(sop.create_template(db, principal, body))


@sops_router.put("/{template_id}")
def update_template(
    template_id: DbId, body: SopTemplateIn, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Replace a procedure (sops.configure); its version goes up, runs already started keep theirs."""
    principal.require("sops.configure")
    template = db.get(SopTemplate, template_id)
    if template is None:
        raise NotFound()
    return sop.template_row(sop.update_template(db, principal, template, body))
