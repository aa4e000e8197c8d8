"""Dry run (chạy thử) of a rule over stored history: what it would have raised, without writing anything.

The rule runs in a fresh `RuleEngine` fed with stored samples (reading rules) or stored events (event and
pattern rules) in time order, so durations, windows and cooldowns behave as they would have live.
Samples stream in time windows sized to about `CHUNK` rows each: every window is one query that the
primary key (series_id, ts) answers with index range scans, sorted by (ts, series_id), so the database never
sorts the whole history and memory stays flat however long the range is.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from toancanh.core.assets import Asset
from toancanh.core.errors import BadRequest
from toancanh.core.timeseries import Series, from_ms
from toancanh.core.units import Unit
from toancanh.core.worktime import WorkCalendar
from toancanh.modules.alerts.models import Event
from toancanh.modules.alerts.rules.engine import LoadedRule, RuleEngine
from toancanh.modules.alerts.rules.spec import RuleSpec
from toancanh.modules.alerts.rules.types import AssetInfo, Firing, Observed

__all__ = ["CHUNK", "MAX_RANGE_MS", "DryRunResult", "dry_run"]

_Select = TypeVar("_Select", bound="Select[*tuple[Any, ...]]")

CHUNK = 50_000
MAX_RANGE_MS = 366 * 86_400_000
_FIRST_WINDOW_MS = 3_600_000


@dataclass
class DryRunResult:
    """What a dry run found: the first firings (as dicts), how many in all, and how much it read."""

    firings: list[dict[str, Any]] = field(default_factory=list)
    total_firings: int = 0
    readings_scanned: int = 0
    events_scanned: int = 0
    assets_considered: int = 0
    elapsed_s: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Collector:
    __slots__ = ("result", "max_firings")

    def __init__(self, result: DryRunResult, max_firings: int) -> None:
        self.result = result
        self.max_firings = max_firings

    def add(self, firings: list[Firing]) -> None:
        if not firings:
            return
        r = self.result
        r.total_firings += len(firings)
        room = self.max_firings - len(r.firings)
        for f in firings[: max(room, 0)]:
            r.firings.append(asdict(f))


def dry_run(
    db: Session,
    spec: RuleSpec,
    *,
    unit_path: str,
    start_ms: int,
    end_ms: int,
    max_firings: int = 200,
    calendar: WorkCalendar | None = None,
) -> DryRunResult:
    """Run `spec` as a rule of the unit at `unit_path` over the history in [start_ms, end_ms)."""
    if end_ms <= start_ms:
        raise BadRequest("Thời điểm kết thúc phải sau thời điểm bắt đầu", "end must be after start")
    if end_ms - start_ms > MAX_RANGE_MS:
        raise BadRequest("Khoảng thời gian chạy thử tối đa 366 ngày", "A dry run covers at most 366 days")
    t0 = time.perf_counter()
    result = DryRunResult()
    collect = _Collector(result, max(0, max_firings))
    unit_id = db.scalar(select(Unit.id).where(Unit.path == unit_path))
    engine = RuleEngine(calendar)
    engine.load([LoadedRule(0, 0, unit_path, spec, unit_id)])
    if spec.on_events:
        _run_events(db, engine, spec, unit_path, start_ms, end_ms, result, collect)
    else:
        _run_readings(db, engine, spec, unit_path, start_ms, end_ms, result, collect)
    # silences are found at the end of a chunk, after the chunk's own firings: show them in time order
    result.firings.sort(key=lambda f: f["ts"])
    result.elapsed_s = round(time.perf_counter() - t0, 3)
    return result


# ---------------------------------------------------------------------------------------------- readings


def _scoped_assets(stmt: _Select, spec: RuleSpec, unit_path: str) -> _Select:
    """`stmt` (which selects from assets) limited to the assets in the rule's scope, groups aside."""
    scope = spec.scope
    stmt = stmt.join(Unit, Unit.id == Asset.unit_id).where(Unit.path.startswith(unit_path, autoescape=True))
    if scope.unit_path:
        stmt = stmt.where(Unit.path.startswith(scope.unit_path, autoescape=True))
    if scope.domain:
        stmt = stmt.where(Asset.domain == scope.domain)
    if scope.asset_types:
        stmt = stmt.where(Asset.type.in_(scope.asset_types))
    if scope.assets:
        stmt = stmt.where(Asset.code.in_(scope.assets))
    return stmt


def _asset_info(row: Any) -> AssetInfo:
    attributes = row.attributes if isinstance(row.attributes, dict) else {}
    group = attributes.get("group")
    return AssetInfo(
        id=row.id,
        code=row.code,
        name=row.name,
        type=row.type,
        domain=row.domain,
        unit_id=row.unit_id,
        unit_path=row.path,
        lat=row.lat,
        lon=row.lon,
        group=group if isinstance(group, str) else "",
    )


_ASSET_COLUMNS = (
    Asset.id,
    Asset.code,
    Asset.name,
    Asset.type,
    Asset.domain,
    Asset.unit_id,
    Unit.path,
    Asset.lat,
    Asset.lon,
    Asset.attributes,
)


