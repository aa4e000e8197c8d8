"""Pages of the reports module.

Citizens (no login): the phone page `/phan-anh` (an installable PWA), tracking `/phan-anh/tra-cuu/{code}`
and the public map `/phan-anh/cong-khai`. Staff (login): the queue `/reports/queue` and the case page
`/reports/{id}`. The pages render what the JSON API returns and act through it (fetch from static JS; the
CSP allows no inline script). Also served here: report photos with their visibility rules, and the static
files of these pages.
"""

from __future__ import annotations

import io
import re
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from PIL import Image, ImageDraw
from sqlalchemy import ColumnElement, false, func, or_, select, true

from toancanh.core.api.deps import SessionDep
from toancanh.core.auth.scope import Principal, unit_path_of
from toancanh.core.errors import NotFound
from toancanh.core.i18n import gettext
from toancanh.core.units import LEVEL_COMMUNE, Agency, Unit
from toancanh.core.workflow import CaseHistory
from toancanh.core.worktime import VN_TZ
from toancanh.modules.reports import service, views
from toancanh.modules.reports.models import FieldReport, ReportCategory, ReportPhoto
from toancanh.modules.reports.workflow import FIELD_REPORT
from toancanh.web import render
from toancanh.web.pages import locale_of, page_principal, web_principal

router = APIRouter()
STATIC = Path(__file__).parent / "static"
_STATIC_NAME = re.compile(r"^[a-z0-9-]+\.(js|css|svg)$")
_MEDIA = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}
_CODE = re.compile(r"^[A-Z0-9]{4,16}$")
THEME = "#0a5cad"
PROGRESS = ("received", "assigned", "in_progress", "resolved", "closed")
REJECT_LABELS = {  # workflow.REJECT_REASONS, in words
    "out_of_scope": "Not within the competence of the authorities",
    "duplicate": "Duplicate of another report",
    "false_report": "Incorrect information",
    "insufficient_information": "Not enough information to handle",
}

# Messages of the static scripts, by key; the page hands them over translated (a JSON data block).
CITIZEN_JS = {
    "need_category": "Choose what the problem is about",
    "need_description": "Describe the problem in at least 10 characters",
    "need_location": "A location is needed: use GPS, tap the map, or attach a photo taken with location on",
    "bad_phone": "The phone number may contain only digits, spaces and +",
    "max_photos": "At most 5 photos",
    "not_image": "This file is not a photo",
    "gps_wait": "Finding your location…",
    "gps_denied": "Location access was refused. Tap the map to choose the place.",
    "gps_failed": "Your location could not be found. Tap the map to choose the place.",
    "gps_none": "This device cannot give a location. Tap the map to choose the place.",
    "loc_gps": "Location from GPS",
    "loc_map": "Location chosen on the map",
    "loc_accuracy": "accuracy about",
    "loc_outside": "This point is outside the area served",
    "sending": "Sending…",
    "send": "Send report",
    "offline": "No network connection. Your report is still here: try again when you are online.",
    "error": "Something went wrong, please try again",
    "remove": "Remove",
    "checking": "Checking for similar reports nearby…",
    "followed": "Thank you. You now follow this report; it has been reported by",
    "people": "people",
    "follow": "Follow this report instead",
    "distance": "away",
    "supporters": "reporters",
    "view": "View",
    "copied": "Copied",
}
TRACK_JS = {
    "need_rating": "Choose 1 to 5 stars",
    "need_satisfied": "Say whether you are satisfied",
    "sending": "Sending…",
    "reopened": "Your report has been reopened for the agency to handle again.",
    "error": "Something went wrong, please try again",
    "offline": "No network connection. Try again when you are online.",
}
STAFF_JS = {
    "error": "Something went wrong, please try again",
    "sending": "Sending…",
    "uploading": "Uploading photos…",
    "need_evidence": "Upload or select at least one result photo",
    "open": "Open",
    "reports": "reports",
    "selected": "selected",
    "need_selection": "Tick at least one report",
    "need_agency": "Choose an agency",
    "bulk_done": "Done",
    "bulk_failed": "not done",
    "need_boxes": "Drag over the photo to mark the regions to blur",
    "boxes": "regions",
}


# ------------------------------------------------------------------------------------------- helpers


