"""Recording events (sự kiện): every source (sensor, camera AI, citizen report, manual entry, CAP) in one
shape.

`record()` validates a batch, fills the unit and place from the asset (or finds the unit from the point),
skips events already recorded (same `source` and `source_ref`), and adds the rows in the caller's transaction.
Whatever fails validation is returned as a reason and changes nothing; the valid rest of the batch is kept.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select, tuple_
from sqlalchemy.orm import Session

from toancanh.core.assets import DOMAINS, Asset
from toancanh.core.auth.scope import Principal
from toancanh.core.db import utcnow
from toancanh.core.units import Unit
from toancanh.modules.alerts.models import CERTAINTIES, EVENT_SOURCES, SEVERITIES, URGENCIES, Event
from toancanh.modules.alerts.rules.types import AssetInfo, Observed

CATEGORY = re.compile(r"[a-z0-9_]+(\.[a-z0-9_]+){0,4}")
MAX_FUTURE = timedelta(minutes=5)
MAX_PAST = timedelta(days=366)
MAX_EVIDENCE = 20


@dataclass(slots=True)
class EventIn:
    """An event to record, as a source reports it."""

    source: str
    category: str
    title: str
    at: datetime | None = None
    domain: str | None = None
    unit_id: int | None = None
    asset_code: str | None = None
    severity: str = "unknown"
    urgency: str = "unknown"
    certainty: str = "unknown"
    title_en: str = ""
    description: str = ""
    lat: float | None = None
    lon: float | None = None
    source_ref: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    evidence: list[Any] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Place:
    """What an event takes from its device (asset): the rule engine's AssetInfo fits."""

    id: int
    unit_id: int
    domain: str
    lat: float
    lon: float


@dataclass(slots=True)
class Recorded:
    ids: list[int]  # the new rows' ids, in input order
    duplicates: int
    rejected: list[dict[str, Any]]  # {"index", "reason", "reason_en"}
    observed: list[Observed]  # what the rule engine reads, for the new rows


class _Reject(Exception):
    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi, self.en = vi, en


def _check(item: EventIn, now: datetime) -> None:
    if item.source not in EVENT_SOURCES:
        raise _Reject(f"Nguồn không hợp lệ: {item.source}", f"Unknown source: {item.source}")
    if not CATEGORY.fullmatch(item.category or "") or len(item.category) > 64:
        raise _Reject(
            "Loại sự kiện chỉ gồm chữ thường, số, '_' và '.', ví dụ fire.smoke",
            "The category is lower-case words joined by dots, e.g. fire.smoke",
        )
    for name, value, allowed in (
        ("severity", item.severity, SEVERITIES),
        ("urgency", item.urgency, URGENCIES),
        ("certainty", item.certainty, CERTAINTIES),
    ):
        if value not in allowed:
            raise _Reject(f"Giá trị {name} không hợp lệ: {value}", f"Invalid {name}: {value}")
    if item.domain is not None and item.domain not in DOMAINS:
        raise _Reject(f"Lĩnh vực không hợp lệ: {item.domain}", f"Unknown domain: {item.domain}")
    if not item.title.strip() or len(item.title) > 300 or len(item.title_en) > 300:
        raise _Reject("Tiêu đề bắt buộc, tối đa 300 ký tự", "A title is required, at most 300 characters")
    if len(item.description) > 10_000:
        raise _Reject("Mô tả tối đa 10.000 ký tự", "The description is at most 10,000 characters")
    if (item.lat is None) != (item.lon is None):
        raise _Reject("Cần cả vĩ độ và kinh độ", "Give both latitude and longitude")
    if item.lat is not None and item.lon is not None:
        if not (math.isfinite(item.lat) and math.isfinite(item.lon)):
            raise _Reject("Tọa độ không hợp lệ", "Invalid coordinates")
        if not (-90 <= item.lat <= 90 and -180 <= item.lon <= 180):
            raise _Reject("Tọa độ không hợp lệ", "Invalid coordinates")
    if item.at is not None:
        if item.at.tzinfo is None:
            raise _Reject("Thời gian phải có múi giờ", "The time must carry a time zone")
        if item.at > now + MAX_FUTURE or item.at < now - MAX_PAST:
            raise _Reject("Thời gian nằm ngoài khoảng cho phép", "The time is out of the accepted range")
    if item.source_ref is not None and not (0 < len(item.source_ref) <= 200):
        raise _Reject("Mã nguồn tối đa 200 ký tự", "source_ref is 1-200 characters")
    if not isinstance(item.evidence, list) or len(item.evidence) > MAX_EVIDENCE:
        raise _Reject(f"Tối đa {MAX_EVIDENCE} bằng chứng", f"At most {MAX_EVIDENCE} evidence links")


