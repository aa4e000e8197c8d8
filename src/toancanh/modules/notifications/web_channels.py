"""The notification channels page (kênh thông báo) for administrators: gateways, routes, webhooks and the
last deliveries, with forms that go through the same services (and validation) as the API.

Forms post with the session's CSRF token; a refused form re-renders the page with the reasons and changes
nothing. A test message is sent at once and the page comes back with its outcome.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from anyio import from_thread
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.api.deps import SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.assets import DOMAIN_LABELS
from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal
from toancanh.core.errors import AppError
from toancanh.core.units import Unit
from toancanh.modules.notifications import gateways, service
from toancanh.modules.notifications.api import MANAGE, MANAGE_CHANNELS
from toancanh.modules.notifications.delivery import Dispatcher
from toancanh.modules.notifications.models import NotificationRoute
from toancanh.modules.notifications.schemas import SEVERITIES, RouteIn, WebhookIn
from toancanh.web import render
from toancanh.web.pages import csrf_ok as _csrf_ok
from toancanh.web.pages import locale_of, page_principal

router = APIRouter(prefix="/notifications/channels")
PAGE = "/notifications/channels"
RECENT = 50

# Words of the page, (Vietnamese, English), by key.
CHANNEL_LABELS = {"email": ("E-mail", "E-mail"), "sms": ("SMS", "SMS"), "zalo": ("Zalo", "Zalo")}
ROLE_LABELS = {
    "leader": ("Lãnh đạo", "Leaders"),
    "operator": ("Cán bộ trực", "Duty operators"),
    "agency_staff": ("Cơ quan xử lý", "Agency staff"),
    "viewer": ("Người xem", "Viewers"),
    "admin": ("Quản trị", "Administrators"),
}
SEVERITY_LABELS = {
    "minor": ("Nhẹ trở lên", "Minor and above"),
    "moderate": ("Trung bình trở lên", "Moderate and above"),
    "severe": ("Nghiêm trọng trở lên", "Severe and above"),
    "extreme": ("Cực kỳ nghiêm trọng", "Extreme only"),
}
STATUS_LABELS = {
    "pending": ("Đang chờ", "Pending"),
    "retry": ("Sẽ thử lại", "Retrying"),
    "sent": ("Đã gửi", "Sent"),
    "failed": ("Thất bại", "Failed"),
}
FIELD_LABELS = {
    "name": ("Tên", "Name"),
    "pattern": ("Loại sự kiện", "Events"),
    "unit_id": ("Đơn vị", "Unit"),
    "domain": ("Lĩnh vực", "Domain"),
    "min_severity": ("Mức độ", "Severity"),
    "categories": ("Nhóm cảnh báo", "Alert categories"),
    "channels": ("Kênh", "Channels"),
    "roles": ("Vai trò", "Roles"),
    "user_ids": ("Người dùng", "Users"),
    "extra": ("Địa chỉ thêm", "Extra addresses"),
    "url": ("URL", "URL"),
    "secret": ("Khóa ký", "Secret"),
}
_SPLIT = re.compile(r"[\s,;]+")


class RouteForm(BaseModel):
    """The route form as posted: loose strings, turned into a `RouteIn` (which validates) by `_route_in`."""

    model_config = ConfigDict(extra="ignore")

    csrf: str = Field(default="", max_length=100)
    name: str = Field(default="", max_length=500)
    active: str = Field(default="", max_length=10)
    pattern: str = Field(default="toancanh.alerts.>", max_length=500)
    unit_id: str = Field(default="", max_length=20)
    domain: str = Field(default="", max_length=40)
    min_severity: str = Field(default="severe", max_length=20)
    categories: str = Field(default="", max_length=1000)
    channels: list[str] = Field(default_factory=list, max_length=10)
    roles: list[str] = Field(default_factory=list, max_length=10)
    user_ids: list[str] = Field(default_factory=list, max_length=500)
    extra_email: str = Field(default="", max_length=5000)
    extra_sms: str = Field(default="", max_length=5000)
    extra_zalo: str = Field(default="", max_length=5000)


class WebhookForm(BaseModel):
    model_config = ConfigDict(extra="ignore")

    csrf: str = Field(default="", max_length=100)
    name: str = Field(default="", max_length=500)
    url: str = Field(default="", max_length=1000)
    pattern: str = Field(default="toancanh.alerts.>", max_length=500)
    unit_id: str = Field(default="", max_length=20)


def _t(locale: str) -> Callable[[str, str], str]:
    def t(vi: str, en: str) -> str:
        return vi if locale == "vi" else en

    return t


def _labels(table: dict[str, tuple[str, str]], locale: str) -> dict[str, str]:
    i = 0 if locale == "vi" else 1
    return {k: v[i] for k, v in table.items()}


def _manager(request: Request, db: Session) -> Principal | Response:
    return page_principal(request, db, MANAGE_CHANNELS)


def _forbidden(request: Request) -> Response:
    return render(request, "error.html", {"title": "403"}, 403)  # type: ignore[no-any-return]


def _route_in(form: RouteForm) -> RouteIn:
    """The form as a RouteIn; raises ValidationError with the reasons."""
    extra = [
        {"channel": channel, "address": address}
        for channel, text in (("email", form.extra_email), ("sms", form.extra_sms), ("zalo", form.extra_zalo))
        for address in _addresses(text)
    ]
    data: dict[str, Any] = {
        "name": form.name,
        "active": form.active in ("1", "on", "true"),
        "pattern": form.pattern,
        "unit_id": int(form.unit_id) if form.unit_id.isdecimal() else None,
        "domain": form.domain or None,
        "min_severity": form.min_severity,
        "categories": [c for c in _SPLIT.split(form.categories) if c],
        "channels": form.channels,
        "roles": form.roles,
        "user_ids": [int(u) for u in form.user_ids if u.isdecimal()],
        "extra": extra,
    }
    return RouteIn.model_validate(data)


def _addresses(text: str) -> list[str]:
    """Addresses typed one a line (or separated by commas); spaces inside a phone number are kept together."""
    out: list[str] = []
    for line in text.replace(",", "\n").replace(";", "\n").splitlines():
        line = line.strip()
        if not line:
            continue
        out += [line] if "@" not in line and any(c.isdecimal() for c in line) else _SPLIT.split(line)
    return [a for a in out if a]


def _errors(exc: ValidationError | AppError, locale: str) -> list[str]:
    """Readable reasons, in the page's language."""
    if isinstance(exc, AppError):
        return [exc.message if locale == "vi" else exc.message_en]
    fields = _labels(FIELD_LABELS, locale)
    out = []
    for e in exc.errors():
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        if " / " in msg:
            vi, en = msg.split(" / ", 1)
            msg = vi if locale == "vi" else en
        loc = [str(p) for p in e.get("loc", ())]
        label = fields.get(loc[0], "") if loc else ""
        out.append(f"{label}: {msg}" if label else msg)
    return out


