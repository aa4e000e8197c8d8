"""Login for API clients (bearer tokens), the current user, users and API keys (admins)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select

from toancanh.core import audit
from toancanh.core.api.deps import CurrentPrincipal, SessionDep, require
from toancanh.core.api.schemas import ApiKeyIn, TokenRequest, UserIn
from toancanh.core.auth import service
from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, NotFound

router = APIRouter(prefix="/api/v1", tags=["auth"])


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


@router.post("/auth/token")
def issue_token(body: TokenRequest, request: Request, db: SessionDep) -> dict[str, Any]:
    """Exchange a username and password for a bearer token (login throttling applies)."""
    s = request.app.state.settings
    now = utcnow()
    try:
        user = service.authenticate(
            db,
            body.username,
            body.password,
            ip=client_ip(request),
            now=now,
            max_failures=s.login_max_failures,
            window=timedelta(minutes=s.login_window_minutes),
        )
    except Exception:
        db.commit()  # keep the failed attempt for throttling even though the request fails
        raise
    secret, row = service.open_session(
        db, user, kind="token", hours=s.session_hours, now=now, ip=client_ip(request)
    )
    audit.record(
        db, "auth.token", actor_id=user.id, actor=user.username, entity_type="user", entity_id=user.id
    )
    return {"access_token": secret, "token_type": "bearer", "expires_at": row.expires_at.isoformat()}


@router.get("/auth/me")
def me(principal: CurrentPrincipal) -> dict[str, Any]:
    return {
        "user_id": principal.user_id,
        "username": principal.username,
        "full_name": principal.full_name,
        "agency_id": principal.agency_id,
        "via": principal.via,
        "grants": [
            {"role": g.role, "unit_path": g.unit_path, "domains": sorted(g.domains) if g.domains else None}
            for g in principal.grants
        ],
    }


@router.post("/auth/logout")
def logout(request: Request, db: SessionDep, principal: CurrentPrincipal) -> dict[str, bool]:
    authz = request.headers.get("authorization", "")
    if authz.lower().startswith("bearer "):
        service.revoke_session(db, authz[7:].strip())
    return {"ok": True}


@router.get("/users")
def list_users(db: SessionDep, principal: Principal = require("users.read")) -> list[dict[str, Any]]:
    return [u.summary() for u in db.scalars(select(User).order_by(User.id).limit(1000))]


@router.post("/users", status_code=201)
def create_user(
    body: UserIn, db: SessionDep, principal: Principal = require("users.manage")
) -> dict[str, Any]:
    if not body.is_service and not body.password:
        raise BadRequest("Cần mật khẩu cho người dùng", "A password is required for a person")
    user = service.create_user(
        db,
        body.username,
        body.password,
        full_name=body.full_name,
        email=body.email,
        phone=body.phone,
        agency_id=body.agency_id,
        is_service=body.is_service,
    )
    for g in body.grants:
        service.add_grant(db, user, g.role, unit_code=g.unit_code, domains=g.domains)
    audit.record_by(
        db,
        principal,
        "user.create",
        entity_type="user",
        entity_id=user.id,
        changes={"username": user.username, "grants": [g.model_dump() for g in body.grants]},
    )
    return user.summary()


@router.post("/api-keys", status_code=201)
def create_api_key(
    body: ApiKeyIn, db: SessionDep, principal: Principal = require("users.manage")
) -> dict[str, Any]:
    user = db.get(User, body.user_id)
    if user is None:
        raise NotFound("Không tìm thấy người dùng", "User not found")
    raw, key = service.create_api_key(db, user, body.name)
    audit.record_by(
        db,
        principal,
        "api_key.create",
        entity_type="api_key",
        entity_id=key.id,
        changes={"user_id": user.id, "name": key.name, "prefix": key.prefix},
    )
    return {"id": key.id, "name": key.name, "prefix": key.prefix, "key": raw}