def _places(db: Session, codes: set[str]) -> dict[str, Place]:
    if not codes:
        return {}
    rows = db.execute(
        select(Asset.code, Asset.id, Asset.unit_id, Asset.domain, Asset.lat, Asset.lon).where(
            Asset.code.in_(codes)
        )
    )
    return {code: Place(i, unit_id, domain, lat, lon) for code, i, unit_id, domain, lat, lon in rows}


def record(
    db: Session,
    items: Sequence[EventIn],
    *,
    actor: Principal | None = None,
    locate: Callable[[float, float], int | None] | None = None,
    place_of: Callable[[str], Place | AssetInfo | None] | None = None,
    now: datetime | None = None,
) -> Recorded:
    """Validate and add a batch of events. `locate(lat, lon)` finds the unit of an event with a place only;
    `place_of(asset_code)` finds a device (the live path passes its cache; otherwise one query a batch).

    The rows go in with one multi-row INSERT ... RETURNING (no ORM objects: thousands of events a second
    come through here)."""
    now = now or utcnow()
    if place_of is None:
        places = _places(db, {i.asset_code for i in items if i.asset_code})
        place_of = places.get
    refs = [(i.source, i.source_ref) for i in items if i.source_ref]
    seen: set[tuple[str, str]] = set()
    if refs:
        for chunk in range(0, len(refs), 500):
            part = refs[chunk : chunk + 500]
            seen.update(
                (s, r or "")
                for s, r in db.execute(
                    select(Event.source, Event.source_ref).where(
                        tuple_(Event.source, Event.source_ref).in_(part)
                    )
                )
            )
    paths: dict[int, str] = {}
    rows: list[dict[str, Any]] = []
    out = Recorded([], 0, [], [])
    for index, item in enumerate(items):
        try:
            _check(item, now)
            if item.source_ref and (item.source, item.source_ref) in seen:
                out.duplicates += 1
                continue
            row = _build(item, place_of, locate, now)
            unit_id = row["unit_id"]
            path = paths.get(unit_id)
            if path is None:
                path = db.scalar(select(Unit.path).where(Unit.id == unit_id))
                if path is None:
                    raise _Reject("Đơn vị không tồn tại", "Unit does not exist")
                paths[unit_id] = path
            if actor is not None and not actor.can("events.write", path, row["domain"]):
                raise _Reject(
                    "Bạn không có quyền ghi sự kiện cho đơn vị/lĩnh vực này",
                    "You may not record events for this unit or domain",
                )
        except _Reject as r:
            out.rejected.append({"index": index, "reason": r.vi, "reason_en": r.en})
            continue
        if item.source_ref:
            seen.add((item.source, item.source_ref))
        row["created_by_id"] = actor.user_id if actor is not None else None
        rows.append(row)
    if not rows:
        return out
    out.ids = _insert(db, rows)
    out.observed = [_observed(i, row, paths[row["unit_id"]]) for i, row in zip(out.ids, rows, strict=True)]
    return out