def vn_time(value: str | datetime | None, fmt: str = "%H:%M %d/%m/%Y") -> str:
    """A timestamp as Vietnamese readers expect it, in Vietnam's time zone."""
    if not value:
        return ""
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    return dt.astimezone(VN_TZ).strftime(fmt)


def _strings(request: Request, messages: dict[str, str]) -> dict[str, str]:
    locale = locale_of(request)
    return {k: gettext(locale, v) for k, v in messages.items()}


def _categories(db: Any) -> list[ReportCategory]:
    stmt = select(ReportCategory).where(ReportCategory.active.is_(True)).order_by(ReportCategory.id)
    return list(db.scalars(stmt))


def _area_name(db: Any, fallback: str) -> str:
    """The commune served, when there is exactly one (the usual commune IOC); else the site's name."""
    names = db.scalars(
        select(Unit.name).where(Unit.level == LEVEL_COMMUNE, Unit.boundary.is_not(None)).limit(2)
    ).all()
    return str(names[0]) if len(names) == 1 else fallback


def _citizen_context(request: Request, db: Any, **extra: Any) -> dict[str, Any]:
    return {"area_name": _area_name(db, request.app.state.settings.site_name), "vn": vn_time, **extra}


def _progress(state: str, reached: set[str]) -> list[dict[str, Any]]:
    """The five steps a citizen follows, each done, current or to come."""
    out = []
    for s in PROGRESS:
        status = "current" if s == state else ("done" if s in reached else "todo")
        out.append(
            {
                "state": s,
                "label": FIELD_REPORT.label(s, "vi"),
                "label_en": FIELD_REPORT.label(s, "en"),
                "status": status,
            }
        )
    return out


def _last_reason(db: Any, report: FieldReport, transition: str) -> str:
    row = db.scalar(
        select(CaseHistory)
        .where(
            CaseHistory.case_type == FIELD_REPORT.name,
            CaseHistory.case_id == report.id,
            CaseHistory.transition == transition,
        )
        .order_by(CaseHistory.id.desc())
        .limit(1)
    )
    return str((row.data or {}).get("reason", "")) if row is not None else ""


def _photo_response(request: Request, sha256: str) -> Response:
    data = request.app.state.blobs.read(sha256)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


# ------------------------------------------------------------------------------------------- files


@router.get("/reports/photo/{sha256}")
def photo(sha256: str, request: Request, db: SessionDep) -> Response:
    """A report photo: public once moderated (the blurred version only, when there is one); otherwise, and
    for an original that was blurred for the public, only to staff who may read the report."""
    sha256 = sha256[:64]
    rows = db.scalars(
        select(ReportPhoto).where(or_(ReportPhoto.sha256 == sha256, ReportPhoto.public_sha256 == sha256))
    ).all()
    if not rows:
        raise NotFound("Không tìm thấy ảnh", "Photo not found")
    allowed = any(p.public and p.published_sha256 == sha256 for p in rows)
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
    return _photo_response(request, sha256)


@router.get("/reports/static/{name}")
def static_file(name: str) -> Response:
    """The scripts, styles and icon of these pages (a fixed folder, no sub-folders)."""
    path = STATIC / name
    if not _STATIC_NAME.fullmatch(name) or not path.is_file():
        raise NotFound()
    return FileResponse(
        path, media_type=_MEDIA[name.rsplit(".", 1)[1]], headers={"Cache-Control": "no-cache"}
    )


@router.get("/phan-anh/sw.js")
def service_worker() -> Response:
    """The service worker; served under /phan-anh and allowed that scope, so it controls only these pages."""
    headers = {"Cache-Control": "no-cache", "Service-Worker-Allowed": "/phan-anh"}
    return FileResponse(STATIC / "sw.js", media_type="text/javascript", headers=headers)


