"""Field reports over HTTP: the citizen side (no login, a tracking code) and the staff side (scoped)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from sqlalchemy import select

from toancanh.core.api.deps import CurrentPrincipal, SessionDep, require
from toancanh.core.api.schemas import DbId
from toancanh.core.auth.scope import Principal, unit_path_of
from toancanh.core.errors import BadRequest, PayloadTooLarge
from toancanh.core.geo import feature, feature_collection
from toancanh.core.units import LEVEL_COMMUNE, Agency, Unit, get_unit, unit_index
from toancanh.modules.reports import bulk, service, views
from toancanh.modules.reports.models import FieldReport, ReportCategory
from toancanh.modules.reports.photos import MAX_BYTES, MAX_PHOTOS
from toancanh.modules.reports.schemas import (
    BulkIn,
    FollowIn,
    ModerationIn,
    RatingIn,
    RoutingIn,
    TransitionIn,
)

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])


def _ip(request: Request) -> str:
    return request.client.host if request.client else ""


def _locator(request: Request, db: Any) -> Any:
    index = unit_index(db, request.app.state)
    return index.locate


def read_uploads(files: list[UploadFile] | None) -> list[bytes]:
    files = [f for f in files or [] if f.filename or f.size]
    if len(files) > MAX_PHOTOS:
        raise BadRequest(f"Tối đa {MAX_PHOTOS} ảnh", f"At most {MAX_PHOTOS} photos")
    out = []
    for f in files:
        data = f.file.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise PayloadTooLarge("Ảnh quá lớn (tối đa 8 MB)", "Photo too large (max 8 MB)")
        out.append(data)
    return out


# ------------------------------------------------------------------------------------------- citizens


@router.get("/categories")
def categories(db: SessionDep) -> list[dict[str, Any]]:
    """The report categories (icons, names) a citizen chooses from."""
    rows = db.scalars(
        select(ReportCategory).where(ReportCategory.active.is_(True)).order_by(ReportCategory.id)
    )
    return [
        {
            "code": c.code,
            "name": c.name,
            "name_en": c.name_en,
            "icon": c.icon,
            "group": c.group,
            "domain": c.domain,
            "resolve_days": c.resolve_days,
        }
        for c in rows
    ]


@router.get("/nearby")
def nearby(
    db: SessionDep,
    category: str = Query(max_length=40),
    lat: float = Query(ge=-90, le=90),
    lon: float = Query(ge=-180, le=180),
) -> list[dict[str, Any]]:
    """Open reports of the same kind close by ("đã có người phản ánh"), as the public sees them."""
    cat = service.category_by_code(db, category)
    return [
        {**views.public_view(db, r), "distance_m": round(d)} for r, d in service.nearby(db, cat, lat, lon)
    ]


@router.post("", status_code=201)
def submit(
    request: Request,
    db: SessionDep,
    category: Annotated[str, Form(max_length=40)],
    description: Annotated[str, Form(max_length=service.MAX_DESCRIPTION)],
    lat: Annotated[float | None, Form(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Form(ge=-180, le=180)] = None,
    address: Annotated[str, Form(max_length=300)] = "",
    name: Annotated[str, Form(max_length=120)] = "",
    phone: Annotated[str, Form(max_length=20, pattern=r"^[0-9+ ]*$")] = "",
    email: Annotated[str, Form(max_length=200)] = "",
    device_id: Annotated[str, Form(max_length=64)] = "",
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> dict[str, Any]:
    """A citizen's report (multipart form, 0-5 photos). Returns the tracking code."""
    report = service.submit(
        db,
        request.app.state.workflow,
        request.app.state.blobs,
        _locator(request, db),
        category_code=category,
        description=description,
        lat=lat,
        lon=lon,
        photos=read_uploads(photos),
        address=address,
        name=name,
        phone=phone,
        email=email,
        device_id=device_id,
        ip=_ip(request),
    )
    return views.citizen_view(db, report)


