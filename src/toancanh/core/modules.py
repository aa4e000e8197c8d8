"""The module contract: every `modules/<name>/__init__.py` exposes `module = Module(...)`.

A module brings routers (API and web pages), models (imported so their tables join the metadata),
permissions per role, CLI sub-commands, navigation entries and startup/shutdown hooks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

REQUIRED_FILES = ("__init__.py", "models.py", "schemas.py", "service.py", "api.py", "web.py")


@dataclass(frozen=True)
class NavItem:
    href: str
    label_vi: str
    label_en: str
    icon: str = "▣"
    permission: str | None = None


@dataclass
class Module:
    name: str
    title_vi: str
    title_en: str
    routers: list[Any] = field(default_factory=list)  # fastapi.APIRouter for /api/v1/...
    web_routers: list[Any] = field(default_factory=list)  # fastapi.APIRouter for HTML pages
    permissions: Mapping[str, Iterable[str]] = field(default_factory=dict)
    nav: list[NavItem] = field(default_factory=list)
    cli: Any = None  # typer.Typer, added as `toancanh <name> ...`
    on_startup: list[Callable[[Any], Awaitable[None]]] = field(default_factory=list)  # called with the app
    on_shutdown: list[Callable[[Any], Awaitable[None]]] = field(default_factory=list)
    templates_dir: str | None = None
    retention: list[Any] = field(default_factory=list)  # core.retention.RetentionRule / RetentionHold