@router.get("/phan-anh/manifest.webmanifest")
def manifest(request: Request) -> Response:
    locale = locale_of(request)
    site = request.app.state.settings.site_name
    body = {
        "name": f"{gettext(locale, 'Field reports')} — {site}",
        "short_name": gettext(locale, "Field reports"),
        "description": gettext(locale, "Report a problem where you live, with photos and location"),
        "lang": locale,
        "start_url": "/phan-anh",
        "scope": "/phan-anh",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f3f6fa",
        "theme_color": THEME,
        "icons": [
            {"src": "/reports/static/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
            {"src": "/phan-anh/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {
                "src": "/phan-anh/icon-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "any maskable",
            },
        ],
    }
    return JSONResponse(body, media_type="application/manifest+json", headers={"Cache-Control": "no-cache"})


@cache
def _icon_png(size: int) -> bytes:
    """The app icon as PNG (some launchers ignore SVG): a white map pin on the theme colour."""
    img = Image.new("RGB", (size, size), THEME)
    d = ImageDraw.Draw(img)
    u = size / 100
    d.ellipse((30 * u, 18 * u, 70 * u, 58 * u), fill="white")
    d.polygon([(33 * u, 48 * u), (67 * u, 48 * u), (50 * u, 82 * u)], fill="white")
    d.ellipse((41 * u, 29 * u, 59 * u, 47 * u), fill=THEME)
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


@router.get("/phan-anh/icon-{size}.png")
def icon(size: int) -> Response:
    if size not in (192, 512):
        raise NotFound()
    return Response(_icon_png(size), media_type="image/png", headers={"Cache-Control": "max-age=86400"})


# ------------------------------------------------------------------------------------------- citizens


@router.get("/phan-anh")
def citizen_page(request: Request, db: SessionDep) -> Response:
    """The citizen's phone page: category, photos, location, description, contact, duplicates, send."""
    ctx = _citizen_context(request, db, categories=_categories(db), js=_strings(request, CITIZEN_JS))
    return render(request, "reports/citizen.html", ctx)  # type: ignore[no-any-return]


@router.get("/phan-anh/tra-cuu")
def track_form(request: Request, db: SessionDep, ma: str = Query(default="", max_length=40)) -> Response:
    code = ma.strip().upper()
    if code and _CODE.fullmatch(code):
        return RedirectResponse(f"/phan-anh/tra-cuu/{code}", status_code=303)
    ctx = _citizen_context(request, db, code=ma, error="bad_code" if ma else None)
    return render(request, "reports/track_form.html", ctx, 400 if ma else 200)  # type: ignore[no-any-return]


@router.get("/phan-anh/tra-cuu/{code}")
def track_page(code: str, request: Request, db: SessionDep) -> Response:
    """Status, timeline, the agency's answer with its evidence, and the rating form once resolved."""
    try:
        report = service.by_code(db, code)
    except NotFound:
        ctx = _citizen_context(request, db, code=code[:16], error="not_found")
        return render(request, "reports/track_form.html", ctx, 404)  # type: ignore[no-any-return]
    view = views.citizen_view(db, report)
    photos = db.scalars(
        select(ReportPhoto).where(ReportPhoto.report_id == report.id).order_by(ReportPhoto.id)
    )
    shown = [p for p in photos if p.kind == "evidence" or p.public]
    hidden = db.scalar(
        select(func.count()).where(
            ReportPhoto.report_id == report.id, ReportPhoto.kind == "report", ReportPhoto.public.is_(False)
        )
    )
    reached = {t["state"] for t in view["timeline"]}
    ctx = _citizen_context(
        request,
        db,
        r=view,
        code=report.tracking_code,
        photos=[
            {"url": f"/phan-anh/tra-cuu/{report.tracking_code}/anh/{p.sha256}", "kind": p.kind} for p in shown
        ],
        hidden_photos=hidden or 0,
        progress=_progress(report.state, reached),
        reject_reason=_last_reason(db, report, "reject") if report.state == "rejected" else "",
        js=_strings(request, TRACK_JS),
    )
    return render(request, "reports/track.html", ctx)  # type: ignore[no-any-return]


@router.get("/phan-anh/tra-cuu/{code}/anh/{sha256}")
def track_photo(code: str, sha256: str, request: Request, db: SessionDep) -> Response:
    """A photo for the holder of the tracking code: the agency's evidence, and photos made public.

    The citizen's own photos stay unpublished until moderated: codes are shown on the public map, so a
    code alone must not open what the moderators have not approved.
    """
    report = service.by_code(db, code)
    p = db.scalar(
        select(ReportPhoto)
        .where(ReportPhoto.report_id == report.id, ReportPhoto.sha256 == sha256[:64])
        .limit(1)
    )
    if p is None or not (p.kind == "evidence" or p.public):
        raise NotFound("Không tìm thấy ảnh", "Photo not found")
    return _photo_response(request, p.published_sha256)


@router.get("/phan-anh/cong-khai")
def public_page(request: Request, db: SessionDep) -> Response:
    """Moderated reports on a map and in a list: rounded coordinates, no identity."""
    rows = db.scalars(
        select(FieldReport)
        .where(FieldReport.moderation == "approved")
        .order_by(FieldReport.id.desc())
        .limit(100)
    )
    items = [views.public_view(db, r) for r in rows]
    total = db.scalar(select(func.count()).where(FieldReport.moderation == "approved")) or 0
    done = (
        db.scalar(
            select(func.count()).where(
                FieldReport.moderation == "approved", FieldReport.state.in_(("resolved", "closed"))
            )
        )
        or 0
    )
    used = {i["category"].get("code") for i in items}
    cats = [c for c in _categories(db) if c.code in used]
    ctx = _citizen_context(request, db, items=items, total=total, done=done, categories=cats)
    return render(request, "reports/public.html", ctx)  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------- staff


def _int(value: str) -> int | None:
    return int(value) if value.isdecimal() and len(value) < 19 else None


def _in_grants(principal: Principal) -> ColumnElement[bool]:
    """Units under the caller's report grants, whatever their domains: a unit or an agency is a place to
    filter by or hand a case to, not data (the generic scope shows nothing without a domain to a
    domain-limited grant, e.g. the commune police)."""
    paths = {g.unit_path for g in principal.grants_for("reports.read")}
    if "/" in paths:
        return true()
    return or_(*[Unit.path.startswith(p) for p in sorted(paths)]) if paths else false()


def _units(db: Any, principal: Principal) -> list[Unit]:
    stmt = select(Unit).where(_in_grants(principal), Unit.level >= LEVEL_COMMUNE, Unit.boundary.is_not(None))
    return list(db.scalars(stmt.order_by(Unit.path).limit(500)))


def _agencies(db: Any, principal: Principal) -> list[Agency]:
    stmt = (
        select(Agency)
        .join(Unit, Unit.id == Agency.unit_id)
        .where(_in_grants(principal), Agency.active.is_(True))
        .order_by(Agency.name)
        .limit(2000)
    )
    return list(db.scalars(stmt))


@router.get("/reports/queue")
def queue_page(
    request: Request,
    db: SessionDep,
    state: str = Query(default="", max_length=20),
    category: str = Query(default="", max_length=40),
    overdue: str = Query(default="", max_length=5),
    priority: str = Query(default="", max_length=10),
    unit_id: str = Query(default="", max_length=20),
    agency_id: str = Query(default="", max_length=20),
) -> Any:
    """The processing queue with filters, on a map (clustered) and in a table."""
    principal = page_principal(request, db, "reports.read")
    if isinstance(principal, Response):
        return principal
    cats = {c.id: c for c in db.scalars(select(ReportCategory))}
    by_code = {c.code: c for c in cats.values()}
    states: tuple[str, ...] = ()
    if state == "open":
        states = ("received", "assigned", "in_progress", "paused")
    elif state in FIELD_REPORT.states:
        states = (state,)
    rows = service.staff_queue(
        db,
        principal,
        states=states,
        category_id=by_code[category].id if category in by_code else None,
        unit_id=_int(unit_id),
        agency_id=_int(agency_id),
        overdue={"1": True, "0": False}.get(overdue),
        priority=priority if priority in ("normal", "urgent") else None,
        limit=300,
    )
    agencies = _agencies(db, principal)
    assigned = {r.assignee_agency_id for r in rows if r.assignee_agency_id}
    names = dict(db.execute(select(Agency.id, Agency.name).where(Agency.id.in_(assigned))).tuples().all())
    items = []
    for r in rows:
        item = views.queue_row(db, r, cats)
        item["agency"] = names.get(r.assignee_agency_id or 0, "")
        item["state_label_en"] = FIELD_REPORT.label(r.state, "en")
        items.append(item)
    ctx = {
        "rows": items,
        "f": {
            "state": state,
            "category": category,
            "overdue": overdue,
            "priority": priority,
            "unit_id": unit_id,
            "agency_id": agency_id,
        },
        "states": [
            (s, FIELD_REPORT.label(s, "vi"), FIELD_REPORT.label(s, "en")) for s in FIELD_REPORT.states
        ],
        "categories": sorted(cats.values(), key=lambda c: c.id),
        "units": _units(db, principal),
        "agencies": agencies,
        "counts": {
            "overdue": sum(1 for i in items if i["sla_status"] == "overdue"),
            "urgent": sum(1 for i in items if i["priority"] == "urgent"),
        },
        "vn": vn_time,
        "js": _strings(request, STAFF_JS),
        "can_bulk": principal.has("reports.assign") or principal.has("reports.moderate"),
        "bulk_actions": [
            ("assign", "Assign"),
            ("reject", "Reject"),
            ("close", "Close"),
            ("approve", "Approve for the public"),
            ("hide", "Hide"),
        ],
        "reject_reasons": list(REJECT_LABELS.items()),
    }
    return render(request, "reports/queue.html", ctx)


def _agency_choices(db: Any, principal: Principal, report: FieldReport) -> list[dict[str, Any]]:
    """Agencies in the caller's units, those working in the report's domain (`fits`) first."""
    rows = [{**a.summary(), "fits": report.domain in (a.domains or [])} for a in _agencies(db, principal)]
    return sorted(rows, key=lambda a: (not a["fits"], a["name"]))


def _merge_choices(db: Any, principal: Principal, report: FieldReport) -> list[FieldReport]:
    """Open reports of the same kind close by that the caller may read: the likely duplicates."""
    cat = db.get(ReportCategory, report.category_id)
    if cat is None:
        return []
    return [
        r
        for r, _ in service.nearby(db, cat, report.lat, report.lon, radius_m=300)
        if r.id != report.id and principal.can("reports.read", unit_path_of(db, r.unit_id), r.domain)
    ][:20]


def _history(db: Any, view: dict[str, Any], agencies: dict[int, str]) -> list[dict[str, Any]]:
    out = []
    for h in view["timeline"]:
        data = h.get("data") or {}
        details = []
        if data.get("agency_id"):
            details.append(("agency", agencies.get(int(data["agency_id"]), f"#{data['agency_id']}")))
        if data.get("days") and h.get("transition") == "extend":
            details.append(("days", str(data["days"])))
            if data.get("due_at"):
                details.append(("due_at", vn_time(str(data["due_at"]))))
        for key in ("reason", "answer", "comment"):
            if data.get(key):
                details.append((key, str(data[key])))
        if data.get("rating"):
            details.append(("rating", f"{data['rating']}/5"))
        out.append({**h, "details": details, "when": vn_time(h["at"])})
    return out


@router.get("/reports/{report_id:int}")
def detail_page(report_id: int, request: Request, db: SessionDep) -> Any:
    """One report for staff: timeline, photos, identity when allowed, and the steps they may take now."""
    principal = page_principal(request, db, "reports.read")
    if isinstance(principal, Response):
        return principal
    try:
        report = service.get_for_staff(db, principal, report_id)
    except NotFound:
        return render(request, "error.html", {"title": gettext(locale_of(request), "Report not found")}, 404)
    path = unit_path_of(db, report.unit_id)
    view = views.staff_view(db, request.app.state.workflow, principal, report, path)
    choices = _agency_choices(db, principal, report)
    names = {a["id"]: a["name"] for a in choices}
    assignee = db.get(Agency, report.assignee_agency_id) if report.assignee_agency_id else None
    if assignee is not None:
        names[assignee.id] = assignee.name
    photos = db.scalars(
        select(ReportPhoto).where(ReportPhoto.report_id == report.id).order_by(ReportPhoto.id)
    )
    unit = db.get(Unit, report.unit_id)
    transitions = [t for t in (FIELD_REPORT.find(n) for n in view["available"]) if t is not None]
    ctx = {
        "r": view,
        "unit": unit,
        "assignee": assignee,
        "photos": [
            {
                "sha256": p.sha256,
                "url": f"/reports/photo/{p.sha256}",
                "kind": p.kind,
                "public": p.public,
                "public_url": f"/reports/photo/{p.public_sha256}" if p.public_sha256 else None,
                "width": p.width,
                "height": p.height,
            }
            for p in photos
        ],
        "history": _history(db, view, names),
        "transitions": transitions,
        "agencies": choices,
        "merge_choices": _merge_choices(db, principal, report) if "merge" in view["available"] else [],
        "reject_reasons": list(REJECT_LABELS.items()),
        "can_moderate": principal.can("reports.moderate", path, report.domain),
        "vn": vn_time,
        "js": _strings(request, STAFF_JS),
    }
    return render(request, "reports/detail.html", ctx)