@router.get("/track/{code}")
def track(code: str, db: SessionDep) -> dict[str, Any]:
    """Status, timeline and answer of a report, by its tracking code."""
    return views.citizen_view(db, service.by_code(db, code))


@router.post("/track/{code}/rate")
def rate(code: str, body: RatingIn, request: Request, db: SessionDep) -> dict[str, Any]:
    report = service.by_code(db, code)
    service.rate(
        db,
        request.app.state.workflow,
        report,
        rating=body.rating,
        satisfied=body.satisfied,
        comment=body.comment,
    )
    return views.citizen_view(db, report)


@router.post("/public/{report_id}/follow", status_code=201)
def follow(report_id: DbId, body: FollowIn, db: SessionDep) -> dict[str, Any]:
    """Add yourself to an existing report (found with /nearby) instead of sending a duplicate."""
    report = service.by_public_id(db, report_id)
    service.follow(db, report, body.phone, body.email)
    return {"id": report.id, "supporters": report.supporters}


@router.get("/public")
def public_list(
    db: SessionDep,
    limit: int = Query(default=100, ge=1, le=500),
    before_id: DbId | None = None,
) -> list[dict[str, Any]]:
    """Moderated reports for the public map and list."""
    stmt = select(FieldReport).where(FieldReport.moderation == "approved")
    if before_id:
        stmt = stmt.where(FieldReport.id < before_id)
    return [views.public_view(db, r) for r in db.scalars(stmt.order_by(FieldReport.id.desc()).limit(limit))]


@router.get("/area")
def area(db: SessionDep) -> dict[str, Any]:
    """The communes and hamlets served, as GeoJSON outlines with their names and nothing else.

    Public, for the citizens' map (which works offline without tiles). Declared before `/{report_id}`,
    which would otherwise take the path.
    """
    rows = db.execute(
        select(Unit.id, Unit.code, Unit.name, Unit.kind, Unit.level, Unit.boundary)
        .where(Unit.boundary.is_not(None), Unit.level >= LEVEL_COMMUNE)
        .order_by(Unit.path)
        .limit(5000)
    ).tuples()
    return feature_collection(
        feature(boundary, {"code": code, "name": name, "kind": kind, "level": level}, id=uid)
        for uid, code, name, kind, level, boundary in rows
    )


# ------------------------------------------------------------------------------------------- staff


@router.get("")
def queue(
    db: SessionDep,
    principal: CurrentPrincipal,
    state: Annotated[list[str] | None, Query(max_length=10)] = None,
    category: str | None = Query(default=None, max_length=40),
    unit_id: DbId | None = None,
    agency_id: DbId | None = None,
    overdue: bool | None = None,
    priority: str | None = Query(default=None, pattern="^(normal|urgent)$"),
    limit: int = Query(default=100, ge=1, le=500),
    before_id: DbId | None = None,
) -> list[dict[str, Any]]:
    """The processing queue: newest first, filtered, limited to the caller's units, domains and agency."""
    principal.require("reports.read")
    cat_id = service.category_by_code(db, category).id if category else None
    rows = service.staff_queue(
        db,
        principal,
        states=state or (),
        category_id=cat_id,
        unit_id=unit_id,
        agency_id=agency_id,
        overdue=overdue,
        priority=priority,
        limit=limit,
        before_id=before_id,
    )
    cats = {c.id: c for c in db.scalars(select(ReportCategory))}
    return [views.queue_row(db, r, cats) for r in rows]


