"""The NGSI-LD temporal API (lịch sử theo thời gian): how attributes evolved.

For an IOC asset the instances are the samples of its time series (core.timeseries), one Property instance per
reading with its `observedAt` and `unitCode`. For a stored entity they are the instances its attributes took,
kept in `ngsild_attribute_history` on every change, at their observedAt (else the time of the change).
`timerel` is `before` (t < timeAt), `after` (t > timeAt) or `between` (timeAt <= t < endTimeAt); `lastN` keeps
the last N instances of each attribute. Instances are listed oldest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.auth.scope import Principal
from toancanh.core.timeseries import Sample, Series
from toancanh.modules.ngsild import assets_view, service
from toancanh.modules.ngsild.context import DEFAULT
from toancanh.modules.ngsild.errors import bad_data, not_found
from toancanh.modules.ngsild.models import NgsiAttributeHistory
from toancanh.modules.ngsild.representation import iso

MAX_INSTANCES = 10_000


@dataclass
class TimeFilter:
    start_ms: int | None = None  # inclusive
    end_ms: int | None = None  # exclusive
    last_n: int | None = None


def _ms(raw: str | None, name: str) -> int:
    if not raw:
        raise bad_data(f"{name} is required with this timerel")
    try:
        t = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise bad_data(f"{name} is not an ISO 8601 DateTime") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1000)


def time_filter(
    timerel: str | None, time_at: str | None, end_time_at: str | None, last_n: str | None
) -> TimeFilter:
    f = TimeFilter()
    if timerel == "before":
        f.end_ms = _ms(time_at, "timeAt")
    elif timerel == "after":
        f.start_ms = _ms(time_at, "timeAt") + 1
    elif timerel == "between":
        f.start_ms, f.end_ms = _ms(time_at, "timeAt"), _ms(end_time_at, "endTimeAt")
        if f.end_ms <= f.start_ms:
            raise bad_data("endTimeAt must come after timeAt")
    elif timerel is not None:
        raise bad_data("timerel must be before, after or between")
    elif time_at or end_time_at:
        raise bad_data("timeAt needs timerel")
    if last_n is not None:
        try:
            f.last_n = int(last_n)
        except ValueError:
            raise bad_data("lastN must be a positive integer") from None
        if f.last_n < 1:
            raise bad_data("lastN must be a positive integer")
    return f


def _window(stmt: Any, col: Any, f: TimeFilter) -> Any:
    if f.start_ms is not None:
        stmt = stmt.where(col >= f.start_ms)
    if f.end_ms is not None:
        stmt = stmt.where(col < f.end_ms)
    if f.last_n is not None:
        return stmt.order_by(col.desc()).limit(f.last_n)
    return stmt.order_by(col).limit(MAX_INSTANCES)


def evolution(
    db: Session, principal: Principal, eid: str, f: TimeFilter, pick: set[str] | None
) -> tuple[str, list[str], dict[str, list[dict[str, Any]]]]:
    """(id, expanded types, attribute IRI -> instances oldest first) of one entity."""
    row = service.stored_row(db, principal, eid)
    out: dict[str, list[dict[str, Any]]] = {}
    if row is not None:
        attrs = sorted(
            set(row.attrs)
            | set(
                db.scalars(
                    select(NgsiAttributeHistory.attr)
                    .where(NgsiAttributeHistory.entity_pk == row.id)
                    .distinct()
                )
            )
        )
        for iri in attrs:
            if pick is not None and iri not in pick:
                continue
            stmt = select(NgsiAttributeHistory.instance, NgsiAttributeHistory.ts).where(
                NgsiAttributeHistory.entity_pk == row.id, NgsiAttributeHistory.attr == iri
            )
            found = [inst for inst, _ in db.execute(_window(stmt, NgsiAttributeHistory.ts, f))]
            if f.last_n is not None:
                found.reverse()
            if found:
                out[iri] = found
        return row.entity_id, list(row.types), out
    asset = assets_view.get_asset(db, principal, eid)
    if asset is None:
        raise not_found(f"entity {eid} not found")
    for series in db.scalars(select(Series).where(Series.asset_id == asset.id).order_by(Series.key)):
        iri = DEFAULT.expand(assets_view.measure_name(asset, series))
        if pick is not None and iri not in pick:
            continue
        stmt = select(Sample.ts, Sample.value).where(Sample.series_id == series.id)
        samples = list(db.execute(_window(stmt, Sample.ts, f)))
        if f.last_n is not None:
            samples.reverse()
        instances = []
        for ts, value in samples:
            inst: dict[str, Any] = {
                "type": "Property",
                "value": float(value),
                "observedAt": iso(datetime.fromtimestamp(int(ts) / 1000, UTC)),
            }
            if series.unit_of_measure:
                inst["unitCode"] = series.unit_of_measure
            instances.append(inst)
        if instances:
            out[iri] = instances
    return assets_view.entity_id(asset), [assets_view.entity_type(asset.type)], out


def temporal_values(instances: list[dict[str, Any]]) -> dict[str, Any]:
    """The simplified temporal representation of an attribute: {"type", "values": [[value, time], ...]}."""
    kind = instances[0].get("type", "Property")
    key = "object" if kind == "Relationship" else "value"
    values = [[i.get(key), i.get("observedAt") or i.get("modifiedAt")] for i in instances]
    return {"type": kind, "objects" if kind == "Relationship" else "values": values}
