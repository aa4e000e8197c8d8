"""CAP 1.2 over HTTP: the IOC's public warnings out, and sector systems' alerts in.

Public, no login (what other warning systems and apps poll):
- `GET /cap/warnings.atom`: an Atom feed of the published warnings (live ones, and those expired in the last
  24 hours; at most 100, newest first), each entry linking its CAP document;
- `GET /cap/warnings/{identifier}.xml`: one warning as CAP 1.2 (`application/cap+xml`).

Authenticated:
- `POST /api/v1/alerts/warnings` (warnings.publish over the unit) publishes a warning;
- `GET /api/v1/alerts/warnings` lists the warnings of the caller's units (alerts.read);
- `POST /api/v1/alerts/cap` (events.write) takes one CAP alert (`application/cap+xml` or `application/xml`,
  at most 2 MB) from a sector system that pushes rather than being polled, and records it as events the way
  the CAP connector does. A document that is not a readable CAP alert is refused (400), nothing recorded.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from toancanh.connectors.cap import parse
from toancanh.connectors.cap.const import DEFAULT_STATUSES, MAX_DOCUMENT_BYTES
from toancanh.core.api import deps
from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.auth.scope import Principal, scoped
from toancanh.core.errors import AppError, BadRequest, NotFound, PayloadTooLarge, Unauthorized
from toancanh.modules.alerts import cap_out
from toancanh.modules.alerts.models import PublicWarning
from toancanh.modules.alerts.schemas_cap import WarningIn

router = APIRouter(tags=["cap"])
ATOM_TYPE = "application/atom+xml; charset=utf-8"
CAP_TYPE = "application/cap+xml; charset=utf-8"
PUSH_TYPES = ("application/cap+xml", "application/xml", "text/xml")


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"


def _base_url(request: Request) -> str:
    public: str = request.app.state.settings.public_url
    return (public or str(request.base_url)).rstrip("/")


def _sender(request: Request) -> str:
    sender: str = request.app.state.settings.cap_sender
    return sender


@router.get("/cap/warnings.atom", response_class=Response)
def warnings_feed(request: Request, db: SessionDep) -> Response:
    """The published warnings as an Atom 1.0 feed (public)."""
    body = cap_out.warnings_atom(cap_out.list_public(db), _base_url(request), _sender(request))
    return Response(body, media_type=ATOM_TYPE, headers={"Cache-Control": "public, max-age=60"})


@router.get("/cap/warnings/{identifier}.xml", response_class=Response)
def warning_document(
    request: Request, db: SessionDep, identifier: str = Path(min_length=1, max_length=120)
) -> Response:
    """One published warning as a CAP 1.2 alert (public)."""
    found = cap_out.public_warning(db, identifier)
    if found is None:
        raise NotFound("Không có cảnh báo công khai mã này", "No public warning with this identifier")
    w, unit = found
    body = cap_out.warning_to_cap(w, _sender(request), unit.name, unit.code)
    return Response(body, media_type=CAP_TYPE, headers={"Cache-Control": "public, max-age=60"})


@router.post("/api/v1/alerts/warnings", status_code=201)
def create_warning(
    body: WarningIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Publish a public warning (CAP 1.2) for a unit."""
    w = cap_out.create_warning(db, principal, body, sender=_sender(request))
    return {**cap_out.warning_summary(w), "cap_url": cap_out.cap_url(_base_url(request), w.identifier)}


@router.get("/api/v1/alerts/warnings")
def list_warnings(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    unit_id: DbId | None = None,
    limit: int = Query(default=100, ge=1, le=500),
) -> list[dict[str, Any]]:
    """The warnings of the caller's units, newest first (drafts and unpublished ones included)."""
    stmt = scoped(select(PublicWarning), principal, PublicWarning, "alerts.read")
    if unit_id is not None:
        stmt = stmt.where(PublicWarning.unit_id == unit_id)
    rows = db.scalars(stmt.order_by(PublicWarning.sent_at.desc(), PublicWarning.id.desc()).limit(limit))
    base = _base_url(request)
    return [{**cap_out.warning_summary(w), "cap_url": cap_out.cap_url(base, w.identifier)} for w in rows]


@router.post("/api/v1/alerts/cap")
async def push_cap(request: Request) -> dict[str, Any]:
    """Record one pushed CAP alert as events: {recorded, duplicates, rejected: [reasons], events: [ids]}."""
    # Short sessions of our own: the recording opens its own transaction, which on SQLite would wait for a
    # request-long one holding the write lock.
    principal = await run_in_threadpool(_authenticate, request)
    principal.require("events.write")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in PUSH_TYPES:
        raise UnsupportedMediaType(
            "Gửi bản tin CAP với Content-Type application/cap+xml hoặc application/xml",
            "Send the CAP alert as application/cap+xml or application/xml",
        )
    body = await _read_body(request)
    try:
        alert = parse.parse_alert_bytes(body)
    except parse.CapError as exc:
        raise BadRequest(
            f"Bản tin CAP không hợp lệ: {exc.vi}", f"Invalid CAP alert: {exc.en}", code="invalid_cap"
        ) from None
    return await run_in_threadpool(_record_pushed, request.app, alert, principal)


def _authenticate(request: Request) -> Principal:
    with request.app.state.db.session() as db:
        principal = deps.optional_principal(request, db)
    if principal is None:
        raise Unauthorized()
    return principal


async def _read_body(request: Request) -> bytes:
    too_large = PayloadTooLarge(
        f"Bản tin CAP tối đa {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB",
        f"A CAP alert is at most {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > MAX_DOCUMENT_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_DOCUMENT_BYTES:
            raise too_large
    return bytes(body)


def _record_pushed(app: Any, alert: parse.CapAlert, principal: Principal) -> dict[str, Any]:
    # Imported here: the connector's coordinator imports this module's package (events), not the reverse.
    from toancanh.connectors.cap.coordinator import record_via_app, unit_refs

    why = parse.ignored(alert, getattr(app.state.settings, "cap_statuses", DEFAULT_STATUSES))
    if why is not None:
        return {
            "recorded": 0,
            "duplicates": 0,
            "rejected": [{"index": None, "reason": why.vi, "reason_en": why.en}],
            "events": [],
        }
    with app.state.db.session() as s:
        refs = unit_refs(s, parse.unit_codes([alert]))
    rec = record_via_app(app, parse.to_events(alert, refs), actor=principal)
    return {
        "recorded": len(rec.ids),
        "duplicates": rec.duplicates,
        "rejected": rec.rejected,
        "events": rec.ids,
    }
