"""Time series, files and the audit log over HTTP."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.responses import Response
from sqlalchemy import select

from toancanh.core import audit, forecast, timeseries
from toancanh.core.api.deps import CurrentPrincipal, SessionDep, require
from toancanh.core.api.schemas import DbId, SamplesIn, SeriesIn
from toancanh.core.assets import DOMAINS
from toancanh.core.audit import AuditEntry
from toancanh.core.auth.scope import Principal, get_scoped, scoped
from toancanh.core.errors import BadRequest, Conflict, PayloadTooLarge
from toancanh.core.files import Blob
from toancanh.core.units import get_unit

router = APIRouter(prefix="/api/v1", tags=["data"])

UPLOAD_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf", "video/mp4"})


def parse_time(value: Any) -> int:
    """ISO 8601 with a zone, or epoch milliseconds, to epoch milliseconds."""
    if isinstance(value, bool):
        raise BadRequest("Thời gian không hợp lệ", "Invalid time")
    if isinstance(value, int | float):
        if not 0 <= value < 10**14:
            raise BadRequest("Thời gian không hợp lệ", "Invalid time")
        return int(value)
    if isinstance(value, str):
        try:
            ms = timeseries.to_ms(datetime.fromisoformat(value))
        except ValueError as exc:
            raise BadRequest(f"Thời gian không hợp lệ: {value[:40]}", f"Invalid time: {value[:40]}") from exc
        if not 0 <= ms < 10**14:
            raise BadRequest("Thời gian phải sau năm 1970", "Times must be after 1970")
        return ms
    raise BadRequest("Thời gian không hợp lệ", "Invalid time")


@router.get("/series")
def list_series(
    db: SessionDep, principal: CurrentPrincipal, asset_id: DbId | None = None, unit_id: DbId | None = None
) -> list[dict[str, Any]]:
    stmt = scoped(select(timeseries.Series), principal, timeseries.Series, "series.read")
    if asset_id is not None:
        stmt = stmt.where(timeseries.Series.asset_id == asset_id)
    if unit_id is not None:
        stmt = stmt.where(timeseries.Series.unit_id == unit_id)
    return [s.summary() for s in db.scalars(stmt.order_by(timeseries.Series.key).limit(5000))]


@router.post("/series", status_code=201)
def create_series(body: SeriesIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    unit = get_unit(db, body.unit_id)
    if body.domain not in DOMAINS:
        raise BadRequest(f"Lĩnh vực không hợp lệ: {body.domain}", f"Unknown domain: {body.domain}")
    principal.require("series.write", unit.path, body.domain)
    if db.scalar(select(timeseries.Series.id).where(timeseries.Series.key == body.key)) is not None:
        raise Conflict("Khóa chuỗi số liệu đã tồn tại", "Series key already exists")
    series = timeseries.Series(**body.model_dump())
    db.add(series)
    db.flush()
    audit.record_by(
        db,
        principal,
        "series.create",
        entity_type="series",
        entity_id=series.id,
        unit_id=unit.id,
    )
    return series.summary()


@router.post("/series/{series_id}/samples")
def write_samples(
    series_id: DbId, body: SamplesIn, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, int]:
    """Batched write: up to 50,000 samples per request; a repeated time overwrites the value."""
    series = get_scoped(db, principal, timeseries.Series, series_id, "series.read")
    path = get_unit(db, series.unit_id).path
    principal.require("series.write", path, series.domain)
    rows = [(series.id, parse_time(s.t), s.v) for s in body.samples]
    return {"written": timeseries.write_samples(db, rows)}


@router.get("/series/{series_id}/samples")
def read_samples(
    series_id: DbId,
    db: SessionDep,
    principal: CurrentPrincipal,
    start: str = Query(max_length=40),
    end: str = Query(max_length=40),
    rollup: Literal["raw", "minute", "hour", "day"] = "raw",
) -> dict[str, Any]:
    series = get_scoped(db, principal, timeseries.Series, series_id, "series.read")
    points = timeseries.query(db, series.id, parse_time(_num(start)), parse_time(_num(end)), rollup)
    return {"series": series.summary(), "rollup": rollup, "points": [p.as_dict() for p in points]}


FORECAST_WINDOW_MS = {"hour": 14 * 86_400_000, "day": 180 * 86_400_000}


@router.get("/series/{series_id}/forecast")
def forecast_series(
    series_id: DbId,
    db: SessionDep,
    principal: CurrentPrincipal,
    rollup: Literal["hour", "day"] = "hour",
    end: str | None = Query(default=None, max_length=40),
    horizon: int = Query(default=24, ge=1, le=366),
    level: int = Query(default=forecast.DEFAULT_LEVEL, ge=50, le=99),
) -> dict[str, Any]:
    """The series' hourly or daily averages over the last 14 days (hours) or 180 days (days) before `end`
    (default: now), the forecast of the next `horizon` buckets with its interval, the buckets whose value
    left the in-sample interval (anomalies) and a backtest on the last buckets."""
    series = get_scoped(db, principal, timeseries.Series, series_id, "series.read")
    step = timeseries.ROLLUPS_MS[rollup]
    end_ms = parse_time(_num(end)) if end else int(datetime.now().timestamp() * 1000)
    points = timeseries.query(db, series.id, end_ms - FORECAST_WINDOW_MS[rollup], end_ms, rollup)
    grid: list[int] = []
    values: list[float | None] = []
    if points:
        by_ts = {p.ts: p.avg for p in points}
        grid = list(range(points[0].ts, points[-1].ts + 1, step))
        values = [by_ts.get(ts) for ts in grid]
    result = forecast.forecast(
        values, season_length=forecast.season_for(rollup), horizon=horizon, level=level
    )
    last = grid[-1] if grid else end_ms
    return {
        "series": series.summary(),
        "rollup": rollup,
        "points": [
            {"t": timeseries.from_ms(ts).isoformat(), "ts": ts, "value": v}
            for ts, v in zip(grid, values, strict=True)
        ],
        "ahead_ts": [last + step * (i + 1) for i in range(horizon)],
        "forecast": result.as_dict() if result else None,
    }


def _num(value: str) -> Any:
    return int(value) if value.isdecimal() else value


@router.post("/files", status_code=201)
def upload_file(
    request: Request, file: UploadFile, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Upload a photo, clip or document; its type is read from its content, not its name."""
    principal.require("files.write")
    limit = request.app.state.settings.max_body_bytes
    # The request's own session: on SQLite a second one would wait on this one's write lock (BEGIN IMMEDIATE).
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge("Tệp quá lớn", "File too large")
    ref = request.app.state.blobs.put(db, data, allowed=UPLOAD_TYPES, max_bytes=limit)
    return {"sha256": ref.sha256, "size": ref.size, "content_type": ref.content_type}


@router.get("/files/{sha256}")
def download_file(sha256: str, request: Request, db: SessionDep, principal: CurrentPrincipal) -> Response:
    data = request.app.state.blobs.read(sha256.lower())  # first: it refuses anything but a sha256 (NUL, "..")
    blob = db.get(Blob, sha256.lower())
    ctype = blob.content_type if blob else "application/octet-stream"
    return Response(data, media_type=ctype, headers={"Cache-Control": "private, max-age=86400"})


@router.get("/audit")
def audit_log(
    db: SessionDep,
    principal: Principal = require("audit.read"),
    action: str | None = Query(default=None, max_length=80),
    entity_type: str | None = Query(default=None, max_length=60),
    before_id: DbId | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """The audit log, newest first; non-admins see entries of their units only."""
    stmt = select(AuditEntry)
    if not principal.is_admin:
        stmt = scoped(stmt.where(AuditEntry.unit_id.is_not(None)), principal, AuditEntry, "audit.read")
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if entity_type:
        stmt = stmt.where(AuditEntry.entity_type == entity_type)
    if before_id:
        stmt = stmt.where(AuditEntry.id < before_id)
    return [e.summary() for e in db.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit))]