def _form_values(route: NotificationRoute | None) -> dict[str, Any]:
    """The form's initial values: a route being edited, or a new route's defaults."""
    if route is None:
        return {
            "id": None,
            "name": "",
            "active": True,
            "pattern": "toancanh.alerts.>",
            "unit_id": "",
            "domain": "",
            "min_severity": "severe",
            "categories": "",
            "channels": ["sms"],
            "roles": ["leader"],
            "user_ids": [],
            "extra_email": "",
            "extra_sms": "",
            "extra_zalo": "",
        }
    extra: dict[str, list[str]] = {"email": [], "sms": [], "zalo": []}
    for item in route.extra or []:
        if isinstance(item, dict) and item.get("channel") in extra:
            extra[item["channel"]].append(str(item.get("address", "")))
    return {
        "id": route.id,
        "name": route.name,
        "active": route.active,
        "pattern": route.pattern,
        "unit_id": str(route.unit_id or ""),
        "domain": route.domain or "",
        "min_severity": route.min_severity,
        "categories": ", ".join(str(c) for c in route.categories or []),
        "channels": list(route.channels or []),
        "roles": list(route.roles or []),
        "user_ids": [str(u) for u in route.user_ids or []],
        **{f"extra_{k}": "\n".join(v) for k, v in extra.items()},
    }


