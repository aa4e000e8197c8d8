"""Load shedding: answer 503 (too busy) or 429 (too fast) with Retry-After, early and cheaply.

An overloaded replica that queues everything answers nothing in time and may run out of memory; one that
refuses what it cannot serve, before reading the body or touching the database, keeps serving the rest and
recovers the moment the load falls. Two limits, both per process:
- `max_inflight_requests`: requests being served at once; past it, 503 with Retry-After.
- `rate_limit_per_s` / `rate_limit_burst`: a token bucket per client (API key or bearer token when sent,
  hashed; otherwise the client address); past it, 429 with Retry-After. Off when the rate is 0.
Health checks, metrics, live streams and static files are never shed: a proxy must still see the replica
alive, and a long-lived stream is not load.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from toancanh.core.errors import error_body

EXEMPT_PREFIXES = ("/healthz", "/readyz", "/metrics", "/api/v1/events/stream", "/static/")
EXEMPT_SUFFIXES = ("/mjpeg",)
MAX_CLIENTS = 10_000  # buckets kept; the least recently seen client is forgotten first


class TokenBuckets:
    """One token bucket per client key, refilled at `rate` per second up to `burst`."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = float(max(1, burst))
        self.clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Take one token for `key`: 0.0 when allowed, else the seconds until a token is there."""
        now = self.clock()
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > MAX_CLIENTS:
            self._buckets.popitem(last=False)
        return wait


def client_key(scope: Scope) -> str:
    """Who is asking: a hash of the API key or bearer token when one is sent, else the client address."""
    for name, value in scope.get("headers") or []:
        if name in (b"x-api-key", b"authorization") and value:
            return "k:" + hashlib.sha256(value).hexdigest()[:24]
    client = scope.get("client") or ("?", 0)
    return "ip:" + str(client[0])


def exempt(path: str) -> bool:
    return path.startswith(EXEMPT_PREFIXES) or path.endswith(EXEMPT_SUFFIXES)


class LoadShedder:
    """ASGI middleware refusing work past the in-flight limit (503) or a client's rate (429)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_inflight: int,
        rate_per_s: float = 0.0,
        burst: int = 100,
        metrics: Any = None,
    ) -> None:
        self.app = app
        self.max_inflight = max_inflight
        self.buckets = TokenBuckets(rate_per_s, burst) if rate_per_s > 0 else None
        self.inflight = 0
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or exempt(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        if self.buckets is not None:
            wait = self.buckets.take(client_key(scope))
            if wait > 0:
                self._count_shed("429")
                await _refuse(
                    send,
                    429,
                    wait,
                    "rate_limited",
                    "Gửi quá nhiều yêu cầu, vui lòng thử lại sau",
                    "Too many requests, retry later",
                )
                return
        if self.max_inflight > 0 and self.inflight >= self.max_inflight:
            self._count_shed("503")
            await _refuse(
                send,
                503,
                1.0,
                "overloaded",
                "Hệ thống đang quá tải, vui lòng thử lại sau",
                "Server overloaded, retry later",
            )
            return
        self.inflight += 1
        if self.metrics is not None:
            self.metrics.inflight.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight -= 1
            if self.metrics is not None:
                self.metrics.inflight.dec()

    def _count_shed(self, status: str) -> None:
        if self.metrics is not None:
            self.metrics.shed.labels(status).inc()


async def _refuse(send: Send, status: int, retry_after_s: float, code: str, vi: str, en: str) -> None:
    body = json.dumps(error_body(code, vi, en), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", str(max(1, math.ceil(retry_after_s))).encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