def _run_readings(
    db: Session,
    engine: RuleEngine,
    spec: RuleSpec,
    unit_path: str,
    start_ms: int,
    end_ms: int,
    result: DryRunResult,
    collect: _Collector,
) -> None:
    groups = set(spec.scope.asset_groups or ())
    assets = {
        info.id: info
        for info in map(
            _asset_info,
            db.execute(_scoped_assets(select(*_ASSET_COLUMNS).select_from(Asset), spec, unit_path)),
        )
        if not groups or info.group in groups
    }
    result.assets_considered = len(assets)
    if not assets:
        return
    measures = spec.measures()
    series: dict[int, tuple[int, str]] = {}  # series id -> (asset id, measure)
    rows = db.execute(
        _scoped_assets(
            select(Series.id, Series.key, Series.asset_id).join(Asset, Asset.id == Series.asset_id),
            spec,
            unit_path,
        )
    )
    for sid, key, asset_id in rows:
        measure = key.rsplit(".", 1)[-1]
        if asset_id in assets and (measures is None or measure in measures):
            series[sid] = (asset_id, measure)
    if not series:
        return
    lookup = assets.get
    # an asset is expected to report when it has a series the rule reads (a camera in scope is not a
    # silent water-level sensor)
    engine.watch_assets(assets[a] for a in {a for a, _ in series.values()})
    collect.add(engine.tick(start_ms))  # absence rules count silence from the start of the range
    feed = engine.feed_rows
    scanned = 0
    for chunk in _samples(db, sorted(series), start_ms, end_ms):
        scanned += len(chunk)
        collect.add(feed([(*series[sid], ts, value) for sid, ts, value in chunk], lookup))
        collect.add(engine.tick(chunk[-1][1]))
    collect.add(engine.tick(end_ms))
    result.readings_scanned = scanned


def _samples(
    db: Session, series_ids: list[int], start_ms: int, end_ms: int
) -> Iterator[list[tuple[int, int, float]]]:
    """(series_id, ts, value) rows in [start, end) in (ts, series_id) order, in lists of at most CHUNK rows.

    Each time window is one query through the driver's own cursor (a server-side cursor on PostgreSQL, so
    even an unexpectedly dense window is fetched CHUNK rows at a time). The window's width adapts to hold
    about CHUNK rows; an empty window jumps straight to the next stored sample.
    """
    conn = db.connection()
    raw: Any = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        ids: Any = series_ids
        where = "series_id = ANY(%s) AND ts >= %s AND ts < %s"
        next_sql = (
            "SELECT min(x.ts) FROM unnest(%s::bigint[]) AS s(id), LATERAL "
            "(SELECT ts FROM samples WHERE series_id = s.id AND ts >= %s ORDER BY ts LIMIT 1) AS x"
        )
    else:
        ids = json.dumps(series_ids)  # one parameter however many series (SQLite limits parameters)
        where = "series_id IN (SELECT value FROM json_each(?)) AND ts >= ? AND ts < ?"
        next_sql = (
            "SELECT min((SELECT ts FROM samples WHERE series_id = j.value AND ts >= ? ORDER BY ts LIMIT 1)) "
            "FROM json_each(?) AS j"
        )
    sql = f"SELECT series_id, ts, value FROM samples WHERE {where} ORDER BY ts, series_id"
    pg = conn.dialect.name == "postgresql"
    width = _FIRST_WINDOW_MS
    lo = start_ms
    while lo < end_ms:
        hi = min(end_ms, lo + width)
        cur = raw.cursor(name="toancanh_dry_run") if pg else raw.cursor()
        n = 0
        try:
            cur.execute(sql, (ids, lo, hi))
            while rows := cur.fetchmany(CHUNK):
                n += len(rows)
                yield rows
        finally:
            cur.close()
        if n == 0:
            params = (ids, hi) if pg else (hi, ids)
            nxt = raw.execute(next_sql, params).fetchone()[0]
            if nxt is None:
                return
            lo = int(nxt)
            continue
        width = max(1000, min(width * 8, width * CHUNK // n))
        lo = hi


# ---------------------------------------------------------------------------------------------- events


def _run_events(
    db: Session,
    engine: RuleEngine,
    spec: RuleSpec,
    unit_path: str,
    start_ms: int,
    end_ms: int,
    result: DryRunResult,
    collect: _Collector,
) -> None:
    cache: dict[int, AssetInfo | None] = {}

    def lookup(asset_id: int) -> AssetInfo | None:
        if asset_id not in cache:
            row = db.execute(
                select(*_ASSET_COLUMNS).join(Unit, Unit.id == Asset.unit_id).where(Asset.id == asset_id)
            ).first()
            cache[asset_id] = _asset_info(row) if row else None
        return cache[asset_id]

    stmt = (
        select(
            Event.id,
            Event.at,
            Event.source,
            Event.category,
            Event.severity,
            Event.domain,
            Event.unit_id,
            Unit.path,
            Event.asset_id,
            Event.lat,
            Event.lon,
            Event.title,
            Event.payload,
        )
        .join(Unit, Unit.id == Event.unit_id)
        .where(
            Event.at >= from_ms(start_ms),
            Event.at < from_ms(end_ms),
            Unit.path.startswith(unit_path, autoescape=True),
        )
        .order_by(Event.at, Event.id)
        .execution_options(yield_per=CHUNK)
    )
    if spec.scope.unit_path:
        stmt = stmt.where(Unit.path.startswith(spec.scope.unit_path, autoescape=True))
    if spec.scope.domain:
        stmt = stmt.where(Event.domain == spec.scope.domain)
    scanned = 0
    assets_seen: set[int] = set()
    for row in db.execute(stmt):
        scanned += 1
        if row.asset_id is not None:
            assets_seen.add(row.asset_id)
        ev = Observed(
            id=row.id,
            ts=int(row.at.timestamp() * 1000),
            source=row.source,
            category=row.category,
            severity=row.severity,
            domain=row.domain,
            unit_id=row.unit_id,
            unit_path=row.path,
            asset_id=row.asset_id,
            lat=row.lat,
            lon=row.lon,
            title=row.title,
            payload=row.payload if isinstance(row.payload, dict) else {},
        )
        collect.add(engine.feed_event(ev, lookup))
    result.events_scanned = scanned
    result.assets_considered = len(assets_seen)
