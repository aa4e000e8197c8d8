"""The permission matrix, written once and applied to every resource.

A resource declares how to list it, fetch one, and (optionally) create one in a given unit and domain.
The expected outcome for each (user, object) pair is computed from the user's grants in WORLD_USERS with
the same rule the product documents: a grant covers an object when the object's unit lies in the grant's
unit subtree and, for a domain-limited grant, the object's domain is one of the grant's domains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import WORLD_USERS, World
from toancanh.core.auth.permissions import role_has

UNIT_PATHS = {"01": "/01/", "00664": "/01/00664/", "00070": "/01/00070/", "0066401": "/01/00664/0066401/"}


def covers(who: str, permission: str, unit_path: str, domain: str | None) -> bool:
    role, unit_code, domains = WORLD_USERS[who]
    if not role_has(role, permission):
        return False
    if unit_code is not None and not unit_path.startswith(UNIT_PATHS[unit_code]):
        return False
    return domains is None or (domain is not None and domain in domains)


@dataclass
class Resource:
    name: str
    list_url: str
    detail_url: Callable[[Any], str]
    read_permission: str
    objects: Callable[[World], dict[str, tuple[Any, str, str | None]]]  # key -> (id, unit_path, domain)
    ids_from_list: Callable[[Any], set[Any]]
    create_url: str | None = None
    write_permission: str | None = None
    create_body: Callable[[World, str, str], dict[str, Any]] | None = None  # (world, unit key, suffix)
    create_targets: list[tuple[str, str | None]] = field(default_factory=list)  # (unit key, domain)
    admin_only_create: bool = False
    extra_rule: Callable[[str, Any], bool] | None = None  # (who, object key) -> also required to see it
