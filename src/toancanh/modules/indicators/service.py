"""Indicator values for other modules and pages: formula over data element values aggregated over a unit's
subtree and over time, achievement against the target, change on the previous period, ranking of units.

    value(unit, period) = numerator / denominator, each an expression over data element codes, where each
    element's value is
      1. aggregated over the units of the subtree, per reported sub-period, with the element's unit
         aggregation (or the indicator's, when it sets one): sum, avg, max, min, last (latest reported);
      2. aggregated over the sub-periods inside the period (days in a month, months in a year ...), with the
         element's time aggregation (stocks: first, last) or else the indicator's: sum, avg, last.
    Only values of submitted and approved reports count (`COUNTED`); drafts and returned reports do not.

Every figure comes from one grouped query per indicator (whatever the number of units and periods asked).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from toancanh.core.auth.scope import Principal
from toancanh.core.units import Unit
from toancanh.modules.indicators import formula
from toancanh.modules.indicators.catalogue import dataset_by_code, elements_by_code, indicator_by_code
from toancanh.modules.indicators.feeds import SYSTEM_SOURCE, SystemValue, record_system_values
from toancanh.modules.indicators.models import DataElement, DataValue, Indicator, Target
from toancanh.modules.indicators.periods import (
    PERIOD_TYPES,
    Period,
    finer_or_equal,
    last_n,
    parse_period,
    period_of,
    roll_up,
)

READ = "indicators.read"
SUBMIT = "indicators.submit"
APPROVE = "indicators.approve"
MANAGE = "indicators.manage"
COUNTED = ("submitted", "approved")
_RANK: dict[str, int] = {t: i for i, t in enumerate(PERIOD_TYPES)}

__all__ = [
    "APPROVE",
    "COUNTED",
    "MANAGE",
    "READ",
    "SUBMIT",
    "SYSTEM_SOURCE",
    "Figure",
    "SystemValue",
    "achievement",
    "band_of",
    "compute",
    "dataset_by_code",
    "figure",
    "indicator_by_code",
    "ranking",
    "readable_domains",
    "record_system_values",
    "trend",
]


@dataclass
class Figure:
    """An indicator's value for one unit and period, against its target and the previous period."""

    indicator: str
    unit_id: int
    period: str
    value: float | None
    target: float | None = None
    achievement: float | None = None
    band: dict[str, Any] | None = None
    previous: float | None = None
    change: float | None = None
    change_pct: float | None = None
    trend: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "indicator": self.indicator,
            "unit_id": self.unit_id,
            "period": self.period,
            "value": self.value,
            "target": self.target,
            "achievement": self.achievement,
            "band": self.band,
            "previous": self.previous,
            "change": self.change,
            "change_pct": self.change_pct,
            "trend": self.trend,
        }


# ------------------------------------------------------------------------------------------- computing


def _aggregate_units(how: str, total: float, count: int, high: float, low: float) -> float:
    if how == "avg":
        return total / count if count else 0.0
    if how == "max":
        return high
    if how == "min":
        return low
    return total


def _element_rows(
    db: Session,
    elements: Sequence[DataElement],
    unit_agg: dict[int, str],
    roots: Sequence[Unit],
    lo: date,
    hi: date,
    statuses: Sequence[str],
) -> dict[tuple[int, int, str, date, date], float]:
    """(root id, element id, period type, start, end) -> the value over the root's subtree."""
    if not elements or not roots:
        return {}
    member, root = aliased(Unit), aliased(Unit)
    ids = [e.id for e in elements]
    base = (
        select()
        .select_from(DataValue)
        .join(member, member.id == DataValue.unit_id)
        .join(root, member.path.startswith(root.path))
        .where(
            root.id.in_([r.id for r in roots]),
            DataValue.data_element_id.in_(ids),
            DataValue.period_start >= lo,
            DataValue.period_end <= hi,
            DataValue.status.in_(list(statuses)),
        )
    )
    keys = (
        root.id,
        DataValue.data_element_id,
        DataValue.period_type,
        DataValue.period_start,
        DataValue.period_end,
    )
    out: dict[tuple[int, int, str, date, date], float] = {}
    grouped = [i for i in ids if unit_agg[i] != "last"]
    if grouped:
        stmt = (
            base.add_columns(
                *keys,
                func.sum(DataValue.value),
                func.count(DataValue.value),
                func.max(DataValue.value),
                func.min(DataValue.value),
            )
            .where(DataValue.data_element_id.in_(grouped))
            .group_by(*keys)
        )
        for rid, eid, ptype, start, end, total, count, high, low in db.execute(stmt):
            out[(rid, eid, ptype, start, end)] = _aggregate_units(
                unit_agg[eid], float(total or 0), int(count), float(high), float(low)
            )
    latest = [i for i in ids if unit_agg[i] == "last"]
    if latest:  # the most recently reported value of the subtree: rows, not groups
        stmt = base.add_columns(*keys, DataValue.value, DataValue.updated_at).where(
            DataValue.data_element_id.in_(latest)
        )
        seen: dict[tuple[int, int, str, date, date], Any] = {}
        for rid, eid, ptype, start, end, value, at in db.execute(stmt):
            key = (rid, eid, ptype, start, end)
            if key not in seen or at > seen[key]:
                seen[key], out[key] = at, float(value)
    return out


