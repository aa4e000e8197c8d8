"""Open311 GeoReport v2 at /open311/v2/ (http://wiki.open311.org/GeoReport_v2), with FixMyStreet's
GET servicerequestupdates extension, so that existing Open311 apps send and follow field reports unchanged.
Every resource answers as `.xml` (text/xml) or `.json` (application/json); errors take the specification's
form (`<errors><error><code/><description/></error></errors>`, or `[{"code", "description"}]`): 403 for a
missing or wrong api_key, 404 for what does not exist (an unknown format suffix included), 400 otherwise.

Where the specification leaves a choice, this is ours:
- service_request_id is the report's tracking code. Services are "realtime": no token is ever issued, and
  GET tokens/{token} answers for a tracking code as if it were a token.
- POST requests needs a point (lat and long): routing to the unit and agency in charge needs coordinates,
  and no geocoder works offline. An address_string or address_id alone is refused (400) with a message
  that says so; an address_string sent with a point is kept as the report's address.
- api_key is one of our API keys (`toancanh user apikey`), sent as the form field api_key (or in the
  query string, or the X-API-Key header). Any active user's key may send reports; give Open311 apps a
  service user with a citizen grant. The report's history records that user as who opened it.
- The description must be 10 to 2,000 characters (the specification allows none, and up to 4,000).
- attribute[code] values are checked against the service definition (required ones, datatypes, list keys);
  codes it does not define are ignored, as clients such as FixMyStreet send their own.
- first_name and last_name become one name, family name first, as Vietnamese names are written.
  media_url (one or more) and account_id are kept in the report's attributes under "_open311" (attribute
  codes start with a letter or digit, so it cannot clash); media is never fetched.
- Privacy (Nghị định 13/2023/NĐ-CP): nothing read here names, reaches or pinpoints the reporter. lat and
  long are rounded as on the public map, the description shows only once moderated, media_url is a photo
  moderated public, and address names the administrative units (hamlet, commune, province), not the
  street address the reporter typed. Lists (GET requests, servicerequestupdates) hold moderated reports,
  plus the reports the calling app sent when it gives its api_key; a report asked for by its id (its
  tracking code) is found whatever its moderation, as on the tracking page.
- status: "open" while received, assigned, in progress or paused; "closed" once resolved (answered),
  closed, rejected or merged. expected_datetime is the deadline of the current step on the working-time
  clock (the SLA). status_notes is the answer once resolved, else the state's name.
- Dates are W3C ISO 8601 with an offset; a bare date means midnight in Vietnam. Lists default to the last
  90 days, may not span more than 90, and return at most 1,000 records, newest first (updates: oldest
  first, so that a client can page forward).
- Texts follow Accept-Language ("en" for English), else the site's default language (Vietnamese).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from toancanh.core.auth import service as auth_service
from toancanh.core.auth.scope import Principal
from toancanh.core.db import utcnow
from toancanh.core.errors import AppError
from toancanh.core.i18n import LOCALES
from toancanh.core.units import Agency, Unit, unit_index
from toancanh.core.workflow import CaseHistory
from toancanh.modules.reports import service
from toancanh.modules.reports.models import FieldReport, ReportCategory, ReportPhoto
from toancanh.modules.reports.open311_format import (
    CONTENT_TYPES,
    SPECIFICATION,
    Open311Error,
    RecordContext,
    attribute_defs,
    attribute_values,
    definition_dict,
    parse_w3,
    pick,
    render,
    render_errors,
    request_dict,
    service_dict,
    service_notice,
    state_label,
    status_of,
    update_dict,
    w3,
)
from toancanh.modules.reports.workflow import FIELD_REPORT

router = APIRouter(prefix="/open311/v2", tags=["open311"])
# Not validated by FastAPI (its 422 is not the specification's 404); the enum documents it in OpenAPI.
Fmt = Annotated[str, Path(description="xml or json", json_schema_extra={"enum": ["xml", "json"]})]

MAX_RESULTS = 1000
MAX_SPAN = timedelta(days=90)
MAX_MEDIA_URLS = 5
_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,40})\](\[\])?$")
_PHONE = re.compile(r"^[0-9+() .-]{0,20}$")
_HTTP_STATUS = {403: 403, 401: 403, 404: 404}  # the specification answers 400 for anything else
_NOT_SHOWN = ("sla_warning", "sla_overdue")  # deadline bookkeeping, not a change the public sees
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {t.split(";")[0]: {} for t in CONTENT_TYPES.values()}},
    400: {"description": "Invalid request (Open311 error list)"},
    404: {"description": "Not found (Open311 error list)"},
}


def _locale(request: Request) -> str:
    first = request.headers.get("accept-language", "").split(",")[0].split(";")[0].strip().lower()[:2]
    default: str = request.app.state.settings.default_locale
    return first if first in LOCALES else default


def _serve(request: Request, fmt: str, root: str, work: Callable[[Session, str], Any]) -> Response:
    """Run `work` in one transaction and render its result; a refusal rolls everything back."""
    locale = _locale(request)
    if fmt not in CONTENT_TYPES:
        text = pick(locale, "Định dạng không được hỗ trợ (.xml hoặc .json)", "Unknown format (.xml or .json)")
        return render_errors("xml", 404, [text])
    try:
        with request.app.state.db.session() as db:
            data = work(db, locale)
    except Open311Error as exc:
        return render_errors(fmt, exc.status, [pick(locale, vi, en) for vi, en in exc.problems])
    except AppError as exc:
        status = _HTTP_STATUS.get(exc.status, 400)
        return render_errors(fmt, status, [pick(locale, exc.message, exc.message_en)])
    return render(fmt, root, data)


def _client(db: Session, request: Request, raw: str, *, required: bool) -> Principal | None:
    """The Open311 app calling, by its api_key (or X-API-Key header); 403 when missing or wrong."""
    key = raw.strip() or request.headers.get("x-api-key", "").strip()
    if not key:
        if required:
            raise Open311Error(403, ("Thiếu api_key", "api_key is missing"))
        return None
    user = auth_service.resolve_api_key(db, key, utcnow())
    if user is None:
        raise Open311Error(403, ("api_key không hợp lệ hoặc đã bị thu hồi", "Invalid or revoked api_key"))
    return auth_service.principal_for(db, user, via="api_key")


def _category(db: Session, code: str) -> ReportCategory:
    cat = db.scalar(
        select(ReportCategory).where(ReportCategory.code == code[:40], ReportCategory.active.is_(True))
    )
    if cat is None:
        raise Open311Error(
            404, (f"Không có service_code {code[:40]!r}", f"service_code {code[:40]!r} not found")
        )
    return cat


def _base(request: Request) -> str:
    return str(request.base_url)


# ------------------------------------------------------------------------------------------- discovery


@router.get("/discovery.{fmt}", response_class=Response, responses=_RESPONSES)
def discovery(fmt: Fmt, request: Request) -> Response:
    """Service discovery: where this GeoReport v2 endpoint is, its formats, how to get an API key."""

    def work(db: Session, locale: str) -> dict[str, Any]:
        changed = db.scalar(select(func.max(ReportCategory.updated_at)))
        changeset = w3(changed) or "2025-07-01T00:00:00+07:00"
        site = request.app.state.settings.site_name
        return {
            "changeset": changeset,
            "contact": pick(
                locale,
                f"{site}: liên hệ bộ phận quản trị của Trung tâm Điều hành",
                f"{site}: contact the operations centre's administrators",
            ),
            "key_service": pick(
                locale,
                "Khóa API do quản trị viên cấp (toancanh user apikey, hoặc POST /api/v1/api-keys)",
                "API keys are issued by an administrator (toancanh user apikey, or POST /api/v1/api-keys)",
            ),
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": _base(request) + "open311/v2",
                    "changeset": changeset,
                    "type": "production",
                    "formats": [t.split(";")[0] for t in CONTENT_TYPES.values()],
                }
            ],
        }

    return _serve(request, fmt, "discovery", work)


# ------------------------------------------------------------------------------------------- services


@router.get("/services.{fmt}", response_class=Response, responses=_RESPONSES)
def services(fmt: Fmt, request: Request) -> Response:
    """Service list: one service per active report category."""

    def work(db: Session, locale: str) -> list[dict[str, Any]]:
        rows = db.scalars(
            select(ReportCategory).where(ReportCategory.active.is_(True)).order_by(ReportCategory.id)
        )
        return [service_dict(c, locale) for c in rows]

    return _serve(request, fmt, "services", work)


@router.get("/services/{service_code}.{fmt}", response_class=Response, responses=_RESPONSES)
def service_definition(service_code: str, fmt: Fmt, request: Request) -> Response:
    """Service definition: the attributes a request of this service carries."""
    return _serve(
        request,
        fmt,
        "service_definition",
        lambda db, locale: definition_dict(_category(db, service_code), locale),
    )


# ------------------------------------------------------------------------------------------- POST requests


_FORM_FIELDS = [
    *("api_key", "service_code", "lat", "long", "address_string", "address_id", "email", "device_id"),
    *("account_id", "first_name", "last_name", "phone", "description"),
]
_POST_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "required": ["api_key", "service_code"],
                    "properties": {
                        **{name: {"type": "string"} for name in _FORM_FIELDS},
                        "media_url": {"type": "array", "items": {"type": "string"}},
                    },
                }
            }
        },
    }
}


@router.post(
    "/requests.{fmt}",
    response_class=Response,
    responses={**_RESPONSES, 403: {"description": "Missing or invalid api_key"}},
    openapi_extra=_POST_DOC,
)
async def post_request(fmt: Fmt, request: Request) -> Response:
    """Send a service request (a field report): form-encoded, as the specification says."""
    try:
        form = await request.form(max_files=0, max_fields=200)
    except HTTPException as exc:  # a malformed form is the client's error, said in the specification's terms
        if exc.status_code == 413:
            raise
        text = f"Dữ liệu gửi lên không đọc được / Unreadable form: {str(exc.detail)[:100]}"
        return render_errors(fmt if fmt in CONTENT_TYPES else "xml", 400, [text])
    return await run_in_threadpool(
        _serve, request, fmt, "service_requests", lambda db, loc: _submit(db, request, form, loc)
    )


def _one(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _submit(db: Session, request: Request, form: FormData, locale: str) -> list[dict[str, Any]]:
    client = _client(
        db, request, _one(form, "api_key") or request.query_params.get("api_key", ""), required=True
    )
    code = _one(form, "service_code")
    if not code:
        raise Open311Error(400, ("Thiếu service_code", "service_code is missing"))
    category = _category(db, code)
    lat, lon = _point(form)
    values, problems = attribute_values(_submitted_attributes(form), attribute_defs(category), locale)
    extra = _open311_extra(form, problems)
    first, last = _one(form, "first_name"), _one(form, "last_name")
    name = f"{last} {first}".strip()  # family name first, as Vietnamese names are written
    phone, email = _one(form, "phone"), _one(form, "email")
    device_id = _one(form, "device_id")
    if len(name) > 120:
        problems.append(
            ("Họ tên quá dài (tối đa 120 ký tự)", "first_name and last_name: at most 120 characters")
        )
    if not _PHONE.match(phone):
        problems.append(("Số điện thoại không hợp lệ", "Invalid phone number"))
    if email and (len(email) > 200 or "@" not in email or any(c.isspace() for c in email)):
        problems.append(("Địa chỉ email không hợp lệ", "Invalid email address"))
    if len(device_id) > 64:
        problems.append(("device_id quá dài (tối đa 64 ký tự)", "device_id: at most 64 characters"))
    if problems:
        raise Open311Error(400, *problems)
    report = service.submit(
        db,
        request.app.state.workflow,
        request.app.state.blobs,
        unit_index(db, request.app.state).locate,
        category_code=category.code,
        description=_one(form, "description"),
        lat=lat,
        lon=lon,
        address=_one(form, "address_string")[:300],
        name=name,
        phone=phone,
        email=email,
        channel="open311",
        attributes={**values, **({"_open311": extra} if extra else {})},
        device_id=device_id,
        ip=request.client.host if request.client else "",
        actor=client,
    )
    return [
        {
            "service_request_id": str(report.id),
            "service_notice": service_notice(category, locale),
            "account_id": extra.get("account_id"),
        }
    ]


def _point(form: FormData) -> tuple[float, float]:
    lat_raw, lon_raw = _one(form, "lat"), _one(form, "long")
    if not lat_raw and not lon_raw:
        if _one(form, "address_string") or _one(form, "address_id"):
            raise Open311Error(
                400,
                (
                    "Cần tọa độ lat và long: hệ thống chưa định vị được address_string hoặc address_id "
                    "để chuyển phản ánh đến đúng địa bàn",
                    "lat and long are required: this jurisdiction cannot place an address_string or "
                    "address_id, and needs a point to route the request",
                ),
            )
        raise Open311Error(400, ("Cần vị trí: lat và long", "A location is required: lat and long"))
    if not lat_raw or not lon_raw:
        raise Open311Error(400, ("Cần gửi cả lat và long", "lat and long must both be sent"))
    try:
        lat, lon = float(lat_raw), float(lon_raw)
    except ValueError:
        raise Open311Error(400, ("lat và long phải là số", "lat and long must be numbers")) from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise Open311Error(400, ("Tọa độ không hợp lệ", "Invalid coordinates"))
    return lat, lon


def _submitted_attributes(form: FormData) -> dict[str, list[str]]:
    """attribute[code]=value and, for a multivaluelist, attribute[code][]=value (repeated)."""
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        m = _ATTRIBUTE.match(key)
        if m and isinstance(value, str):
            out.setdefault(m.group(1), []).append(value)
    return out


def _open311_extra(form: FormData, problems: list[tuple[str, str]]) -> dict[str, Any]:
    """media_url(s) and account_id, kept with the report (media is never fetched)."""
    extra: dict[str, Any] = {}
    urls = [v.strip() for v in form.getlist("media_url") if isinstance(v, str) and v.strip()]
    if not all(_is_http_url(u) for u in urls) or len(urls) > MAX_MEDIA_URLS:
        problems.append(
            (
                f"media_url phải là địa chỉ http(s), tối đa {MAX_MEDIA_URLS} địa chỉ",
                f"media_url must be http(s) URLs, at most {MAX_MEDIA_URLS}",
            )
        )
    elif urls:
        extra["media_url"] = urls
    account_id = _one(form, "account_id")
    if len(account_id) > 64:
        problems.append(("account_id quá dài (tối đa 64 ký tự)", "account_id: at most 64 characters"))
    elif account_id:
        extra["account_id"] = account_id
    return extra


def _is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return len(url) <= 500 and parts.scheme in ("http", "https") and bool(parts.netloc)


# ------------------------------------------------------------------------------------------- GET requests


@router.get("/tokens/{token}.{fmt}", response_class=Response, responses=_RESPONSES)
def token(token: str, fmt: Fmt, request: Request) -> Response:
    """Requests get their id at once; a token is answered as the request id it would stand for."""

    def work(db: Session, locale: str) -> list[dict[str, Any]]:
        report = service.by_public_id(db, token)
        return [{"service_request_id": str(report.id), "token": token}]

    return _serve(request, fmt, "service_requests", work)


@router.get("/requests/{service_request_id}.{fmt}", response_class=Response, responses=_RESPONSES)
def get_request(service_request_id: str, fmt: Fmt, request: Request) -> Response:
    """One service request, by its id (the report's public number, never the reporter's tracking code)."""

    def work(db: Session, locale: str) -> list[dict[str, Any]]:
        return _records(db, request, [service.by_public_id(db, service_request_id)], locale)

    return _serve(request, fmt, "service_requests", work)


@router.get("/requests.{fmt}", response_class=Response, responses=_RESPONSES)
def get_requests(
    fmt: Fmt,
    request: Request,
    service_request_id: Annotated[list[str] | None, Query()] = None,
    service_code: Annotated[list[str] | None, Query()] = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: Annotated[list[str] | None, Query()] = None,
    api_key: str | None = None,
) -> Response:
    """Service requests by ids (comma-separated; overrides the rest), or by service, dates and status."""

    def work(db: Session, locale: str) -> list[dict[str, Any]]:
        ids = _split(service_request_id)
        if ids:
            if len(ids) > MAX_RESULTS:
                raise Open311Error(400, ("Quá nhiều service_request_id", "Too many service_request_id"))
            numbers = [int(i) for i in ids if i.isdecimal() and len(i) < 19]
            stmt = select(FieldReport).where(FieldReport.id.in_(numbers))
        else:
            client = _client(db, request, api_key or "", required=False)
            start, end = _date_range(start_date, end_date)
            stmt = select(FieldReport).where(
                _listed(client), FieldReport.created_at >= start, FieldReport.created_at <= end
            )
            codes = _split(service_code)
            if codes:
                cats = select(ReportCategory.id).where(ReportCategory.code.in_(codes))
                stmt = stmt.where(FieldReport.category_id.in_(cats))
            wanted = _split(status)
            if wanted:
                if not set(wanted) <= {"open", "closed"}:
                    raise Open311Error(
                        400, ("status chỉ nhận open hoặc closed", "status must be open or closed")
                    )
                states = [s for s in FIELD_REPORT.states if status_of(s) in wanted]
                stmt = stmt.where(FieldReport.state.in_(states))
        rows = db.scalars(
            stmt.order_by(FieldReport.created_at.desc(), FieldReport.id.desc()).limit(MAX_RESULTS)
        )
        return _records(db, request, list(rows), locale)

    return _serve(request, fmt, "service_requests", work)


def _split(values: Iterable[str] | None) -> list[str]:
    """Values given comma-separated, or by repeating the parameter; empty ones ignored."""
    return [p.strip() for v in values or () for p in v.split(",") if p.strip()]


def _listed(client: Principal | None) -> ColumnElement[bool]:
    """Which reports a list shows: the moderated ones, and those the calling app sent."""
    approved: ColumnElement[bool] = FieldReport.moderation == "approved"
    if client is None:
        return approved
    sent_by_client = select(CaseHistory.case_id).where(
        CaseHistory.case_type == FIELD_REPORT.name,
        CaseHistory.transition == "open",
        CaseHistory.actor_id == client.user_id,
    )
    return or_(approved, FieldReport.id.in_(sent_by_client))


def _records(
    db: Session, request: Request, reports: Sequence[FieldReport], locale: str
) -> list[dict[str, Any]]:
    """The public records of `reports`, with a fixed number of queries however many there are."""
    if not reports:
        return []
    cats = {c.id: c for c in db.scalars(select(ReportCategory))}
    agency_ids = {r.assignee_agency_id for r in reports if r.assignee_agency_id}
    agencies = (
        {a.id: a for a in db.scalars(select(Agency).where(Agency.id.in_(agency_ids)))} if agency_ids else {}
    )
    places = _addresses(db, {r.unit_id for r in reports})
    photos = _public_photos(db, [r.id for r in reports], request)
    out = []
    for r in reports:
        agency = agencies.get(r.assignee_agency_id or 0)
        address, code = places.get(r.unit_id, (None, None))
        ctx = RecordContext(
            category=cats.get(r.category_id),
            agency_name=pick(locale, agency.name, agency.name_en) if agency else None,
            address=address,
            address_id=code,
            media_url=photos.get((r.id, "report")) or photos.get((r.id, "evidence")),
        )
        out.append(request_dict(r, ctx, locale))
    return out


def _addresses(db: Session, unit_ids: set[int]) -> dict[int, tuple[str, str]]:
    """Each unit's public address: its name and its ancestors' names, most specific first; and its code."""
    units = list(db.scalars(select(Unit).where(Unit.id.in_(unit_ids))))
    codes = {c for u in units for c in u.path.strip("/").split("/") if c}
    names = dict(db.execute(select(Unit.code, Unit.name).where(Unit.code.in_(codes))).tuples().all())
    out = {}
    for u in units:
        chain = [names.get(c, "") for c in reversed(u.path.strip("/").split("/")) if c]
        out[u.id] = (", ".join(n for n in chain if n) or u.name, u.code)
    return out


def _public_photos(db: Session, report_ids: Sequence[int], request: Request) -> dict[tuple[int, str], str]:
    """The first photo of each kind moderated public, by (report id, kind), as an absolute URL."""
    rows = db.execute(
        select(
            ReportPhoto.report_id,
            ReportPhoto.kind,
            func.coalesce(ReportPhoto.public_sha256, ReportPhoto.sha256),  # blurred for the public
        )
        .where(ReportPhoto.report_id.in_(report_ids), ReportPhoto.public.is_(True))
        .order_by(ReportPhoto.id)
    ).tuples()
    out: dict[tuple[int, str], str] = {}
    for report_id, kind, sha in rows:
        out.setdefault((report_id, kind), f"{_base(request)}reports/photo/{sha}")
    return out


# ------------------------------------------------------------------------------------------- updates


@router.get("/servicerequestupdates.{fmt}", response_class=Response, responses=_RESPONSES)
def service_request_updates(
    fmt: Fmt,
    request: Request,
    start_date: str | None = None,
    end_date: str | None = None,
    api_key: str | None = None,
) -> Response:
    """FixMyStreet's extension: the steps of listed reports between two dates, oldest first."""

    def work(db: Session, locale: str) -> list[dict[str, Any]]:
        client = _client(db, request, api_key or "", required=False)
        start, end = _date_range(start_date, end_date)
        rows = (
            db.execute(
                select(CaseHistory, FieldReport)
                .join(FieldReport, FieldReport.id == CaseHistory.case_id)
                .where(
                    CaseHistory.case_type == FIELD_REPORT.name,
                    CaseHistory.transition.not_in(_NOT_SHOWN),
                    CaseHistory.at >= start,
                    CaseHistory.at <= end,
                    _listed(client),
                )
                .order_by(CaseHistory.at, CaseHistory.id)
                .limit(MAX_RESULTS)
            )
            .tuples()
            .all()
        )
        agency_ids = {h.assignee_agency_id for h, _ in rows if h.assignee_agency_id}
        agencies = (
            {a.id: a for a in db.scalars(select(Agency).where(Agency.id.in_(agency_ids)))}
            if agency_ids
            else {}
        )
        photos = _public_photos(db, list({r.id for _, r in rows}), request)
        out = []
        for h, report in rows:
            text = state_label(h.to_state, locale)
            agency = agencies.get(h.assignee_agency_id or 0)
            if h.transition in ("assign", "transfer") and agency is not None:
                text = f"{text}: {pick(locale, agency.name, agency.name_en)}"
            elif h.transition == "resolve" and str((h.data or {}).get("answer") or "").strip():
                text = str(h.data["answer"]).strip()  # the answer, public once given (as on the report page)
            media = {
                "open": photos.get((report.id, "report")),
                "resolve": photos.get((report.id, "evidence")),
            }
            out.append(update_dict(h.id, report, h.at, h.to_state, text, media.get(h.transition)))
        return out

    return _serve(request, fmt, "service_request_updates", work)


# ------------------------------------------------------------------------------------------- dates


def _date_range(start_raw: str | None, end_raw: str | None) -> tuple[datetime, datetime]:
    """start_date..end_date: a missing end is 90 days after the start, a missing start 90 days before."""
    start = parse_w3(start_raw, "start_date") if start_raw and start_raw.strip() else None
    end = parse_w3(end_raw, "end_date") if end_raw and end_raw.strip() else None
    if start is None:
        end = end or utcnow()
        start = end - MAX_SPAN
    elif end is None:
        end = start + MAX_SPAN
    if start > end:
        raise Open311Error(400, ("start_date sau end_date", "start_date is after end_date"))
    if end - start > MAX_SPAN:
        raise Open311Error(
            400, ("Khoảng thời gian tối đa 90 ngày", "The date range may not span more than 90 days")
        )
    return start, end
