"""The web shell: login, the control-room home, the map, templates and static files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader

from toancanh.core.modules import Module

HERE = Path(__file__).parent


def make_templates(modules: list[Module], extra_dirs: list[str] | None = None) -> Jinja2Templates:
    loaders = [FileSystemLoader(str(HERE / "templates"))]
    loaders += [FileSystemLoader(m.templates_dir) for m in modules if m.templates_dir]
    loaders += [FileSystemLoader(d) for d in extra_dirs or []]  # connectors' pages
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.loader = ChoiceLoader(loaders)
    return templates


def install(app: FastAPI, modules: list[Module], extra_template_dirs: list[str] | None = None) -> None:
    from toancanh.web import pages

    app.state.templates = make_templates(modules, extra_template_dirs)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(pages.router, include_in_schema=False)


def render(request: Any, name: str, context: dict[str, Any], status_code: int = 200) -> Any:
    from toancanh.web.pages import base_context

    ctx = base_context(request)
    ctx.update(context)
    return request.app.state.templates.TemplateResponse(request, name, ctx, status_code=status_code)
