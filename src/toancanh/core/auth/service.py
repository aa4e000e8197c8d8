"""Passwords, login with throttling, sessions, bearer tokens and API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from toancanh.core.auth.models import ROLES, ApiKey, AuthSession, Grant, LoginAttempt, User
from toancanh.core.auth.scope import Principal, ScopedGrant
from toancanh.core.errors import BadRequest, Conflict, TooManyRequests, Unauthorized
from toancanh.core.units import Agency, Unit, unit_by_code

# OWASP's minimum for argon2id: m=19 MiB, t=2, p=1.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def configure_hasher(time_cost: int, memory_cost: int) -> None:
    """Change the argon2 cost (the test suite lowers it; production keeps the default)."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=1)
    _DUMMY_HASH = _hasher.hash("not-a-real-password")


API_KEY_PREFIX = "tck_"


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise BadRequest("Mật khẩu phải có ít nhất 8 ký tự", "Password must be at least 8 characters")
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and bool(stored)
    except (VerificationError, InvalidHashError):
        return False


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def create_user(
    db: Session,
    username: str,
    password: str | None,
    *,
    role: str | None = None,
    unit_code: str | None = None,
    domains: list[str] | None = None,
    **fields: Any,
) -> User:
    """Create a user, optionally with one grant (role over the unit subtree `unit_code`, or everywhere)."""
    username = username.strip().lower()
    if not username or len(username) > 80 or not all(c.isalnum() or c in "._-@" for c in username):
        raise BadRequest("Tên đăng nhập không hợp lệ", "Invalid username")
    if db.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("Tên đăng nhập đã tồn tại", "Username already exists")
    if fields.get("agency_id") is not None and db.get(Agency, fields["agency_id"]) is None:
        raise BadRequest("Cơ quan không tồn tại", "Unknown agency")
    user = User(username=username, password_hash=hash_password(password) if password else "", **fields)
    db.add(user)
    db.flush()
    if role:
        add_grant(db, user, role, unit_code=unit_code, domains=domains)
    return user


def add_grant(
    db: Session, user: User, role: str, *, unit_code: str | None = None, domains: list[str] | None = None
) -> Grant:
    if role not in ROLES:
        raise BadRequest(f"Vai trò không hợp lệ: {role}", f"Unknown role: {role}")
    unit_id = unit_by_code(db, unit_code).id if unit_code else None
    grant = Grant(user_id=user.id, role=role, unit_id=unit_id, domains=sorted(domains) if domains else None)
    db.add(grant)
    db.flush()
    db.refresh(user)
    return grant


def principal_for(db: Session, user: User, via: str = "session") -> Principal:
    paths = {}
    unit_ids = {g.unit_id for g in user.grants if g.unit_id is not None}
    if unit_ids:
        paths = dict(db.execute(select(Unit.id, Unit.path).where(Unit.id.in_(unit_ids))).tuples().all())
    grants = tuple(
        ScopedGrant(
            role=g.role,
            unit_path=paths.get(g.unit_id, "/") if g.unit_id is not None else "/",
            domains=frozenset(g.domains) if g.domains is not None else None,
        )
        for g in user.grants
    )
    return Principal(
        user_id=user.id,
        username=user.username,
        full_name=user.full_name,
        grants=grants,
        agency_id=user.agency_id,
        via=via,
    )


def check_throttle(
    db: Session, username: str, ip: str, max_failures: int, window: timedelta, now: datetime
) -> None:
    since = now - window
    by_user = db.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.username == username, LoginAttempt.success.is_(False), LoginAttempt.at >= since)
    )
    by_ip = db.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at >= since)
    )
    if (by_user or 0) >= max_failures or (by_ip or 0) >= max_failures * 4:
        raise TooManyRequests(
            "Đăng nhập sai quá nhiều lần, vui lòng thử lại sau",
            "Too many failed logins, try again later",
        )


def authenticate(
    db: Session,
    username: str,
    password: str,
    *,
    ip: str,
    now: datetime,
    max_failures: int = 5,
    window: timedelta = timedelta(minutes=15),
) -> User:
    """Check a password; record the attempt; refuse when throttled. Raises Unauthorized on failure."""
    username = username.strip().lower()[:80]
    check_throttle(db, username, ip, max_failures, window, now)
    user = db.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else "", password)
    ok = ok and user is not None and user.active and not user.is_service
    db.add(LoginAttempt(username=username, ip=ip[:64], at=now, success=ok))
    if not ok or user is None:
        raise Unauthorized("Sai tên đăng nhập hoặc mật khẩu", "Wrong username or password")
    return user