def _posted_values(form: RouteForm, route_id: int | None) -> dict[str, Any]:
    return {**form.model_dump(exclude={"csrf"}), "id": route_id, "active": form.active in ("1", "on", "true")}


def _gateway_rows(request: Request) -> list[dict[str, Any]]:
    settings = request.app.state.settings
    dispatcher: Dispatcher | None = getattr(request.app.state, "notifications", None)
    errors = dispatcher.gateway_errors if dispatcher is not None else {}
    if settings.smtp_host:
        port = f":{settings.smtp_port}" if settings.smtp_port else ""
        email = gateways.GatewayInfo(
            "email", True, "smtp", f"{settings.smtp_host}{port}", bool(settings.smtp_user)
        )
    elif settings.email_file:
        email = gateways.GatewayInfo("email", True, "file", settings.email_file.removeprefix("file:"))
    else:
        email = gateways.GatewayInfo("email", False)
    infos = [email] + [gateways.describe(k, settings, errors.get(k, "")) for k in gateways.KINDS]
    return [info.__dict__ for info in infos]


def _page(
    request: Request,
    db: Session,
    *,
    form: dict[str, Any] | None = None,
    errors: list[str] | None = None,
    hook_errors: list[str] | None = None,
    new_secret: str = "",
    status: int = 200,
) -> Any:
    locale = locale_of(request)
    units = list(db.scalars(select(Unit).order_by(Unit.path).limit(2000)))
    users = list(
        db.scalars(
            select(User)
            .where(User.active.is_(True), User.is_service.is_(False))
            .order_by(User.username)
            .limit(500)
        )
    )
    edit = request.query_params.get("edit", "")
    route = db.get(NotificationRoute, int(edit)) if edit.isdecimal() and len(edit) < 19 else None
    hooks = service.webhooks(db)
    ctx = {
        "t": _t(locale),
        "channel_label": _labels(CHANNEL_LABELS, locale),
        "role_label": _labels(ROLE_LABELS, locale),
        "severity_label": _labels(SEVERITY_LABELS, locale),
        "domain_label": _labels(DOMAIN_LABELS, locale),
        "status_label": _labels(STATUS_LABELS, locale),
        "severities": SEVERITIES,
        "gateways": _gateway_rows(request),
        "routes": service.routes(db),
        "units": units,
        "unit_names": {u.id: u.name for u in units},
        "users": users,
        "user_names": {u.id: u.username for u in users},
        "hooks": hooks,
        "can_hooks": bool(getattr(request.state, "principal", None)) and request.state.principal.has(MANAGE),
        "deliveries": service.deliveries(db, limit=RECENT),
        "form": form if form is not None else _form_values(route),
        "errors": errors or [],
        "hook_errors": hook_errors or [],
        "new_secret": new_secret,
        "notice": _notice(request, locale),
    }
    return render(request, "notifications/channels.html", ctx, status)


def _notice(request: Request, locale: str) -> str:
    q = request.query_params
    t = _t(locale)
    if q.get("tested", "").isdecimal():
        ok, failed = (q.get(k, "0") if q.get(k, "0").isdecimal() else "?" for k in ("ok", "failed"))
        return t(
            f"Đã gửi thử: {ok} thành công, {failed} không gửi được (xem nhật ký gửi bên dưới).",
            f"Test sent: {ok} delivered, {failed} not delivered (see the delivery log below).",
        )
    done = {
        "saved": ("Đã lưu tuyến thông báo.", "Route saved."),
        "deleted": ("Đã xóa tuyến thông báo.", "Route deleted."),
        "hook_deleted": ("Đã xóa webhook.", "Webhook deleted."),
    }.get(q.get("done", ""))
    return t(*done) if done else ""


def _back(**query: Any) -> RedirectResponse:
    return RedirectResponse(f"{PAGE}?{urlencode(query)}" if query else PAGE, status_code=303)


# ------------------------------------------------------------------------------------------ pages


