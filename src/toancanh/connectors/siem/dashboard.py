"""The information-security dashboard's figures (*bảng theo dõi an toàn thông tin*): events of the domain
`infosec` in a time window, counted by severity, kind, asset and unit, the most recent ones, and the open
infosec incidents, all limited to what the caller may read (`alerts.read` over the unit and domain)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from toancanh.connectors.siem.const import EVENT_DOMAIN, INCIDENT_TYPE, KINDS, SEVERITY_LABELS
from toancanh.core.assets import Asset
from toancanh.core.auth.scope import Principal, scoped
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest
from toancanh.core.units import Unit
from toancanh.modules.alerts.models import SEVERITY_RANK, Event, Incident
from toancanh.modules.alerts.workflow import OPEN_STATES

PERMISSION = "alerts.read"
MAX_WINDOW = timedelta(days=366)
WINDOWS = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
TOP = 10


def window(
    since: datetime | None, until: datetime | None, last: str | None, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """The time window asked for: `last` (1h, 24h, 7d, 30d) or since/until (aware), 24 hours by default."""
    now = now or utcnow()
    if last:
        if last not in WINDOWS:
            raise BadRequest(
                f"Khoảng thời gian không hợp lệ: {last} (1h, 24h, 7d, 30d)",
                f"Invalid window: {last} (1h, 24h, 7d, 30d)",
            )
        return now - WINDOWS[last], now
    for value in (since, until):
        if value is not None and value.tzinfo is None:
            raise BadRequest("Thời gian phải có múi giờ", "Timestamps must carry a time zone")
    end = until or now
    start = since or end - WINDOWS["24h"]
    if start >= end:
        raise BadRequest("'since' phải trước 'until'", "'since' must come before 'until'")
    if end - start > MAX_WINDOW:
        raise BadRequest("Khoảng thời gian tối đa 366 ngày", "The window is at most 366 days")
    return start, end


def _label(labels: dict[str, tuple[str, str]], key: str, locale: str) -> str:
    vi, en = labels.get(key, (key, key))
    return vi if locale == "vi" else en


def summary(
    db: Session, principal: Principal, start: datetime, end: datetime, *, locale: str = "vi", recent: int = 50
) -> dict[str, Any]:
    principal.require(PERMISSION)
    base = scoped(select(Event.id), principal, Event, PERMISSION).where(
        Event.domain == EVENT_DOMAIN, Event.at >= start, Event.at < end
    )
    ids = base.subquery()
    in_window = Event.id.in_(select(ids.c.id))

    def counts(col: Any) -> list[tuple[Any, int]]:
        rows = db.execute(
            select(col, func.count()).where(in_window).group_by(col).order_by(func.count().desc())
        )
        return [(k, int(n)) for k, n in rows]

    by_severity = dict(counts(Event.severity))
    severities = sorted(SEVERITY_RANK, key=lambda s: -SEVERITY_RANK[s])
    by_kind = [
        {"kind": cat.split(".", 1)[-1], "label": _label(KINDS, cat.split(".", 1)[-1], locale), "count": n}
        for cat, n in counts(Event.category)
    ]
    asset_rows = db.execute(
        select(Asset.id, Asset.code, Asset.name, func.count())
        .join(Event, Event.asset_id == Asset.id)
        .where(in_window)
        .group_by(Asset.id, Asset.code, Asset.name)
        .order_by(func.count().desc(), Asset.code)
        .limit(TOP)
    )
    by_asset = [{"asset_id": i, "code": c, "name": nm, "count": int(n)} for i, c, nm, n in asset_rows]
    unmatched = int(db.scalar(select(func.count()).where(in_window, Event.asset_id.is_(None))) or 0)
    unit_rows = db.execute(
        select(Unit.id, Unit.code, Unit.name, func.count())
        .join(Event, Event.unit_id == Unit.id)
        .where(in_window)
        .group_by(Unit.id, Unit.code, Unit.name)
        .order_by(func.count().desc(), Unit.code)
    )
    by_unit = [{"unit_id": i, "code": c, "name": nm, "count": int(n)} for i, c, nm, n in unit_rows]
    latest = db.scalars(
        select(Event).where(in_window).order_by(Event.at.desc(), Event.id.desc()).limit(recent)
    )
    units = {u["unit_id"]: u["name"] for u in by_unit}
    rows = []
    for e in latest:
        p = e.payload or {}
        rows.append(
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "severity": e.severity,
                "severity_label": _label(SEVERITY_LABELS, e.severity, locale),
                "kind": e.category.split(".", 1)[-1],
                "title": e.title if locale == "vi" else (e.title_en or e.title),
                "asset": p.get("asset", ""),
                "host": p.get("host", ""),
                "srcip": p.get("srcip", ""),
                "format": p.get("format", ""),
                "unit_id": e.unit_id,
                "unit_name": units.get(e.unit_id, ""),
            }
        )
    open_incidents = int(
        db.scalar(
            scoped(select(func.count()).select_from(Incident), principal, Incident, "incidents.read").where(
                Incident.type == INCIDENT_TYPE, Incident.state.in_(OPEN_STATES)
            )
        )
        or 0
    )
    return {
        "since": start.isoformat(),
        "until": end.isoformat(),
        "total": sum(by_severity.values()),
        "by_severity": [
            {"severity": s, "label": _label(SEVERITY_LABELS, s, locale), "count": by_severity.get(s, 0)}
            for s in severities
        ],
        "by_kind": by_kind,
        "by_asset": by_asset,
        "unmatched_asset": unmatched,
        "by_unit": by_unit,
        "recent": rows,
        "open_incidents": open_incidents,
    }
