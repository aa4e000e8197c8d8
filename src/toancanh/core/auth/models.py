"""Users, grants, sessions, API keys and login attempts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from toancanh.core.db import Base, BigId, IdMixin, TimestampMixin, utcnow

ROLES = ("admin", "leader", "operator", "agency_staff", "viewer", "citizen")


class User(IdMixin, TimestampMixin, Base):
    """A person or a machine client (người dùng)."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    password_hash: Mapped[str] = mapped_column(String(200), default="")
    agency_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("agencies.id"))
    locale: Mapped[str] = mapped_column(String(8), default="vi")
    active: Mapped[bool] = mapped_column(default=True)
    is_service: Mapped[bool] = mapped_column(default=False)

    grants: Mapped[list[Grant]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "full_name": self.full_name,
            "email": self.email,
            "phone": self.phone,
            "agency_id": self.agency_id,
            "locale": self.locale,
            "active": self.active,
            "is_service": self.is_service,
            "grants": [g.summary() for g in self.grants],
        }


class Grant(IdMixin, Base):
    """A role over a unit subtree, optionally limited to domains (a sector center: its domain everywhere)."""

    __tablename__ = "grants"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    unit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("units.id"))  # None: every unit
    domains: Mapped[list[Any] | None] = mapped_column(JSON)  # None: every domain

    user: Mapped[User] = relationship(back_populates="grants")

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "role": self.role, "unit_id": self.unit_id, "domains": self.domains}


class AuthSession(IdMixin, Base):
    """A web session (cookie) or a bearer token; only a hash of the secret is stored."""

    __tablename__ = "auth_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # web | token
    csrf_token: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    revoked: Mapped[bool] = mapped_column(default=False)


class ApiKey(IdMixin, Base):
    """A key for a machine client (sensor gateway, sector system); acts with its user's grants."""

    __tablename__ = "api_keys"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked: Mapped[bool] = mapped_column(default=False)


class LoginAttempt(IdMixin, Base):
    __tablename__ = "login_attempts"

    username: Mapped[str] = mapped_column(String(80), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    success: Mapped[bool]