@router.get("")
def channels_page(request: Request, db: SessionDep, edit: str = Query(default="", max_length=20)) -> Any:
    """Gateways, routes, webhooks and the last deliveries (administrators)."""
    principal = _manager(request, db)
    if isinstance(principal, Response):
        return principal
    return _page(request, db)


@router.post("/routes")
def save_route(request: Request, db: SessionDep, form: Annotated[RouteForm, Form()]) -> Any:
    return _save_route(request, db, form, None)


@router.post("/routes/{route_id}")
def update_route(route_id: DbId, request: Request, db: SessionDep, form: Annotated[RouteForm, Form()]) -> Any:
    return _save_route(request, db, form, route_id)


def _save_route(request: Request, db: Session, form: RouteForm, route_id: int | None) -> Any:
    principal = _manager(request, db)
    if isinstance(principal, Response):
        return principal
    if not _csrf_ok(request, form.csrf):
        return _forbidden(request)
    try:
        body = _route_in(form)
        if route_id is None:
            service.create_route(db, body, principal)
        else:
            service.update_route(db, route_id, body, principal)
    except (ValidationError, AppError) as exc:
        db.rollback()
        errors = _errors(exc, locale_of(request))
        return _page(request, db, form=_posted_values(form, route_id), errors=errors, status=400)
    return _back(done="saved")


@router.post("/routes/{route_id}/delete")
def delete_route(
    route_id: DbId, request: Request, db: SessionDep, csrf: str = Form(default="", max_length=100)
) -> Any:
    principal = _manager(request, db)
    if isinstance(principal, Response):
        return principal
    if not _csrf_ok(request, csrf):
        return _forbidden(request)
    try:
        service.delete_route(db, route_id, principal)
    except AppError:
        return _back()
    return _back(done="deleted")


@router.post("/routes/{route_id}/test")
def test_route(
    route_id: DbId, request: Request, db: SessionDep, csrf: str = Form(default="", max_length=100)
) -> Any:
    """Send a test message to the route's recipients now, then show the page with the outcome."""
    principal = _manager(request, db)
    if isinstance(principal, Response):
        return principal
    if not _csrf_ok(request, csrf):
        return _forbidden(request)
    db.commit()  # end the request's read transaction: the sending takes its own sessions
    dispatcher: Dispatcher = request.app.state.notifications
    try:
        sent = from_thread.run(dispatcher.send_test, route_id, principal)
    except AppError:
        return _back()
    ok = sum(s.ok for s in sent)
    return RedirectResponse(
        f"{PAGE}?{urlencode({'tested': route_id, 'ok': ok, 'failed': len(sent) - ok})}#deliveries", 303
    )


@router.post("/webhooks")
def create_webhook(request: Request, db: SessionDep, form: Annotated[WebhookForm, Form()]) -> Any:
    """Register a webhook; the page shows its signing secret this once."""
    principal = _manager(request, db)
    if isinstance(principal, Response):
        return principal
    if not principal.has(MANAGE) or not _csrf_ok(request, form.csrf):
        return _forbidden(request)
    unit_code = None
    if form.unit_id.isdecimal():
        unit = db.get(Unit, int(form.unit_id)) if len(form.unit_id) < 19 else None
        unit_code = unit.code if unit is not None else "?"
    try:
        body = WebhookIn.model_validate(
            {"name": form.name.strip(), "url": form.url, "pattern": form.pattern, "unit_code": unit_code}
        )
        hook = service.create_webhook(db, body, principal)
    except (ValidationError, AppError) as exc:
        db.rollback()
        return _page(request, db, hook_errors=_errors(exc, locale_of(request)), status=400)
    return _page(request, db, new_secret=hook.secret, status=201)


@router.post("/webhooks/{webhook_id}/delete")
def delete_webhook(
    webhook_id: DbId, request: Request, db: SessionDep, csrf: str = Form(default="", max_length=100)
) -> Any:
    principal = _manager(request, db)
    if isinstance(principal, Response):
        return principal
    if not principal.has(MANAGE) or not _csrf_ok(request, csrf):
        return _forbidden(request)
    try:
        service.delete_webhook(db, webhook_id, principal)
    except AppError:
        return _back()
    return _back(done="hook_deleted")
