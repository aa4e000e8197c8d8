"""Who the caller is and what they may see: the one place where scoping happens.

Every list and detail query goes through `scoped(...)`; endpoints never filter by unit by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true
from sqlalchemy.orm import Session

from toancanh.core.auth.permissions import role_has
from toancanh.core.errors import Forbidden, NotFound
from toancanh.core.units import Unit

T = TypeVar("T")


@dataclass(frozen=True)
class ScopedGrant:
    role: str
    unit_path: str  # "/" for every unit
    domains: frozenset[str] | None

    def covers(self, unit_path: str | None, domain: str | None) -> bool:
        if unit_path is None:
            if self.unit_path != "/":
                return False
        elif not unit_path.startswith(self.unit_path):
            return False
        return self.domains is None or (domain is not None and domain in self.domains)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller and their grants."""

    user_id: int
    username: str
    full_name: str = ""
    grants: tuple[ScopedGrant, ...] = ()
    agency_id: int | None = None
    via: str = "session"  # session | token | api_key
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.grants)

    def grants_for(self, permission: str) -> list[ScopedGrant]:
        return [g for g in self.grants if role_has(g.role, permission)]

    def has(self, permission: str) -> bool:
        """True when some grant carries the permission somewhere."""
        return bool(self.grants_for(permission))

    def can(self, permission: str, unit_path: str | None = None, domain: str | None = None) -> bool:
        return any(g.covers(unit_path, domain) for g in self.grants_for(permission))

    def require(self, permission: str, unit_path: str | None = None, domain: str | None = None) -> None:
        if unit_path is None and domain is None:
            ok = self.has(permission)
        else:
            ok = self.can(permission, unit_path, domain)
        if not ok:
            raise Forbidden(details={"permission": permission})

    @property
    def is_admin(self) -> bool:
        return any(g.role == "admin" and g.unit_path == "/" for g in self.grants)


def scope_condition(principal: Principal, model: Any, permission: str) -> ColumnElement[bool]:
    """The WHERE clause that limits `model` rows to the caller's grants for `permission`."""
    grants = principal.grants_for(permission)
    if not grants:
        return false()
    domain_col = getattr(model, "domain", None)
    conds: list[ColumnElement[bool]] = []
    for g in grants:
        if model is Unit:
            unit_cond: ColumnElement[bool] = (
                true() if g.unit_path == "/" else Unit.path.startswith(g.unit_path)
            )
        elif g.unit_path == "/":
            unit_cond = true()
        else:
            unit_cond = model.unit_id.in_(select(Unit.id).where(Unit.path.startswith(g.unit_path)))
        if g.domains is not None:
            if domain_col is None:
                continue  # a domain-limited grant sees nothing that has no domain
            unit_cond = and_(unit_cond, domain_col.in_(sorted(g.domains)))
        conds.append(unit_cond)
    if not conds:
        return false()
    return or_(*conds)


def scoped(stmt: Select[Any], principal: Principal, model: Any, permission: str) -> Select[Any]:
    """Add the caller's scope to a SELECT over `model`."""
    return stmt.where(scope_condition(principal, model, permission))


def get_scoped(db: Session, principal: Principal, model: type[T], pk: int, permission: str) -> T:
    """One row by id, or 404 when it does not exist *or* lies outside the caller's scope (no leak)."""
    id_col: Any = model.id  # type: ignore[attr-defined]
    row: T | None = db.scalar(scoped(select(model).where(id_col == pk), principal, model, permission))
    if row is None:
        raise NotFound()
    return row


def unit_path_of(db: Session, unit_id: int | None) -> str | None:
    if unit_id is None:
        return None
    return db.scalar(select(Unit.path).where(Unit.id == unit_id))