def open_session(
    db: Session, user: User, *, kind: str, hours: int, now: datetime, ip: str = "", user_agent: str = ""
) -> tuple[str, AuthSession]:
    """Start a web session or issue a bearer token. Returns the secret (shown once) and the row."""
    secret = secrets.token_urlsafe(32)
    row = AuthSession(
        token_hash=_sha256(secret),
        user_id=user.id,
        kind=kind,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + timedelta(hours=hours),
        ip=ip[:64],
        user_agent=user_agent[:300],
    )
    db.add(row)
    db.flush()
    return secret, row


def resolve_session(db: Session, secret: str, kind: str, now: datetime) -> tuple[User, AuthSession] | None:
    if not secret or len(secret) > 128:
        return None
    row = db.scalar(select(AuthSession).where(AuthSession.token_hash == _sha256(secret)))
    if row is None or row.revoked or row.kind != kind or row.expires_at <= now:
        return None
    user = db.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user, row


def revoke_session(db: Session, secret: str) -> None:
    row = db.scalar(select(AuthSession).where(AuthSession.token_hash == _sha256(secret)))
    if row is not None:
        row.revoked = True


def create_api_key(db: Session, user: User, name: str) -> tuple[str, ApiKey]:
    """A new API key for a machine client. The full key is returned once and never stored."""
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(user_id=user.id, name=name[:120], prefix=prefix, key_hash=_sha256(secret))
    db.add(key)
    db.flush()
    return f"{API_KEY_PREFIX}{prefix}_{secret}", key


API_KEY_TOUCH = timedelta(minutes=1)  # how stale an API key's "last used" may get


def resolve_api_key(db: Session, raw: str, now: datetime, *, touch: bool = True) -> User | None:
    """The active user an API key belongs to, or None. `touch`: record its use (at most once a minute, so
    that a gateway posting many times a second does not write each time)."""
    if not raw.startswith(API_KEY_PREFIX) or len(raw) > 128:
        return None
    try:
        prefix, secret = raw[len(API_KEY_PREFIX) :].split("_", 1)
    except ValueError:
        return None
    key = db.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is None or key.revoked or not hmac.compare_digest(key.key_hash, _sha256(secret)):
        return None
    user = db.get(User, key.user_id)
    if user is None or not user.active:
        return None
    if touch and (key.last_used_at is None or now - key.last_used_at >= API_KEY_TOUCH):
        key.last_used_at = now
    return user


def api_key_stale(db: Session, raw: str, now: datetime) -> bool:
    """Whether the key's recorded last use is older than a minute (see `touch_api_key`)."""
    prefix = raw[len(API_KEY_PREFIX) :].split("_", 1)[0]
    last = db.scalar(select(ApiKey.last_used_at).where(ApiKey.prefix == prefix))
    return last is None or now - last >= API_KEY_TOUCH


def touch_api_key(db: Session, raw: str, now: datetime) -> None:
    """Record an API key's use (for callers that authenticated in a read-only session)."""
    prefix = raw[len(API_KEY_PREFIX) :].split("_", 1)[0]
    key = db.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if key is not None and (key.last_used_at is None or now - key.last_used_at >= API_KEY_TOUCH):
        key.last_used_at = now


def role_holders(db: Session, role: str, unit_id: int, domain: str | None) -> list[User]:
    """Active users holding `role` over the unit (or a unit above it) and the domain, e.g. the leaders
    (lãnh đạo) to tell when a case in that unit falls overdue."""
    path = db.scalar(select(Unit.path).where(Unit.id == unit_id)) or ""
    codes = [c for c in path.strip("/").split("/") if c]
    above = select(Unit.id).where(Unit.code.in_(codes))
    rows = db.execute(
        select(User, Grant.domains)
        .join(Grant, Grant.user_id == User.id)
        .where(
            Grant.role == role,
            User.active.is_(True),
            Grant.unit_id.is_(None) | Grant.unit_id.in_(above),
        )
        .order_by(User.id)
    ).tuples()
    seen: dict[int, User] = {}
    for user, domains in rows:
        if domains is None or domain in domains:
            seen.setdefault(user.id, user)
    return list(seen.values())
