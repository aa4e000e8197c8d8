"""Queries behind the administration pages, all scoped to the caller."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from toancanh.core.assets import Asset
from toancanh.core.audit import AuditEntry
from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal, scoped
from toancanh.core.units import Agency, Unit


def asset_rows(db: Session, principal: Principal, type_: str | None, limit: int = 500) -> list[Asset]:
    stmt = scoped(select(Asset), principal, Asset, "assets.read")
    if type_:
        stmt = stmt.where(Asset.type == type_)
    return list(db.scalars(stmt.order_by(Asset.type, Asset.code).limit(limit)))


def asset_type_counts(db: Session, principal: Principal) -> dict[str, int]:
    stmt = scoped(select(Asset.type, func.count()).group_by(Asset.type), principal, Asset, "assets.read")
    return {t: int(n) for t, n in db.execute(stmt)}


def unit_rows(db: Session, principal: Principal, limit: int = 500) -> list[tuple[Unit, int]]:
    """Units in scope that carry detail (communes with a boundary and their sub-units) with agency counts."""
    agencies = select(Agency.unit_id, func.count().label("n")).group_by(Agency.unit_id).subquery()
    stmt = scoped(
        select(Unit, func.coalesce(agencies.c.n, 0)).outerjoin(agencies, agencies.c.unit_id == Unit.id),
        principal,
        Unit,
        "units.read",
    ).where(Unit.boundary.is_not(None))
    return [(u, int(n)) for u, n in db.execute(stmt.order_by(Unit.path).limit(limit))]


def user_rows(db: Session) -> list[User]:
    return list(db.scalars(select(User).order_by(User.username).limit(1000)))


def audit_rows(db: Session, principal: Principal, limit: int = 200) -> list[AuditEntry]:
    stmt = select(AuditEntry)
    if not principal.is_admin:
        stmt = scoped(stmt.where(AuditEntry.unit_id.is_not(None)), principal, AuditEntry, "audit.read")
    return list(db.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit)))


def agency_names(db: Session) -> dict[int, str]:
    return {i: n for i, n in db.execute(select(Agency.id, Agency.name))}


def summary(db: Session, principal: Principal) -> dict[str, Any]:
    return {"asset_types": asset_type_counts(db, principal)}
