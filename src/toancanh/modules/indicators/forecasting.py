"""Forecasts of indicators (dự báo chỉ số): an indicator's value for a unit over its last periods, the
next periods forecast with an interval (core.forecast), the periods whose value left the interval
(anomalies), the backtest accuracy, and an early warning when the forecast misses a target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from toancanh.core import forecast as fc
from toancanh.core.units import Unit
from toancanh.modules.indicators.models import Indicator
from toancanh.modules.indicators.periods import Period, last_n
from toancanh.modules.indicators.service import _round, achievement, compute, targets

HISTORY = 24
HORIZON = 3


@dataclass
class IndicatorForecast:
    indicator: str
    unit_id: int
    period: str
    points: list[dict[str, Any]]
    ahead: list[dict[str, Any]]
    model: str | None
    level: int
    backtest: dict[str, Any] | None
    anomalies: list[str]
    warning: dict[str, Any] | None

    @property
    def latest_anomaly(self) -> bool:
        """The period asked for is itself an anomaly (the tile's flag)."""
        return bool(self.anomalies) and self.anomalies[-1] == self.period

    def as_dict(self) -> dict[str, Any]:
        return {
            "indicator": self.indicator,
            "unit_id": self.unit_id,
            "period": self.period,
            "model": self.model,
            "level": self.level,
            "points": self.points,
            "ahead": self.ahead,
            "backtest": self.backtest,
            "anomalies": self.anomalies,
            "latest_anomaly": self.latest_anomaly,
            "warning": self.warning,
        }


def _future(p: Period, n: int) -> list[Period]:
    out = [p.next()]
    while len(out) < n:
        out.append(out[-1].next())
    return out


def _misses(ind: Indicator, mean: float, target: float) -> bool:
    return mean < target if ind.direction == "higher_better" else mean > target


def forecast_indicator(
    db: Session,
    ind: Indicator,
    unit: Unit,
    period: Period,
    *,
    history: int = HISTORY,
    horizon: int = HORIZON,
    level: int = fc.DEFAULT_LEVEL,
    values: dict[tuple[int, str], float | None] | None = None,
) -> IndicatorForecast:
    """The forecast of `ind` for `unit` (its subtree) from the `history` periods ending with `period`.
    `values` may hold the computed values already (the dashboard computes them once for many tiles)."""
    past = last_n(period, history)
    if values is None:
        values = compute(db, ind, [unit], past)
    series = [values.get((unit.id, p.code)) for p in past]
    result = fc.forecast(series, season_length=fc.season_for(period.type), horizon=horizon, level=level)
    future = _future(period, horizon)
    goals = targets(db, ind, [unit], future) if result else {}
    points = []
    for i, p in enumerate(past):
        band = result.fitted[i] if result else None
        points.append(
            {
                "period": p.code,
                "value": _round(ind, series[i]),
                "fitted": None if band is None else _band(ind, band),
                "anomaly": bool(result) and i in result.anomalies,  # type: ignore[operator]
            }
        )
    ahead: list[dict[str, Any]] = []
    warning = None
    if result:
        for p, band in zip(future, result.ahead, strict=True):
            target = goals.get((unit.id, p.code))
            row = {"period": p.code, **_band(ind, band), "target": target}
            row["achievement"] = achievement(row["mean"], target, ind.direction)
            ahead.append(row)
            if warning is None and target is not None and _misses(ind, band.mean, target):
                warning = {
                    "period": p.code,
                    "forecast": row["mean"],
                    "target": target,
                    "achievement": row["achievement"],
                }
    return IndicatorForecast(
        indicator=ind.code,
        unit_id=unit.id,
        period=period.code,
        points=points,
        ahead=ahead,
        model=result.model if result else None,
        level=level,
        backtest=result.backtest if result else None,
        anomalies=[past[i].code for i in result.anomalies] if result else [],
        warning=warning,
    )


def _band(ind: Indicator, band: fc.Band) -> dict[str, Any]:
    return {"mean": _round(ind, band.mean), "lo": _round(ind, band.lo), "hi": _round(ind, band.hi)}
