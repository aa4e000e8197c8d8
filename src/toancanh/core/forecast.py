"""Forecasts of a series (dự báo): the next values with a prediction interval, the in-sample interval that
flags anomalies (a value outside it), and the accuracy of a backtest on the last points.

One function for every series the IOC shows (indicator values per period, sensor readings per hour or day):
`forecast(values, season_length=..., horizon=...)`. The model is statsforecast's AutoETS (exponential
smoothing with the form chosen by AICc); a series too short for its season is fitted without one. Gaps
(None) are filled by linear interpolation for fitting and are never flagged.

statsforecast is imported on first use: it takes a second or two, which a process that never forecasts
should not pay.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MIN_POINTS = 6
DEFAULT_LEVEL = 95  # the interval of the forecast ahead
ANOMALY_LEVEL = 99  # the in-sample interval a value must leave to be flagged: few false alarms
SEASONS = {"day": 7, "week": 52, "month": 12, "quarter": 4, "year": 1, "hour": 24}


@dataclass(frozen=True)
class Band:
    mean: float
    lo: float
    hi: float

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "lo": self.lo, "hi": self.hi}


@dataclass
class Forecast:
    """What `forecast` found: per input point its fitted band at `anomaly_level` (None where the input had
    a gap) and whether the actual value left it; `ahead` the next `horizon` bands at `level`."""

    model: str
    level: int
    anomaly_level: int
    season_length: int
    fitted: list[Band | None]
    anomalies: list[int]  # indexes into the input
    ahead: list[Band]
    backtest: dict[str, Any] | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "level": self.level,
            "anomaly_level": self.anomaly_level,
            "season_length": self.season_length,
            "fitted": [b.as_dict() if b else None for b in self.fitted],
            "anomalies": list(self.anomalies),
            "ahead": [b.as_dict() for b in self.ahead],
            "backtest": self.backtest,
        }


def season_for(kind: str) -> int:
    """The season length of a period type or rollup (12 months a year, 24 hours a day ...)."""
    return SEASONS.get(kind, 1)


def _fill(values: Sequence[float | None]) -> tuple[np.ndarray, np.ndarray, int]:
    """The values from the first known one on, gaps interpolated; the mask of known points; the offset."""
    raw = [None if v is None or not math.isfinite(float(v)) else float(v) for v in values]
    first = next((i for i, v in enumerate(raw) if v is not None), len(raw))
    last = max((i for i, v in enumerate(raw) if v is not None), default=-1)
    part = raw[first : last + 1]
    known = np.array([v is not None for v in part], dtype=bool)
    y = np.array([np.nan if v is None else v for v in part], dtype=float)
    if known.any() and not known.all():
        idx = np.arange(len(y))
        y[~known] = np.interp(idx[~known], idx[known], y[known])
    return y, known, first


def _model(season_length: int) -> Any:
    from statsforecast.models import AutoETS

    return AutoETS(season_length=season_length)


def _fit(
    y: np.ndarray, season_length: int, horizon: int, level: int, anomaly_level: int = ANOMALY_LEVEL
) -> tuple[int, dict[str, Any]]:
    season = season_length if season_length > 1 and len(y) >= 2 * season_length + 2 else 1
    if float(np.ptp(y)) == 0.0:  # a constant series: ETS has nothing to fit; the answer is the constant
        c = np.full(horizon, y[0])
        f = np.full(len(y), y[0])
        return 1, {
            "mean": c,
            f"lo-{level}": c,
            f"hi-{level}": c,
            "fitted": f,
            f"fitted-lo-{anomaly_level}": f,
            f"fitted-hi-{anomaly_level}": f,
        }
    levels = sorted({level, anomaly_level})
    out = _model(season).forecast(y=y, h=horizon, level=levels, fitted=True)
    return season, out


def backtest(
    values: Sequence[float | None], *, season_length: int = 1, horizon: int = 3
) -> dict[str, Any] | None:
    """Fit on all but the last `horizon` points, forecast them, compare: MAE and MAPE (over the non-zero
    actuals), or None when the series is too short to hold points back."""
    y, known, _ = _fill(values)
    h = max(1, min(horizon, len(y) // 4))
    if len(y) - h < MIN_POINTS or not known[-h:].all():
        return None
    _, out = _fit(y[:-h], season_length, h, DEFAULT_LEVEL)
    actual, predicted = y[-h:], np.asarray(out["mean"], dtype=float)
    err = np.abs(actual - predicted)
    nonzero = actual != 0
    mape = float(np.mean(err[nonzero] / np.abs(actual[nonzero])) * 100) if nonzero.any() else None
    return {
        "horizon": int(h),
        "mae": round(float(err.mean()), 4),
        "mape": None if mape is None else round(mape, 2),
    }


def forecast(
    values: Sequence[float | None],
    *,
    season_length: int = 1,
    horizon: int = 6,
    level: int = DEFAULT_LEVEL,
    anomaly_level: int = ANOMALY_LEVEL,
    with_backtest: bool = True,
) -> Forecast | None:
    """The forecast of a regular series (one value per period or bucket, None for a gap), or None when it
    has fewer than `MIN_POINTS` known values."""
    if not (50 <= level <= 99 and 50 <= anomaly_level <= 99):
        raise ValueError("levels must be between 50 and 99")
    if horizon < 1:
        raise ValueError("horizon must be at least 1")
    y, known, offset = _fill(values)
    if int(known.sum()) < MIN_POINTS:
        return None
    season, out = _fit(y, season_length, horizon, level, anomaly_level)
    mean, fmean = np.asarray(out["fitted"], dtype=float), out["mean"]
    flo, fhi = np.asarray(out[f"fitted-lo-{anomaly_level}"]), np.asarray(out[f"fitted-hi-{anomaly_level}"])
    fitted: list[Band | None] = [None] * offset
    anomalies: list[int] = []
    for i in range(len(y)):
        if not known[i] or not (math.isfinite(mean[i]) and math.isfinite(flo[i]) and math.isfinite(fhi[i])):
            fitted.append(None)
            continue
        fitted.append(Band(_r(mean[i]), _r(flo[i]), _r(fhi[i])))
        if y[i] < flo[i] or y[i] > fhi[i]:
            anomalies.append(offset + i)
    fitted += [None] * (len(values) - len(fitted))
    ahead = [
        Band(_r(m), _r(lo), _r(hi))
        for m, lo, hi in zip(fmean, out[f"lo-{level}"], out[f"hi-{level}"], strict=True)
    ]
    return Forecast(
        model="AutoETS" if season == 1 else f"AutoETS(season={season})",
        level=level,
        anomaly_level=anomaly_level,
        season_length=season,
        fitted=fitted,
        anomalies=anomalies,
        ahead=ahead,
        backtest=backtest(values, season_length=season_length, horizon=horizon) if with_backtest else None,
    )


def _r(v: Any) -> float:
    return round(float(v), 6)
