"""The SIEM connector's HTTP API: alerts pushed in batches, and the dashboard's figures.

- `POST /api/v1/siem/wazuh`: Wazuh alerts as a JSON array, `{"alerts": [...]}`, or alerts.json lines
  (application/x-ndjson), e.g. from a Wazuh integration script or Logstash. Needs `events.write`.
- `POST /api/v1/siem/syslog`: syslog or CEF lines as text/plain, one per line. Needs `events.write`.
- `GET /api/v1/siem/summary`: infosec events by severity, kind, asset and unit, and the latest ones.

Each recorded event must fall in the caller's units (the asset's unit, or the connector's default unit):
those outside are listed in `rejected`. Malformed items are counted by reason in `malformed` and change
nothing; a body with nothing readable is a 400.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from toancanh.connectors.siem import dashboard
from toancanh.connectors.siem.const import MAX_LINE_BYTES, MAX_POST_BYTES, MAX_POST_ITEMS
from toancanh.connectors.siem.pipeline import Outcome, Pipeline, SiemConfig
from toancanh.core.api.deps import CurrentPrincipal, DetachedPrincipal, SessionDep
from toancanh.core.auth.scope import Principal
from toancanh.core.errors import BadRequest, PayloadTooLarge
from toancanh.web.pages import locale_of

router = APIRouter(prefix="/api/v1/siem", tags=["siem"])


def pipeline_of(app: Any) -> Pipeline:
    """The app's pipeline for pushed alerts (one per process; the listeners' runs in the coordinator)."""
    found: Pipeline | None = getattr(app.state, "siem_pipeline", None)
    if found is None:
        from toancanh.connectors.cap.coordinator import record_via_app

        def record(items: list[Any], actor: Principal | None) -> Any:
            return record_via_app(app, items, actor=actor)

        found = Pipeline(app.state.db, record, SiemConfig.from_settings(app.state.settings))
        app.state.siem_pipeline = found
    return found


async def _body(request: Request) -> bytes:
    too_large = PayloadTooLarge(
        f"Tối đa {MAX_POST_BYTES // (1024 * 1024)} MB mỗi lần gửi",
        f"At most {MAX_POST_BYTES // (1024 * 1024)} MB per request",
    )
    declared = request.headers.get("content-length", "")
    if declared.isdecimal() and int(declared) > MAX_POST_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_POST_BYTES:
            raise too_large
    return bytes(body)


def _too_many(n: int) -> None:
    if n > MAX_POST_ITEMS:
        raise BadRequest(
            f"Tối đa {MAX_POST_ITEMS} cảnh báo mỗi lần gửi", f"At most {MAX_POST_ITEMS} alerts per request"
        )


def _answer(out: Outcome) -> dict[str, Any]:
    if not out.recorded and not out.duplicates and not out.ignored and (out.malformed or out.rejected):
        raise BadRequest("Không ghi được cảnh báo nào", "No alert was recorded", details=[out.as_dict()])
    return out.as_dict()


@router.post("/wazuh")
async def post_wazuh(request: Request, principal: DetachedPrincipal) -> dict[str, Any]:
    """Wazuh alerts: a JSON array, {"alerts": [...]}, or alerts.json lines (one JSON object a line)."""
    principal.require("events.write")
    body = await _body(request)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    pipeline = pipeline_of(request.app)
    if kind in ("application/x-ndjson", "application/jsonl", "text/plain"):
        lines = [line for line in body.split(b"\n") if line.strip()]
        if not lines:
            raise BadRequest("Không có dòng nào", "No lines in the body")
        _too_many(len(lines))
        out = await run_in_threadpool(pipeline.process, [("wazuh", ln, "http") for ln in lines], principal)
        return _answer(out)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("Nội dung không phải JSON hợp lệ", f"The body is not valid JSON: {exc}") from None
    items = doc.get("alerts") if isinstance(doc, dict) and "alerts" in doc else doc
    if isinstance(items, dict):
        items = [items]
    if not isinstance(items, list) or not items:
        raise BadRequest(
            'Cần một mảng cảnh báo Wazuh hoặc {"alerts": [...]}',
            'Expected an array of Wazuh alerts or {"alerts": [...]}',
        )
    _too_many(len(items))
    out = await run_in_threadpool(pipeline.process_wazuh_docs, items, principal)
    return _answer(out)


@router.post("/syslog")
async def post_syslog(request: Request, principal: DetachedPrincipal) -> dict[str, Any]:
    """Syslog (RFC 5424 / RFC 3164) or CEF lines, one per line (text/plain)."""
    principal.require("events.write")
    body = await _body(request)
    lines = [line for line in body.split(b"\n") if line.strip()]
    if not lines:
        raise BadRequest("Không có dòng nào", "No lines in the body")
    _too_many(len(lines))
    peer = request.client.host if request.client else "http"
    items = [("syslog", ln.rstrip(b"\r") if len(ln) <= MAX_LINE_BYTES else ln, peer) for ln in lines]
    out = await run_in_threadpool(pipeline_of(request.app).process, items, principal)
    return _answer(out)


@router.get("/summary")
def get_summary(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    last: str | None = Query(default=None, max_length=4),
    since: datetime | None = None,
    until: datetime | None = None,
    recent: int = Query(default=50, ge=0, le=500),
) -> dict[str, Any]:
    """Infosec events in a window (`last` = 1h/24h/7d/30d, or since/until; 24 h by default), counted by
    severity, kind, asset and unit, with the most recent ones; only the caller's units and domains."""
    start, end = dashboard.window(since, until, last)
    return dashboard.summary(db, principal, start, end, locale=locale_of(request), recent=recent)
