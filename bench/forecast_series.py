"""Forecast of many series: ``--series`` monthly series (default 1,000) of 36 months each, through
``core.forecast.forecast`` (statsforecast AutoETS with a 12-month season, 95 % interval ahead, 99 %
in-sample interval for the anomaly flags), the path every indicator and sensor chart takes.

Baseline, measured in the same run on the same series: the seasonal naive forecast with an interval from
the quantiles of its own in-sample errors, in plain numpy (the cheapest forecast with an interval). The
figure is series forecast per second, and its ratio to the baseline's. The backtest (a second fit on all
but the last points, shown next to the chart) is timed separately on a tenth of the series.

    python -m bench.forecast_series --series 200
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from bench._common import main, print_table, rate, sig
from toancanh.core import forecast as fc

NAME = "forecast_series"
SERIES = int(os.environ.get("TOANCANH_BENCH_FORECAST_SERIES", "1000"))
LENGTH, SEASON, HORIZON = 36, 12, 6


def make_series(n: int, length: int = LENGTH, seed: int = 7) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    out = []
    for _ in range(n):
        level, amp, slope = rng.uniform(50, 500), rng.uniform(0, 0.2), rng.uniform(-0.01, 0.02)
        y = level * (1 + slope * t) * (1 + amp * np.sin(2 * np.pi * t / SEASON + rng.uniform(0, 6.3)))
        y += rng.normal(0, level * 0.03, length)
        if rng.random() < 0.1:
            y[rng.integers(length)] *= 1.8  # a few series carry a spike to flag
        out.append(y)
    return out


def seasonal_naive(y: np.ndarray, horizon: int, level: int = fc.DEFAULT_LEVEL) -> dict[str, np.ndarray]:
    """The baseline: y[t] = y[t - season], interval from the in-sample errors' quantiles."""
    errors = y[SEASON:] - y[:-SEASON]
    q = np.quantile(np.abs(errors), level / 100)
    mean = np.array([y[len(y) - SEASON + (i % SEASON)] for i in range(horizon)])
    fitted = np.concatenate([np.full(SEASON, np.nan), y[:-SEASON]])
    return {"mean": mean, "lo": mean - q, "hi": mean + q, "anomalies": np.abs(y - fitted) > q}


def run(series: int = SERIES) -> dict[str, Any]:
    data = make_series(series)
    fc.forecast(list(data[0]), season_length=SEASON, horizon=HORIZON)  # import statsforecast, untimed

    started = time.perf_counter()
    for y in data:
        seasonal_naive(y, HORIZON)
    base_s = time.perf_counter() - started

    flagged = 0
    started = time.perf_counter()
    for y in data:
        out = fc.forecast(list(y), season_length=SEASON, horizon=HORIZON, with_backtest=False)
        flagged += bool(out and out.anomalies)
    ets_s = time.perf_counter() - started

    sample = data[: max(1, series // 10)]
    started = time.perf_counter()
    for y in sample:
        fc.backtest(list(y), season_length=SEASON, horizon=HORIZON)
    back_s = time.perf_counter() - started

    ets_rate, base_rate = rate(series, ets_s), rate(series, base_s)
    ratio = ets_rate / base_rate
    print_table(
        f"Forecast of {series:,} monthly series of {LENGTH} points, {HORIZON} ahead",
        [
            ("AutoETS seconds (all series)", f"{ets_s:.2f}"),
            ("AutoETS series/s", f"{ets_rate:,.1f}"),
            ("series with an anomaly flag", f"{flagged:,}"),
            ("backtest series/s", f"{rate(len(sample), back_s):,.1f}"),
            ("seasonal naive series/s (baseline)", f"{base_rate:,.0f}"),
            ("ratio AutoETS to baseline", f"{ratio:.5f}"),
        ],
    )
    return {
        "series": series,
        "length": LENGTH,
        "horizon": HORIZON,
        "seconds": sig(ets_s, 4),
        "series_per_s": sig(ets_rate),
        "backtest_series_per_s": sig(rate(len(sample), back_s)),
        "flagged_series": flagged,
        "baseline_series_per_s": sig(base_rate),
        "ratio": sig(ratio, 4),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=SERIES)
    args = parser.parse_args()
    main(NAME, lambda: run(args.series))
