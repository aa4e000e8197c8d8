"""Pages of the shell: login/logout, the control-room home, the full map, the language switch."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import func, select

from toancanh.core.api.deps import SESSION_COOKIE, SessionDep
from toancanh.core.assets import Asset
from toancanh.core.auth import service as auth_service
from toancanh.core.auth.scope import Principal, scoped
from toancanh.core.db import utcnow
from toancanh.core.errors import AppError
from toancanh.core.i18n import gettext, pick_locale
from toancanh.core.outbox import OutboxEvent
from toancanh.core.timeseries import Sample, Series, from_ms, to_ms
from toancanh.core.units import Agency, Unit
from toancanh.core.worktime import VN_TZ
from toancanh.web import render

router = APIRouter()
LOGIN_CSRF_COOKIE = "tc_login_csrf"


def locale_of(request: Request) -> str:
    return pick_locale(request.cookies.get("tc_lang"), request.app.state.settings.default_locale)


def base_context(request: Request) -> dict[str, Any]:
    locale = locale_of(request)
    principal: Principal | None = getattr(request.state, "principal", None)
    nav = []
    items = [item for m in request.app.state.modules for item in m.nav]
    items += getattr(request.app.state, "connector_nav", [])
    for item in items:
        if principal is not None and (item.permission is None or principal.has(item.permission)):
            nav.append(item)
    return {
        "_": lambda msg: gettext(locale, msg),
        "locale": locale,
        "settings": request.app.state.settings,
        "principal": principal,
        "nav": nav,
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "tz": VN_TZ,
    }


def web_principal(request: Request, db: Any) -> Principal | None:
    """The signed-in user of a page request (cookie session), or None."""
    cookie = request.cookies.get(SESSION_COOKIE, "")
    found = auth_service.resolve_session(db, cookie, "web", utcnow()) if cookie else None
    if found is None:
        return None
    user, sess = found
    principal = auth_service.principal_for(db, user, via="session")
    request.state.principal = principal
    request.state.csrf_token = sess.csrf_token
    return principal


def to_login(request: Request) -> RedirectResponse:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


def csrf_ok(request: Request, sent: str) -> bool:
    """The form's CSRF token is this session's (set by the middleware on every page)."""
    expected = getattr(request.state, "csrf_token", "")
    return bool(expected) and secrets.compare_digest(sent, expected)


def form_errors(exc: Exception, locale: str) -> list[str]:
    """What a form shows for a rejected submission: the app's message in the page's language, or one line
    per invalid field ("field: message", the vi or en half of a "vi / en" validator message)."""
    if isinstance(exc, AppError):
        return [exc.message if locale == "vi" else exc.message_en]
    errors = getattr(exc, "errors", None)
    if not callable(errors):
        return [str(exc)]
    out = []
    for e in errors():
        msg = str(e.get("msg", "")).removeprefix("Value error, ")
        if " / " in msg:
            vi, en = msg.split(" / ", 1)
            msg = vi if locale == "vi" else en
        where = ".".join(str(p) for p in e.get("loc", ()))
        out.append(f"{where}: {msg}" if where else msg)
    return out


def page_principal(request: Request, db: Any, permission: str | None = None) -> Principal | Response:
    """The signed-in user of a page, or the response to send instead (login redirect, or 403 page)."""
    principal = web_principal(request, db)
    if principal is None:
        return to_login(request)
    if permission is not None and not principal.has(permission):
        return render(request, "error.html", {"title": "403"}, 403)  # type: ignore[no-any-return]
    return principal


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    token = secrets.token_urlsafe(24)
    resp = render(request, "login.html", {"login_csrf": token, "next": _safe_next(next), "error": None})
    resp.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return resp


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else "/"


@router.post("/login")
def login(
    request: Request,
    db: SessionDep,
    username: str = Form(max_length=80),
    password: str = Form(max_length=200),
    csrf: str = Form(default="", max_length=100),
    next: str = Form(default="/", max_length=200),
) -> Response:
    s = request.app.state.settings
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie_token or not secrets.compare_digest(cookie_token, csrf):
        return render(request, "login.html", {"login_csrf": cookie_token, "next": next, "error": "csrf"}, 403)
    ip = request.client.host if request.client else ""
    now = utcnow()
    try:
        user = auth_service.authenticate(
            db,
            username,
            password,
            ip=ip,
            now=now,
            max_failures=s.login_max_failures,
            window=timedelta(minutes=s.login_window_minutes),
        )
    except AppError as exc:
        db.commit()  # keep the failed attempt for throttling
        locale = locale_of(request)
        msg = exc.message if locale == "vi" else exc.message_en
        ctx = {"login_csrf": cookie_token, "next": next, "error": msg}
        return render(request, "login.html", ctx, exc.status)
    secret, _ = auth_service.open_session(
        db,
        user,
        kind="web",
        hours=s.session_hours,
        now=now,
        ip=ip,
        user_agent=request.headers.get("user-agent", ""),
    )
    from toancanh.core import audit

    audit.record(
        db, "auth.login", actor_id=user.id, actor=user.username, entity_type="user", entity_id=user.id
    )
    resp = RedirectResponse(_safe_next(next), status_code=303)
    resp.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        secure=s.secure_cookies,
        max_age=s.session_hours * 3600,
    )
    resp.delete_cookie(LOGIN_CSRF_COOKIE)
    return resp


@router.post("/logout")
def logout(request: Request, db: SessionDep, csrf: str = Form(default="", max_length=100)) -> Response:
    principal = web_principal(request, db)
    if principal is not None and secrets.compare_digest(csrf, request.state.csrf_token):
        auth_service.revoke_session(db, request.cookies.get(SESSION_COOKIE, ""))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE)
    return resp


@router.get("/lang/{code}")
def set_language(code: str, request: Request) -> Response:
    resp = RedirectResponse(
        _safe_next(request.headers.get("referer", "/").split(request.url.netloc, 1)[-1]), 303
    )
    if code in ("vi", "en"):
        resp.set_cookie("tc_lang", code, max_age=365 * 86400, samesite="lax")
    return resp


def home_unit(db: Any, principal: Principal) -> Unit | None:
    """The unit the control room centres on: the caller's most specific granted unit that has a boundary."""
    stmt = scoped(select(Unit).where(Unit.boundary.is_not(None)), principal, Unit, "units.read")
    return db.scalar(stmt.order_by(Unit.level, Unit.path).limit(1))  # type: ignore[no-any-return]


