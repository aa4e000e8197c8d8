"""Dependencies shared by every endpoint: the database session, the caller, CSRF, the app's services."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from toancanh.core.auth import service as auth_service
from toancanh.core.auth.scope import Principal
from toancanh.core.db import Database, utcnow
from toancanh.core.errors import Forbidden, Unauthorized

SESSION_COOKIE = "tc_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, rolled back on any error."""
    with get_database(request).session() as s:
        yield s


SessionDep = Annotated[Session, Depends(get_session)]


def _authenticate(request: Request, db: Session, *, touch: bool = True) -> Principal | None:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    now = utcnow()
    principal: Principal | None = None
    authz = request.headers.get("authorization", "")
    api_key = request.headers.get("x-api-key", "")
    if authz.lower().startswith("bearer "):
        found = auth_service.resolve_session(db, authz[7:].strip(), "token", now)
        if found is None:
            raise Unauthorized("Mã truy cập không hợp lệ hoặc đã hết hạn", "Invalid or expired token")
        principal = auth_service.principal_for(db, found[0], via="token")
    elif api_key:
        user = auth_service.resolve_api_key(db, api_key, now, touch=touch)
        if user is None:
            raise Unauthorized("Khóa API không hợp lệ", "Invalid API key")
        principal = auth_service.principal_for(db, user, via="api_key")
    else:
        cookie = request.cookies.get(SESSION_COOKIE, "")
        found = auth_service.resolve_session(db, cookie, "web", now) if cookie else None
        if found is not None:
            user, sess = found
            if request.method not in SAFE_METHODS:
                sent = request.headers.get(CSRF_HEADER, "")
                if not sent or sent != sess.csrf_token:
                    raise Forbidden("Thiếu hoặc sai mã CSRF", "Missing or wrong CSRF token", code="csrf")
            principal = auth_service.principal_for(db, user, via="session")
            request.state.csrf_token = sess.csrf_token
    request.state.principal = principal
    return principal


def optional_principal(request: Request, db: SessionDep) -> Principal | None:
    return _authenticate(request, db)


def current_principal(request: Request, db: SessionDep) -> Principal:
    principal = _authenticate(request, db)
    if principal is None:
        raise Unauthorized()
    return principal


def principal_in_own_session(request: Request) -> Principal:
    """Authenticate in a short read-only session of its own, for endpoints that must not hold a request
    transaction open (a live stream, or a bulk write that commits in its own sessions on a worker thread):
    it never waits for the database's write lock, except to record an API key's use once a minute."""
    database = get_database(request)
    with database.read_session() as db:
        principal = _authenticate(request, db, touch=False)
        api_key = request.headers.get("x-api-key", "")
        stale = (
            principal is not None
            and principal.via == "api_key"
            and auth_service.api_key_stale(db, api_key, utcnow())
        )
    if principal is None:
        raise Unauthorized()
    if stale:
        with database.session() as db:
            auth_service.touch_api_key(db, api_key, utcnow())
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
DetachedPrincipal = Annotated[Principal, Depends(principal_in_own_session)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def require(permission: str) -> Any:
    """A dependency that demands a permission somewhere in the caller's grants."""

    def check(principal: CurrentPrincipal) -> Principal:
        principal.require(permission)
        return principal

    return Depends(check)