@router.post("/bulk")
def bulk_action(
    body: BulkIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """One step on up to 200 reports of the queue: assign, reject, close, or moderate (publish / hide).

    Each report succeeds or fails on its own; `results` has one entry per id: {"id", "ok": true, "state"}
    or {"id", "ok": false, "code", "error", "error_en"} (ids outside the caller's scope: "not_found").
    """
    principal.require("reports.read")
    results = bulk.run(
        db,
        request.app.state.workflow,
        principal,
        body.ids,
        body.action,
        body.model_dump(exclude={"ids", "action"}),
    )
    done = sum(1 for r in results if r["ok"])
    return {"action": body.action, "ok": done, "failed": len(results) - done, "results": results}


@router.post("/hotline", status_code=201)
def hotline(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    category: Annotated[str, Form(max_length=40)],
    description: Annotated[str, Form(max_length=service.MAX_DESCRIPTION)],
    lat: Annotated[float, Form(ge=-90, le=90)],
    lon: Annotated[float, Form(ge=-180, le=180)],
    address: Annotated[str, Form(max_length=300)] = "",
    name: Annotated[str, Form(max_length=120)] = "",
    phone: Annotated[str, Form(max_length=20, pattern=r"^[0-9+ ]*$")] = "",
) -> dict[str, Any]:
    """An operator enters a report received by phone (đường dây nóng)."""
    principal.require("reports.assign")
    report = service.submit(
        db,
        request.app.state.workflow,
        request.app.state.blobs,
        _locator(request, db),
        category_code=category,
        description=description,
        lat=lat,
        lon=lon,
        address=address,
        name=name,
        phone=phone,
        channel="hotline",
        ip=_ip(request),
        actor=principal,
    )
    path = unit_path_of(db, report.unit_id)
    if not principal.can("reports.assign", path, report.domain):
        raise BadRequest("Vị trí nằm ngoài địa bàn của bạn", "The location is outside your area")
    return views.staff_view(db, request.app.state.workflow, principal, report, path)


@router.get("/{report_id}")
def detail(report_id: DbId, request: Request, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    report = service.get_for_staff(db, principal, report_id)
    return views.staff_view(
        db, request.app.state.workflow, principal, report, unit_path_of(db, report.unit_id)
    )


@router.post("/{report_id}/actions/{name}")
def act(
    report_id: DbId,
    name: str,
    body: TransitionIn,
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    """One procedure step: assign, transfer, accept, pause, resume, resolve, close, reopen, reject, merge."""
    report = service.get_for_staff(db, principal, report_id)
    fields = body.fields()
    if body.agency_id is not None and db.get(Agency, body.agency_id) is None:
        raise BadRequest("Cơ quan không tồn tại", "Unknown agency")
    service.act(db, request.app.state.workflow, report, name[:32], principal, fields)
    return views.staff_view(
        db, request.app.state.workflow, principal, report, unit_path_of(db, report.unit_id)
    )


@router.post("/{report_id}/evidence", status_code=201)
def evidence(
    report_id: DbId,
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    photos: Annotated[list[UploadFile], File()],
) -> list[dict[str, Any]]:
    """Upload result photos before answering (closing a case requires evidence)."""
    report = service.get_for_staff(db, principal, report_id)
    principal.require("reports.handle", unit_path_of(db, report.unit_id), report.domain)
    stored = service.store_photos(db, request.app.state.blobs, report, read_uploads(photos), "evidence")
    return [{"sha256": p.sha256, "width": p.width, "height": p.height} for p in stored]


@router.post("/{report_id}/moderation")
def moderation(
    report_id: DbId, body: ModerationIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Approve (or hide) a report and choose which photos are public."""
    report = service.get_for_staff(db, principal, report_id)
    path = unit_path_of(db, report.unit_id)
    principal.require("reports.moderate", path, report.domain)
    service.moderate(db, principal, report, approve=body.approve, public_photos=body.public_photos)
    return views.staff_view(db, request.app.state.workflow, principal, report, path)


@router.put("/routing", status_code=200)
def set_routing(
    body: RoutingIn, db: SessionDep, principal: Principal = require("reports.configure")
) -> dict[str, Any]:
    """Which agency handles a category in a unit (and below it)."""
    unit = get_unit(db, body.unit_id)
    principal.require("reports.configure", unit.path)
    agency = db.get(Agency, body.agency_id)
    if agency is None:
        raise BadRequest("Cơ quan không tồn tại", "Unknown agency")
    rule = service.set_route(db, unit, service.category_by_code(db, body.category_code), agency)
    return {"unit_id": rule.unit_id, "category_id": rule.category_id, "agency_id": rule.agency_id}
