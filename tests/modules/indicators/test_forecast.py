"""Forecasts with intervals, anomaly flags, backtest and the early warning on a missed target: the core
function, an indicator's series over the API (scoped) and a sensor series of core.timeseries."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from tests.modules.indicators.test_values import put
from toancanh.core import forecast as fc
from toancanh.modules.indicators import catalogue
from toancanh.modules.indicators.models import Target
from toancanh.modules.indicators.periods import last_n, parse_period


def seasonal(n: int, noise: float = 0.0) -> list[float]:
    return [100 + 10 * math.sin(i * 2 * math.pi / 12) + noise * ((i * 7919) % 13 - 6) / 6 for i in range(n)]


def test_a_spike_leaves_the_interval_and_is_flagged() -> None:
    y: list[float | None] = list(seasonal(36, noise=1.0))
    y[30] = 160.0
    y[10] = None  # a gap: filled for fitting, never flagged
    out = fc.forecast(y, season_length=12, horizon=4)
    assert out is not None
    assert 30 in out.anomalies and 10 not in out.anomalies
    assert out.fitted[10] is None and out.fitted[30] is not None
    assert len(out.ahead) == 4 and all(b.lo <= b.mean <= b.hi for b in out.ahead)
    assert out.backtest is not None and out.backtest["horizon"] >= 1 and out.backtest["mae"] >= 0


def test_a_clean_seasonal_series_is_forecast_within_a_few_percent() -> None:
    y = seasonal(48, noise=0.5)
    out = fc.forecast(y, season_length=12, horizon=12)
    assert out is not None and out.season_length == 12
    truth = seasonal(60)[48:]
    assert max(abs(b.mean - t) for b, t in zip(out.ahead, truth, strict=True)) < 3
    assert len(out.anomalies) <= 1  # the in-sample band is at 99 %: a clean series is not an alarm
    assert out.backtest is not None and out.backtest["mape"] < 5


def test_short_constant_and_bad_arguments() -> None:
    assert fc.forecast([1.0, 2.0, None, 3.0]) is None  # fewer than MIN_POINTS known values
    flat = fc.forecast([5.0] * 8, horizon=2)
    assert flat is not None and [b.as_dict() for b in flat.ahead] == [{"mean": 5.0, "lo": 5.0, "hi": 5.0}] * 2
    leading = fc.forecast([None, None, *seasonal(12)], horizon=1)
    assert leading is not None and leading.fitted[:2] == [None, None] and len(leading.fitted) == 14
    for bad in ({"level": 10}, {"horizon": 0}):
        try:
            fc.forecast(seasonal(12), **bad)
        except ValueError:
            continue
        raise AssertionError(bad)
    assert fc.season_for("month") == 12 and fc.season_for("hour") == 24 and fc.season_for("x") == 1


def _history(db: Any, w: Any, last: str, spike: float | None) -> list[str]:
    periods = last_n(parse_period(last), 24)
    rows = []
    for i, p in enumerate(periods):
        received = round(seasonal(24, noise=1.0)[i])
        if spike is not None and i == len(periods) - 1:
            received = int(spike)
        rows.append(
            (
                "0066401",
                p.code,
                {"DOSSIER_FINISHED_ONTIME": 9, "DOSSIER_FINISHED_LATE": 1, "DOSSIER_RECEIVED": received},
            )
        )
    put(db, w, "TEST_THANG", rows)
    return [p.code for p in periods]


def test_indicator_forecast_api_flags_the_latest_month_and_warns_on_the_target(
    db: Any, iworld: Any, client: Any
) -> None:
    w = iworld
    with db.session() as s:  # a monthly sum indicator over DOSSIER_RECEIVED
        catalogue.upsert_indicator(
            s,
            {
                "code": "TEST_RECEIVED",
                "name": "Hồ sơ tiếp nhận",
                "domain": "administration",
                "numerator": "DOSSIER_RECEIVED",
                "period_type": "month",
                "decimals": 0,
            },
        )
    codes = _history(db, w, "2026-10", spike=400)
    with db.session() as s:
        ind = catalogue.indicator_by_code(s, "TEST_RECEIVED")
        s.add(Target(indicator_id=ind.id, unit_id=w.units["A"].id, period="2026-12", value=10_000))
    r = client.get(
        "/api/v1/indicators/TEST_RECEIVED/forecast",
        params={"unit": "00664", "period": "2026-10", "horizon": 3},
        headers=w.auth("leader_a"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p["period"] for p in body["points"]] == codes
    assert body["points"][-1]["value"] == 400 and body["points"][-1]["anomaly"] is True
    assert body["latest_anomaly"] is True and "2026-10" in body["anomalies"]
    assert [a["period"] for a in body["ahead"]] == ["2026-11", "2026-12", "2027-01"]
    assert body["model"].startswith("AutoETS") and body["backtest"] is not None
    # the December target of 10,000 is far above any forecast: the early warning names that month
    assert body["warning"]["period"] == "2026-12" and body["warning"]["target"] == 10_000
    assert body["ahead"][1]["target"] == 10_000 and body["ahead"][0]["target"] is None
    # commune B's operator does not read commune A; a bad argument changes nothing and says why
    r = client.get(
        "/api/v1/indicators/TEST_RECEIVED/forecast", params={"unit": "00664"}, headers=w.auth("op_b")
    )
    assert r.status_code == 404
    r = client.get(
        "/api/v1/indicators/TEST_RECEIVED/forecast", params={"horizon": 99}, headers=w.auth("leader_a")
    )
    assert r.status_code == 422
    r = client.get("/api/v1/indicators/TEST_RECEIVED/forecast", headers=w.auth("police_a"))
    assert r.status_code == 404  # administration is not the police's domain


def test_a_quiet_series_raises_no_flag(db: Any, iworld: Any, client: Any) -> None:
    w = iworld
    _history(db, w, "2026-10", spike=None)
    r = client.get(
        "/api/v1/indicators/DOSSIER_FINISHED/forecast",
        params={"unit": "0066401", "period": "2026-10"},
        headers=w.auth("op_a"),
    )
    assert r.status_code == 200
    body = r.json()
    assert body["latest_anomaly"] is False and body["warning"] is None
    assert all(a["mean"] == 10 for a in body["ahead"])  # 9 + 1 every month


def test_sensor_series_forecast_with_a_daily_cycle(db: Any, world: Any, client: Any) -> None:
    from toancanh.core import timeseries

    w = world
    with db.session() as s:
        series = timeseries.Series(
            key="aq-a2.pm25", name="PM2.5", unit_id=w.units["H2"].id, domain="environment", asset_id=None
        )
        s.add(series)
        s.flush()
        sid = series.id
        start = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp() * 1000)
        rows = []
        for h in range(24 * 10):
            v = 40 + 15 * math.sin(h * 2 * math.pi / 24) + ((h * 31) % 7 - 3) * 0.3
            if h == 24 * 9 + 5:
                v = 250  # a burst of smoke
            if h == 24 * 4 + 2:
                continue  # a missing hour
            rows += [(sid, start + h * 3_600_000 + m * 600_000, v) for m in range(2)]
        timeseries.write_samples(s, rows)
    end = datetime(2026, 11, 11, tzinfo=UTC).isoformat()
    r = client.get(
        f"/api/v1/series/{sid}/forecast",
        params={"rollup": "hour", "end": end, "horizon": 24},
        headers=w.auth("op_a"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    points, f = body["points"], body["forecast"]
    assert len(points) == 24 * 10 and points[24 * 4 + 2]["value"] is None
    assert 24 * 9 + 5 in f["anomalies"] and 24 * 4 + 2 not in f["anomalies"]
    assert len(f["ahead"]) == 24 and len(body["ahead_ts"]) == 24
    assert body["ahead_ts"][0] == points[-1]["ts"] + 3_600_000
    assert f["season_length"] == 24
    r = client.get(f"/api/v1/series/{sid}/forecast", params={"end": end}, headers=w.auth("op_b"))
    assert r.status_code == 404
    r = client.get(f"/api/v1/series/{sid}/forecast", params={"level": 20}, headers=w.auth("op_a"))
    assert r.status_code == 422
