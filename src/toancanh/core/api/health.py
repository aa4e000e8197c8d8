"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

router = APIRouter(tags=["health"])


class Metrics:
    """Per-app metrics registry (several apps in one test process must not collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "toancanh_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "toancanh_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
        )
        self.outbox_published = Gauge(
            "toancanh_outbox_published_total",
            "Events published by this process's relay",
            registry=self.registry,
        )
        self.sse_clients = Gauge(
            "toancanh_sse_clients", "Connected live-event clients", registry=self.registry
        )
        self.shed = Counter(
            "toancanh_http_shed_total",
            "Requests refused by load shedding (503 overloaded, 429 rate limited)",
            ["status"],
            registry=self.registry,
        )
        self.inflight = Gauge("toancanh_http_inflight", "Requests being served", registry=self.registry)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> Any:
    db_ok = await asyncio.to_thread(request.app.state.db.ping)
    try:
        bus_ok = await asyncio.wait_for(request.app.state.bus.ping(), timeout=3)
    except Exception:
        bus_ok = False
    body: dict[str, Any] = {
        "status": "ok" if db_ok and bus_ok else "unavailable",
        "database": db_ok,
        "bus": bus_ok,
        # which process answered: a rolling restart waits for a new one to be ready
        "instance": getattr(request.app.state, "instance", ""),
    }
    leases = getattr(request.app.state, "leases", None)
    if leases is not None:
        body["role"] = request.app.state.settings.role
        body["leases"] = {"holder": leases.holder, "held": leases.held(), "takeovers": leases.takeovers}
    connectors = getattr(request.app.state, "connectors", {})
    if connectors:  # an outside source being down is reported, but does not make this process unready
        body["connectors"] = {name: c.status() for name, c in connectors.items()}
    return JSONResponse(body, status_code=200 if db_ok and bus_ok else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    m: Metrics = request.app.state.metrics
    m.outbox_published.set(request.app.state.relay.published)
    m.sse_clients.set(request.app.state.live_hub.clients)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
