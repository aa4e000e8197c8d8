"""Which role may do what. Core declares its own permissions; each module adds its own at load time.

A permission is "<resource>.<action>" (e.g. "assets.read"). The admin role holds "*".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

_READ = {"units.read", "agencies.read", "assets.read", "series.read", "events.read", "dashboard.read"}

_ROLE_PERMISSIONS: dict[str, set[str]] = {
    "admin": {"*"},
    "leader": _READ | {"audit.read", "users.read"},
    "operator": _READ | {"assets.write", "series.write", "events.write", "files.write"},
    "agency_staff": _READ | {"files.write"},
    "viewer": set(_READ),
    "citizen": set(),
}


def register(role_permissions: Mapping[str, Iterable[str]]) -> None:
    """Add a module's permissions to roles (idempotent)."""
    for role, perms in role_permissions.items():
        if role not in _ROLE_PERMISSIONS:
            raise ValueError(f"unknown role {role!r}")
        _ROLE_PERMISSIONS[role].update(perms)


def role_has(role: str, permission: str) -> bool:
    perms = _ROLE_PERMISSIONS.get(role, set())
    return "*" in perms or permission in perms


def permissions_of(role: str) -> frozenset[str]:
    return frozenset(_ROLE_PERMISSIONS.get(role, set()))


def all_permissions() -> frozenset[str]:
    out: set[str] = set()
    for perms in _ROLE_PERMISSIONS.values():
        out |= perms
    return frozenset(out - {"*"})