def _over_time(how: str, points: list[tuple[date, float]]) -> float:
    if how == "avg":
        return sum(v for _, v in points) / len(points)
    if how == "last":
        return max(points)[1]
    if how == "first":
        return min(points)[1]
    return sum(v for _, v in points)


def compute(
    db: Session,
    indicator: Indicator,
    roots: Sequence[Unit],
    periods: Sequence[Period],
    *,
    statuses: Sequence[str] = COUNTED,
) -> dict[tuple[int, str], float | None]:
    """(root unit id, period code) -> the indicator's value over the root's subtree in that period."""
    num = formula.parse(indicator.numerator)
    den = formula.parse(indicator.denominator) if indicator.denominator else None
    codes = formula.codes(num) | (formula.codes(den) if den else set())
    elements = list(elements_by_code(db, codes).values())
    unit_agg = {e.id: indicator.unit_aggregation or e.aggregation for e in elements}
    result: dict[tuple[int, str], float | None] = {(r.id, p.code): None for r in roots for p in periods}
    if not periods or len(elements) < len(codes):
        return result
    lo, hi = min(p.start for p in periods), max(p.end for p in periods)
    rows = _element_rows(db, elements, unit_agg, roots, lo, hi, statuses)
    # (root, element, period code) -> {period type: [(start, value)]}
    buckets: dict[tuple[int, int, str], dict[str, list[tuple[date, float]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for (rid, eid, ptype, start, end), value in rows.items():
        for p in periods:
            if p.start <= start and end <= p.end:
                buckets[(rid, eid, p.code)][ptype].append((start, value))
    by_id = {e.id: e for e in elements}
    for r in roots:
        for p in periods:
            values: dict[str, float | None] = {}
            for eid, e in by_id.items():
                typed = buckets.get((r.id, eid, p.code))
                if not typed:
                    values[e.code] = None
                    continue
                finest = min(typed, key=lambda t: _RANK.get(t, 99))  # never count a day and its month twice
                values[e.code] = _over_time(e.time_aggregation or indicator.time_aggregation, typed[finest])
            result[(r.id, p.code)] = formula.ratio(num, den, values)
    return result


# ------------------------------------------------------------------------------------------ targets


def targets(
    db: Session, indicator: Indicator, units: Sequence[Unit], periods: Sequence[Period]
) -> dict[tuple[int, str], float]:
    """(unit id, period code) -> target. A rate, an average or a stock (anything but a plain sum) falls back
    to the target of the quarter or year that holds the period: a 95 % year target applies to each month."""
    additive = indicator.denominator is None and indicator.time_aggregation == "sum"
    wanted: dict[str, list[str]] = {}
    for p in periods:
        chain = [p.code]
        if not additive:
            chain += [roll_up(p, t).code for t in ("quarter", "year") if _can_roll(p, t)]
        wanted[p.code] = chain
    codes = sorted({c for chain in wanted.values() for c in chain})
    rows = db.execute(
        select(Target.unit_id, Target.period, Target.value).where(
            Target.indicator_id == indicator.id,
            Target.unit_id.in_([u.id for u in units]),
            Target.period.in_(codes),
        )
    ).all()
    found = {(uid, per): float(v) for uid, per, v in rows}
    out = {}
    for u in units:
        for p in periods:
            for c in wanted[p.code]:
                if (u.id, c) in found:
                    out[(u.id, p.code)] = found[(u.id, c)]
                    break
    return out


def _can_roll(p: Period, type_: str) -> bool:
    return p.type != "week" and finer_or_equal(p.type, type_) and p.type != type_


def achievement(value: float | None, target: float | None, direction: str) -> float | None:
    """Achievement in percent of the target: actual/target, or target/actual where lower is better."""
    if value is None or target is None:
        return None
    if direction == "lower_better":
        if value <= 0:
            return 100.0 if target >= value else 0.0
        return round(max(target, 0) / value * 100, 1)
    if target <= 0:
        return 100.0 if value >= target else 0.0
    return round(value / target * 100, 1)


def band_of(indicator: Indicator, achieved: float | None) -> dict[str, Any] | None:
    if achieved is None:
        return None
    for band in indicator.bands or []:
        if band.get("min") is None or achieved >= band["min"]:
            return dict(band)
    return None


def _round(indicator: Indicator, v: float | None) -> float | None:
    return None if v is None else round(v, max(0, min(indicator.decimals, 6)))


def figure(
    db: Session, indicator: Indicator, unit: Unit, period: Period, *, trend_length: int = 12
) -> Figure:
    """Value, target, achievement, change on the previous period and trend, from one grouped query."""
    history = last_n(period, max(trend_length, 2))
    values = compute(db, indicator, [unit], history)
    goals = targets(db, indicator, [unit], [period])
    value = _round(indicator, values[(unit.id, period.code)])
    prev = _round(indicator, values[(unit.id, history[-2].code)])
    target = goals.get((unit.id, period.code))
    achieved = achievement(value, target, indicator.direction)
    change = None if value is None or prev is None else _round(indicator, value - prev)
    change_pct = None if change is None or not prev else round(change / abs(prev) * 100, 1)
    return Figure(
        indicator=indicator.code,
        unit_id=unit.id,
        period=period.code,
        value=value,
        target=target,
        achievement=achieved,
        band=band_of(indicator, achieved),
        previous=prev,
        change=change,
        change_pct=change_pct,
        trend=[
            {"period": p.code, "value": _round(indicator, values[(unit.id, p.code)])}
            for p in history[-trend_length:]
        ],
    )


def trend(db: Session, indicator: Indicator, unit: Unit, period: Period, n: int = 12) -> list[dict[str, Any]]:
    history = last_n(period, n)
    values = compute(db, indicator, [unit], history)
    return [{"period": p.code, "value": _round(indicator, values[(unit.id, p.code)])} for p in history]


def ranking(db: Session, indicator: Indicator, parent: Unit, period: Period) -> list[dict[str, Any]]:
    """The child units of `parent`, best first: by achievement where targets exist, else by value in the
    indicator's direction; units without a value last."""
    children = list(db.scalars(select(Unit).where(Unit.parent_id == parent.id).order_by(Unit.code)))
    values = compute(db, indicator, children, [period])
    goals = targets(db, indicator, children, [period])
    rows = []
    for u in children:
        v = _round(indicator, values[(u.id, period.code)])
        t = goals.get((u.id, period.code))
        a = achievement(v, t, indicator.direction)
        rows.append(
            {
                "unit_id": u.id,
                "unit_code": u.code,
                "unit_name": u.name,
                "value": v,
                "target": t,
                "achievement": a,
                "band": band_of(indicator, a),
            }
        )
    sign = -1 if indicator.direction == "higher_better" else 1

    def key(r: dict[str, Any]) -> tuple[int, float]:
        if r["achievement"] is not None:
            return (0, -r["achievement"])
        if r["value"] is not None:
            return (1, sign * r["value"])
        return (2, 0.0)

    rows.sort(key=key)
    for i, r in enumerate(rows, 1):
        r["rank"] = i if r["value"] is not None else None
    return rows


def period_for(indicator: Indicator, chosen: Period) -> Period:
    """The indicator's own period that holds `chosen` (a yearly indicator on a monthly dashboard: the
    year)."""
    if chosen.type != "week" and _RANK[indicator.period_type] > _RANK[chosen.type]:
        return roll_up(chosen, indicator.period_type)
    return chosen


def default_period(today: date) -> Period:
    """The dashboard's default: the last complete month."""
    return period_of(today, "month").previous()


def parse_or_default(value: str | None, today: date) -> Period:
    return parse_period(value) if value else default_period(today)


# ------------------------------------------------------------------------------------------- scope


def readable_domains(principal: Principal, permission: str = READ) -> set[str] | None:
    """The domains the caller reads indicators of somewhere: None for all, else that set (maybe empty)."""
    out: set[str] = set()
    for g in principal.grants_for(permission):
        if g.domains is None:
            return None
        out |= g.domains
    return out


def visible_indicators(db: Session, principal: Principal, domain: str | None = None) -> list[Indicator]:
    stmt = select(Indicator).where(Indicator.active.is_(True)).order_by(Indicator.sort, Indicator.code)
    domains = readable_domains(principal)
    if domains is not None:
        stmt = stmt.where(Indicator.domain.in_(sorted(domains)))
    if domain:
        stmt = stmt.where(Indicator.domain == domain)
    return list(db.scalars(stmt))


def units_in(db: Session, ids: Iterable[int]) -> list[Unit]:
    return list(db.scalars(select(Unit).where(Unit.id.in_(list(ids)))))