def _insert(db: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the rows, return their ids in order. PostgreSQL: multi-row INSERT ... RETURNING. SQLite would
    run one statement per row for ordered RETURNING, so there it is one `executemany` and the ids are read
    back: the transaction holds the write lock from its start (BEGIN IMMEDIATE), and SQLite gives each new
    row of a table without AUTOINCREMENT the largest id so far plus one, so they are exactly the ids above
    the largest one before, in insertion order."""
    table = Event.__table__
    if db.get_bind().dialect.name == "postgresql":
        return list(db.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))
    before = db.scalar(select(func.max(Event.id))) or 0
    db.execute(insert(table), rows)
    ids = list(db.scalars(select(Event.id).where(Event.id > before).order_by(Event.id)))
    if len(ids) != len(rows):
        raise RuntimeError(f"inserted {len(rows)} events, found {len(ids)} new ids")
    return ids


def _build(
    item: EventIn,
    place_of: Callable[[str], Place | AssetInfo | None],
    locate: Callable[[float, float], int | None] | None,
    now: datetime,
) -> dict[str, Any]:
    asset = place_of(item.asset_code) if item.asset_code else None
    if item.asset_code and asset is None:
        raise _Reject(f"Không có thiết bị mã {item.asset_code}", f"No asset with code {item.asset_code}")
    lat = item.lat if item.lat is not None else (asset.lat if asset else None)
    lon = item.lon if item.lon is not None else (asset.lon if asset else None)
    unit_id = item.unit_id or (asset.unit_id if asset else None)
    if unit_id is None and lat is not None and lon is not None and locate is not None:
        unit_id = locate(lat, lon)
    if unit_id is None:
        raise _Reject(
            "Không xác định được đơn vị: cần unit_id, asset_code hoặc tọa độ trong địa bàn",
            "No unit: give unit_id, asset_code, or a place inside a known unit",
        )
    domain = item.domain or (asset.domain if asset else None)
    if domain is None:
        raise _Reject("Cần lĩnh vực (domain)", "A domain is required")
    return {
        "at": item.at or now,
        "received_at": now,
        "source": item.source,
        "source_ref": item.source_ref,
        "asset_id": asset.id if asset else None,
        "unit_id": unit_id,
        "domain": domain,
        "category": item.category,
        "severity": item.severity,
        "urgency": item.urgency,
        "certainty": item.certainty,
        "title": item.title.strip(),
        "title_en": item.title_en.strip(),
        "description": item.description,
        "lat": lat,
        "lon": lon,
        "payload": item.payload,
        "evidence": item.evidence,
    }


def _observed(event_id: int, row: dict[str, Any], unit_path: str) -> Observed:
    return Observed(
        id=event_id,
        ts=int(row["at"].timestamp() * 1000),
        source=row["source"],
        category=row["category"],
        severity=row["severity"],
        domain=row["domain"],
        unit_id=row["unit_id"],
        unit_path=unit_path,
        asset_id=row["asset_id"],
        lat=row["lat"],
        lon=row["lon"],
        title=row["title"],
        payload=row["payload"],
    )


def observed(e: Event, unit_path: str) -> Observed:
    return Observed(
        id=e.id,
        ts=int(e.at.timestamp() * 1000),
        source=e.source,
        category=e.category,
        severity=e.severity,
        domain=e.domain,
        unit_id=e.unit_id,
        unit_path=unit_path,
        asset_id=e.asset_id,
        lat=e.lat,
        lon=e.lon,
        title=e.title,
        payload=e.payload,
    )


def summary(e: Event) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at.isoformat(),
        "received_at": e.received_at.isoformat(),
        "source": e.source,
        "source_ref": e.source_ref,
        "asset_id": e.asset_id,
        "unit_id": e.unit_id,
        "domain": e.domain,
        "category": e.category,
        "severity": e.severity,
        "urgency": e.urgency,
        "certainty": e.certainty,
        "title": e.title,
        "title_en": e.title_en,
        "description": e.description,
        "lat": e.lat,
        "lon": e.lon,
        "payload": e.payload,
        "evidence": e.evidence,
    }
