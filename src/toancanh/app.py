"""create_app(settings): core + enabled modules -> one ASGI app."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import socket
import uuid
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from toancanh.core import logs
from toancanh.core.api import auth as auth_api
from toancanh.core.api import data as data_api
from toancanh.core.api import events as events_api
from toancanh.core.api import health as health_api
from toancanh.core.api import places as places_api
from toancanh.core.auth import permissions
from toancanh.core.bus import create_bus
from toancanh.core.connectors import Connector
from toancanh.core.db import Database
from toancanh.core.errors import AppError, error_body
from toancanh.core.files import BlobStore
from toancanh.core.leases import LeaseKeeper
from toancanh.core.middleware import HealthOnly, RequestMiddleware
from toancanh.core.modules import Module
from toancanh.core.outbox import Relay
from toancanh.core.overload import LoadShedder
from toancanh.core.tasks import spawn, spawn_leased
from toancanh.core.workflow import WorkflowEngine
from toancanh.core.worktime import WorkCalendar
from toancanh.settings import Settings

log = logging.getLogger("toancanh.app")

_HTTP_CODES = {
    400: ("bad_request", "Yêu cầu không hợp lệ"),
    401: ("unauthorized", "Cần đăng nhập"),
    403: ("forbidden", "Không có quyền"),
    404: ("not_found", "Không tìm thấy"),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ"),
    406: ("not_acceptable", "Không chấp nhận được"),
    413: ("payload_too_large", "Dữ liệu gửi lên quá lớn"),
    415: ("unsupported_media_type", "Kiểu dữ liệu không được hỗ trợ"),
    429: ("too_many_requests", "Quá nhiều yêu cầu"),
}


def load_modules(names: list[str]) -> list[Module]:
    """Import `toancanh.modules.<name>` for each enabled module and return their `module` objects."""
    found = []
    for name in names:
        mod = importlib.import_module(f"toancanh.modules.{name}")
        module = getattr(mod, "module", None)
        if not isinstance(module, Module):
            raise RuntimeError(f"toancanh.modules.{name} does not expose `module = Module(...)`")
        found.append(module)
    return found


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        body = error_body("validation_error", "Dữ liệu không hợp lệ", "Invalid input", details)
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, vi = _HTTP_CODES.get(exc.status_code, ("http_error", "Lỗi yêu cầu"))
        en = exc.detail if isinstance(exc.detail, str) else code
        return JSONResponse(error_body(code, vi, en), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the validation let through (e.g. an integer beyond BIGINT).
        log.warning("database refused a value on %s %s: %s", request.method, request.url.path, exc.orig)
        body = error_body("invalid_value", "Giá trị không hợp lệ", "Invalid value")
        return JSONResponse(body, status_code=400)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        body = error_body("internal_error", "Lỗi hệ thống, đã được ghi lại", "Internal error, logged")
        return JSONResponse(body, status_code=500)


def load_connectors(names: list[str]) -> list[Connector]:
    """Import `toancanh.connectors.<name>` for each enabled connector and return their `connector` objects."""
    out = []
    for name in names:
        mod = importlib.import_module(f"toancanh.connectors.{name}")
        c = getattr(mod, "connector", None)
        if not isinstance(c, Connector):
            raise RuntimeError(f"toancanh.connectors.{name} does not expose `connector = Connector(...)`")
        out.append(c)
    return out


async def _retention_loop(app: FastAPI) -> None:
    """The scheduled purge (core.retention): first an hour after start, then every retention_interval_h."""
    from toancanh.core import retention
    from toancanh.core.tasks import run_every

    settings: Settings = app.state.settings
    rules, holds = retention.module_rules(app.state.modules)
    await run_every(
        settings.retention_interval_h * 3600,
        lambda: retention.purge(app.state.db, settings, rules, holds),
        "retention-purge",
        first_after_s=3600.0,
    )


def _lease_connector(app: FastAPI, c: Connector) -> None:
    """A connector runs in one process at a time, the holder of the lease `connector:<name>`: two MQTT
    sessions with one client id would take each other's place, and the broker keeps the session's QoS 1
    messages for whichever process takes the lease over."""

    async def start() -> None:
        coordinator = await c.setup(app)
        if coordinator is not None:
            app.state.connectors[c.name] = coordinator

    async def stop() -> None:
        coordinator = app.state.connectors.pop(c.name, None)
        if coordinator is not None:
            with contextlib.suppress(Exception):
                await coordinator.stop()
        if c.teardown is not None:
            with contextlib.suppress(Exception):
                await c.teardown(app)

    app.state.leases.add(f"connector:{c.name}", start, stop)


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """Build the ASGI app: core services, core API, the web shell and every enabled module."""
    settings = settings or Settings()
    logs.configure(settings.log_level, settings.log_json)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = database or Database(settings.resolved_database_url)
    modules = load_modules(settings.modules)
    connectors = load_connectors(settings.connectors)
    for m in modules:
        permissions.register(m.permissions)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        bus = app.state.bus
        await bus.start()
        await app.state.live_hub.start(bus)
        await app.state.relay.start()
        with db.startup_lock():  # replicas starting together seed one after the other
            for m in modules:
                for hook in m.on_startup:
                    await hook(app)
        for c in connectors:
            _lease_connector(app, c)
        if settings.retention_interval_h > 0:
            spawn_leased(app, lambda: _retention_loop(app), "retention-purge")
        await app.state.leases.start()
        if settings.simulator:
            from toancanh.demo import simulator

            spawn(app, simulator.run(app), "demo-simulator")
        try:
            yield
        finally:
            await app.state.leases.stop()  # stops the connectors and jobs this process held
            for m in reversed(modules):
                for hook in m.on_shutdown:
                    with contextlib.suppress(Exception):
                        await hook(app)
            for task in list(app.state.background):
                task.cancel()
            await asyncio.gather(*app.state.background, return_exceptions=True)
            await app.state.relay.stop()
            await app.state.live_hub.stop()
            await bus.close()

    app = FastAPI(
        title="Toàn Cảnh IOC API",
        version="0.1.0",
        description="Trung tâm Điều hành thông minh (Intelligent Operations Center) — API",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.instance = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    app.state.db = db
    app.state.bus = create_bus(settings.bus_url)
    app.state.relay = Relay(db, app.state.bus, interval_s=settings.relay_interval_s)
    app.state.leases = LeaseKeeper(db, ttl_s=settings.lease_ttl_s, enabled=settings.role != "api")
    app.state.live_hub = events_api.LiveHub()
    app.state.blobs = BlobStore(settings.blob_dir)
    app.state.metrics = health_api.Metrics()
    app.state.calendar = WorkCalendar.default()
    app.state.workflow = WorkflowEngine(app.state.calendar)
    app.state.modules = modules
    app.state.connectors = {}
    app.state.background = set()
    _install_error_handlers(app)
    for r in (health_api.router, auth_api.router, places_api.router, data_api.router, events_api.router):
        app.include_router(r)
    for m in modules:
        for r in m.routers:
            app.include_router(r)
    for c in connectors:
        for r in c.routers:
            app.include_router(r)

    from toancanh import web

    web.install(app, modules, [c.templates_dir for c in connectors if c.templates_dir])
    for m in modules:
        for r in m.web_routers:
            app.include_router(r, include_in_schema=False)
    app.state.connector_nav = [item for c in connectors for item in c.nav]
    for c in connectors:
        for r in c.web_routers:
            app.include_router(r, include_in_schema=False)
    app.add_middleware(RequestMiddleware, max_body=settings.max_body_bytes, metrics=app.state.metrics)
    if settings.role == "worker":
        app.add_middleware(HealthOnly)
    # Outermost: an overloaded replica refuses before any other work is done.
    app.add_middleware(
        LoadShedder,
        max_inflight=settings.max_inflight_requests,
        rate_per_s=settings.rate_limit_per_s,
        burst=settings.rate_limit_burst,
        metrics=app.state.metrics,
    )
    return app
