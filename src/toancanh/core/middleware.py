"""ASGI middleware: request id and client context, body size limit, security headers, metrics."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from toancanh.core.context import RequestContext, current_request
from toancanh.core.errors import error_body

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"referrer-policy", b"same-origin"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data: blob: https:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'self'; connect-src 'self'; frame-ancestors 'self'",
    ),
]


class _TooLarge(HTTPException):
    """Raised when a body passes the limit while read; an HTTPException so it is not turned into 400."""

    def __init__(self) -> None:
        super().__init__(413, "Request body too large")


class HealthOnly:
    """A worker process answers only health checks and metrics; its work is not served over HTTP."""

    PATHS = ("/healthz", "/readyz", "/metrics")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("path") not in self.PATHS:
            body = json.dumps(error_body("not_found", "Không tìm thấy", "Not found")).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 404, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


class RequestMiddleware:
    """Sets the request context, refuses bodies over `max_body` with 413, adds headers, records metrics."""

    def __init__(self, app: ASGIApp, max_body: int, metrics: Any = None) -> None:
        self.app = app
        self.max_body = max_body
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        client = scope.get("client") or ("", 0)
        token = current_request.set(
            RequestContext(rid, client[0] or "", headers.get(b"user-agent", b"").decode("latin-1")[:300])
        )
        start = time.perf_counter()
        status_holder = {"status": 500}
        try:
            declared = headers.get(b"content-length")
            if declared is not None:
                try:
                    too_big = int(declared) > self.max_body
                except ValueError:
                    too_big = True
                if too_big:
                    await self._reject(send, rid)
                    status_holder["status"] = 413
                    return
            received = 0

            async def limited_receive() -> Message:
                nonlocal received
                msg = await receive()
                if msg["type"] == "http.request":
                    received += len(msg.get("body", b""))
                    if received > self.max_body:
                        raise _TooLarge
                return msg

            async def send_with_headers(msg: Message) -> None:
                if msg["type"] == "http.response.start":
                    status_holder["status"] = msg["status"]
                    extra = [(b"x-request-id", rid.encode())] + SECURITY_HEADERS
                    present = {k.lower() for k, _ in msg.get("headers", [])}
                    msg = {
                        **msg,
                        "headers": list(msg.get("headers", [])) + [h for h in extra if h[0] not in present],
                    }
                await send(msg)

            try:
                await self.app(scope, limited_receive, send_with_headers)
            except _TooLarge:
                status_holder["status"] = 413
                await self._reject(send, rid)
        finally:
            current_request.reset(token)
            if self.metrics is not None:
                route = scope.get("route")
                path = getattr(route, "path", "unmatched")
                self.metrics.requests.labels(scope["method"], path, str(status_holder["status"])).inc()
                self.metrics.latency.labels(scope["method"], path).observe(time.perf_counter() - start)

    async def _reject(self, send: Send, rid: str) -> None:
        body = json.dumps(
            error_body(
                "payload_too_large",
                f"Dữ liệu gửi lên quá lớn (tối đa {self.max_body // 1024} KB)",
                f"Request body too large (max {self.max_body // 1024} KB)",
            ),
            ensure_ascii=False,
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"x-request-id", rid.encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