def kpis(db: Any, principal: Principal, unit: Unit | None) -> dict[str, Any]:
    def count_assets(type_: str, status: str | None = None) -> int:
        stmt = scoped(select(func.count()).select_from(Asset), principal, Asset, "assets.read").where(
            Asset.type == type_
        )
        if status:
            stmt = stmt.where(Asset.status == status)
        return int(db.scalar(stmt) or 0)

    since = utcnow() - timedelta(hours=24)
    events = db.scalar(
        scoped(select(func.count()).select_from(OutboxEvent), principal, OutboxEvent, "events.read").where(
            OutboxEvent.created_at >= since
        )
    )
    hamlets = 0
    if unit is not None:
        hamlets = db.scalar(select(func.count()).select_from(Unit).where(Unit.parent_id == unit.id)) or 0
    agencies = db.scalar(scoped(select(func.count()).select_from(Agency), principal, Agency, "agencies.read"))
    return {
        "population": unit.population if unit else None,
        "hamlets": hamlets,
        "schools": count_assets("school"),
        "cameras": count_assets("camera"),
        "cameras_online": count_assets("camera", "online"),
        "sensors": count_assets("sensor"),
        "sensors_online": count_assets("sensor", "online"),
        "events_24h": int(events or 0),
        "agencies": int(agencies or 0),
    }


@router.get("/")
def home(request: Request, db: SessionDep) -> Response:
    principal = web_principal(request, db)
    if principal is None:
        return to_login(request)
    unit = home_unit(db, principal)
    return render(request, "home.html", {"unit": unit, "kpi": kpis(db, principal, unit)})


@router.get("/ui/kpis")
def kpi_tiles(request: Request, db: SessionDep) -> Response:
    principal = web_principal(request, db)
    if principal is None:
        return Response(status_code=401)
    unit = home_unit(db, principal)
    return render(request, "_kpis.html", {"kpi": kpis(db, principal, unit)})


@router.get("/ui/charts.json")
def chart_data(request: Request, db: SessionDep) -> Response:
    """Data for the home page charts: events per hour over 24 h, and the PM2.5 of the first sensors."""
    principal = web_principal(request, db)
    if principal is None:
        return JSONResponse({"error": "unauthorized"}, status_code=401)
    now = utcnow()
    start = now - timedelta(hours=24)
    rows = db.scalars(
        scoped(select(OutboxEvent.created_at), principal, OutboxEvent, "events.read").where(
            OutboxEvent.created_at >= start
        )
    )
    buckets = [0] * 24
    for at in rows:
        idx = int((at - start).total_seconds() // 3600)
        if 0 <= idx < 24:
            buckets[idx] += 1
    hours = [(start + timedelta(hours=i + 7)).strftime("%H:00") for i in range(24)]
    series_rows = db.scalars(
        scoped(select(Series), principal, Series, "series.read").where(Series.key.like("%.pm25")).limit(3)
    ).all()
    pm25 = []
    for s in series_rows:
        pts = db.execute(
            select(Sample.ts, Sample.value)
            .where(Sample.series_id == s.id, Sample.ts >= to_ms(start))
            .order_by(Sample.ts)
        ).all()
        pm25.append(
            {"name": s.name, "points": [[from_ms(t).isoformat(), round(v, 1)] for t, v in pts[-300:]]}
        )
    return JSONResponse({"hours": hours, "events_per_hour": buckets, "pm25": pm25})


@router.get("/map")
def full_map(request: Request, db: SessionDep) -> Response:
    principal = web_principal(request, db)
    if principal is None:
        return to_login(request)
    return render(request, "map.html", {"unit": home_unit(db, principal)})
