"""Dry runs of rules over stored samples and events, on the test database (SQLite or PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

from toancanh.core.assets import Asset
from toancanh.core.db import Database
from toancanh.core.errors import BadRequest
from toancanh.core.timeseries import Series, from_ms, write_samples
from toancanh.core.units import add_unit
from toancanh.modules.alerts.models import Alert, Event
from toancanh.modules.alerts.rules import LoadedRule, Reading, RuleEngine, dry_run, parse_rule
from toancanh.modules.alerts.rules import dryrun as dryrun_module
from toancanh.modules.alerts.rules.types import AssetInfo

S = 1000
MIN = 60 * S
T0 = 1_741_143_600_000  # 2025-03-05 10:00 in Vietnam, a Wednesday
UNIT_A = "/01/00664/"


@dataclass
class Place:
    """Commune A (two sensors) and commune B (one), with their series ids by key."""

    series: dict[str, int] = field(default_factory=dict)
    assets: dict[str, int] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)


@pytest.fixture
def place(db: Database) -> Place:
    p = Place()
    with db.session() as s:
        prov = add_unit(s, code="01", name="Thành phố Hà Nội", kind="thành phố trung ương")
        a = add_unit(s, code="00664", name="Xã Đại Thanh", kind="xã", parent=prov)
        b = add_unit(s, code="00070", name="Phường Hoàn Kiếm", kind="phường", parent=prov)
        p.units = {"01": prov.id, "A": a.id, "B": b.id}
        for code, unit, attrs in (("WL-01", a, {}), ("WL-02", a, {"group": "river"}), ("WL-09", b, {})):
            asset = Asset(
                code=code,
                type="sensor",
                domain="utilities",
                name=f"Trạm {code}",
                unit_id=unit.id,
                lat=20.905,
                lon=105.805,
                attributes=attrs,
            )
            s.add(asset)
            s.flush()
            p.assets[code] = asset.id
            for measure in ("water_level", "battery"):
                series = Series(key=f"{code}.{measure}", name=measure, unit_id=unit.id, asset_id=asset.id)
                s.add(series)
                s.flush()
                p.series[series.key] = series.id
    return p


def _write(db: Database, rows: list[tuple[int, int, float]]) -> None:
    with db.session() as s:
        write_samples(s, rows)


THRESHOLD_RULE = {
    "code": "water-level-high",
    "name": "Mực nước cao",
    "when": {"type": "threshold", "measure": "water_level", "op": ">", "value": 2.5, "for_s": 300},
    "alert": {
        "category": "flood.water_level",
        "severity": "severe",
        "title_vi": "Mực nước {value} m tại {asset_code}",
        "cooldown_s": 600,
        "auto_clear": True,
    },
}


def test_threshold_dry_run_exact_firings(db: Database, place: Place) -> None:
    wl1, wl2, wl9 = (place.series[f"{c}.water_level"] for c in ("WL-01", "WL-02", "WL-09"))
    # WL-01: high from minute 10 to 20 (fires at 15, held 5 min; clears at 21), high again 28..40 (fires at
    # 33, past the 10-minute cooldown; clears at 41). WL-02: high from 50, fires at 55.
    levels1 = [3.0 if 10 <= m <= 20 or 28 <= m <= 40 else 1.0 for m in range(60)]
    levels2 = [2.6 if m >= 50 else 2.0 for m in range(60)]
    rows = [(wl1, T0 + m * MIN, v) for m, v in enumerate(levels1)]
    rows += [(wl2, T0 + m * MIN, v) for m, v in enumerate(levels2)]
    rows += [(wl9, T0 + m * MIN, 9.0) for m in range(60)]  # another commune: out of scope
    rows += [(place.series["WL-01.battery"], T0 + m * MIN, 99.0) for m in range(60)]  # not read
    _write(db, rows)

    with db.session() as s:
        result = dry_run(s, parse_rule(THRESHOLD_RULE), unit_path=UNIT_A, start_ms=T0, end_ms=T0 + 60 * MIN)
    got = [(f["key"], f["ts"], f["clear"], f["title"]) for f in result.firings]
    a1, a2 = place.assets["WL-01"], place.assets["WL-02"]
    assert got == [
        (f"water-level-high:asset:{a1}", T0 + 15 * MIN, False, "Mực nước 3 m tại WL-01"),
        (f"water-level-high:asset:{a1}", T0 + 21 * MIN, True, "Mực nước 1 m tại WL-01"),
        (f"water-level-high:asset:{a1}", T0 + 33 * MIN, False, "Mực nước 3 m tại WL-01"),
        (f"water-level-high:asset:{a1}", T0 + 41 * MIN, True, "Mực nước 1 m tại WL-01"),
        (f"water-level-high:asset:{a2}", T0 + 55 * MIN, False, "Mực nước 2.6 m tại WL-02"),
    ]
    first = result.firings[0]
    assert first["unit_id"] == place.units["A"] and first["asset_id"] == a1
    assert first["details"]["since_ts"] == T0 + 10 * MIN and first["details"]["held_s"] == 300
    assert result.total_firings == 5
    assert result.readings_scanned == 120  # two water_level series of commune A
    assert result.assets_considered == 2
    assert result.events_scanned == 0
    assert result.elapsed_s >= 0

    with db.session() as s:  # the range bounds the scan; max_firings bounds the list, not the count
        part = dry_run(
            s, parse_rule(THRESHOLD_RULE), unit_path=UNIT_A, start_ms=T0, end_ms=T0 + 30 * MIN, max_firings=1
        )
        assert (part.readings_scanned, part.total_firings, len(part.firings)) == (60, 2, 1)
        # scope narrowing by group, which lives in the asset's attributes
        spec = parse_rule({**THRESHOLD_RULE, "scope": {"asset_groups": ["river"]}})
        river = dry_run(s, spec, unit_path="/01/", start_ms=T0, end_ms=T0 + 60 * MIN)
        assert [f["asset_id"] for f in river.firings] == [a2]
        assert river.assets_considered == 1
        assert s.scalar(select(func.count()).select_from(Alert)) == 0  # nothing written


def test_dry_run_matches_the_live_engine_across_windows(
    db: Database, place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiny chunks and windows, gaps in the data: the same firings as feeding every reading at once."""
    monkeypatch.setattr(dryrun_module, "CHUNK", 7)
    monkeypatch.setattr(dryrun_module, "_FIRST_WINDOW_MS", 2 * MIN)
    keys = ["WL-01.water_level", "WL-02.water_level"]
    rows = []
    for n, key in enumerate(keys):
        for m in range(0, 600, 3 + n):
            if 200 <= m < 400:
                continue  # a silence of 200 minutes
            rows.append((place.series[key], T0 + m * MIN + n * S, 2.0 + ((m * 7 + n) % 11) / 10))
    _write(db, rows)
    spec = parse_rule({**THRESHOLD_RULE, "when": {**THRESHOLD_RULE["when"], "for_s": 120}})
    with db.session() as s:
        result = dry_run(s, spec, unit_path=UNIT_A, start_ms=T0, end_ms=T0 + 600 * MIN, max_firings=10_000)

    by_series = {place.series[k]: (place.assets[k.split(".")[0]], "water_level") for k in keys}
    infos = {
        aid: AssetInfo(
            aid, code, f"Trạm {code}", "sensor", "utilities", place.units["A"], UNIT_A, 20.905, 105.805
        )
        for code, aid in place.assets.items()
    }
    live = RuleEngine()
    live.load([LoadedRule(0, 0, UNIT_A, spec, place.units["A"])])
    ordered = sorted(rows, key=lambda r: (r[1], r[0]))
    readings = [Reading(*by_series[sid], ts, v) for sid, ts, v in ordered]
    expected = live.feed_readings(readings, infos.get)
    assert result.readings_scanned == len(rows)
    assert [(f["key"], f["ts"], f["clear"]) for f in result.firings] == [
        (f.key, f.ts, f.clear) for f in expected
    ]
    assert len(expected) > 10


def test_absence_dry_run(db: Database, place: Place) -> None:
    wl1 = place.series["WL-01.water_level"]
    _write(db, [(wl1, T0 + m * MIN, 1.0) for m in list(range(0, 30)) + list(range(50, 60))])
    spec = parse_rule(
        {
            "code": "station-silent",
            "name": "Trạm mất tín hiệu",
            "when": {"type": "absence", "measure": "water_level", "after_s": 900},
            "alert": {
                "category": "device.offline",
                "severity": "minor",
                "title_vi": "{asset} im lặng {duration_min} phút",
            },
        }
    )
    with db.session() as s:
        result = dry_run(s, spec, unit_path=UNIT_A, start_ms=T0, end_ms=T0 + 60 * MIN)
    got = [(f["asset_id"], f["ts"], f["title"]) for f in result.firings]
    assert got == [
        (place.assets["WL-02"], T0 + 15 * MIN, "Trạm WL-02 im lặng 15 phút"),  # watched, never heard from
        (place.assets["WL-01"], T0 + 44 * MIN, "Trạm WL-01 im lặng 15 phút"),  # last heard at minute 29
    ]


def _event(place: Place, at_ms: int, category: str, **kw: Any) -> Event:
    return Event(
        unit_id=kw.pop("unit_id", place.units["A"]),
        at=from_ms(at_ms),
        source=kw.pop("source", "camera"),
        domain="security",
        category=category,
        severity=kw.pop("severity", "moderate"),
        title=kw.pop("title", category),
        **kw,
    )


def test_pattern_dry_run_over_events(db: Database, place: Place) -> None:
    near = {"lat": 20.905, "lon": 105.805}
    with db.session() as s:
        events = [
            _event(place, T0, "fire.smoke", **near),
            _event(place, T0 + 4 * MIN, "fire.heat", **near),  # pairs with the smoke: fires
            _event(place, T0 + 20 * MIN, "fire.smoke", **near),
            _event(place, T0 + 21 * MIN, "fire.heat", lat=20.92, lon=105.805),  # 1.6 km away
            _event(place, T0 + 40 * MIN, "fire.heat", **near),  # 20 min after the smoke: too late
            _event(place, T0 + 41 * MIN, "fire.smoke", unit_id=place.units["B"], **near),  # out of scope
            _event(place, T0 + 42 * MIN, "fire.heat", unit_id=place.units["B"], **near),
            _event(place, T0 + 50 * MIN, "traffic.jam", **near),
        ]
        s.add_all(events)
        s.flush()
        ids = [e.id for e in events]
    spec = parse_rule(
        {
            "code": "fire-confirmed",
            "name": "Cháy được xác nhận",
            "when": {
                "type": "pattern",
                "first": {"category": "fire.smoke"},
                "then": {"category": "fire.heat"},
                "within_s": 600,
                "same": "place",
                "distance_m": 500,
            },
            "alert": {"category": "fire.confirmed", "severity": "extreme", "title_vi": "Cháy tại {asset}"},
        }
    )
    with db.session() as s:
        result = dry_run(s, spec, unit_path=UNIT_A, start_ms=T0, end_ms=T0 + 60 * MIN)
    assert result.events_scanned == 6  # commune A's events
    assert result.total_firings == 1
    [f] = result.firings
    assert (f["event_id"], f["ts"], f["unit_id"]) == (ids[1], T0 + 4 * MIN, place.units["A"])
    assert f["details"]["first_event_id"] == ids[0] and f["details"]["gap_s"] == 240
    assert f["title"] == "Cháy tại fire.heat"  # no asset: the event's title

    event_rule = parse_rule(
        {
            **spec.to_dict(),
            "when": {"type": "event", "match": {"category": "fire.*"}},
            "alert": {**spec.to_dict()["alert"], "cooldown_s": 0},
        }
    )
    with db.session() as s:
        every = dry_run(s, event_rule, unit_path="/01/", start_ms=T0, end_ms=T0 + 60 * MIN)
    assert [f["event_id"] for f in every.firings] == ids[:7]


def test_dry_run_refuses_bad_ranges(db: Database, place: Place) -> None:
    spec = parse_rule(THRESHOLD_RULE)
    with db.session() as s:
        with pytest.raises(BadRequest):
            dry_run(s, spec, unit_path=UNIT_A, start_ms=T0, end_ms=T0)
        with pytest.raises(BadRequest):
            dry_run(s, spec, unit_path=UNIT_A, start_ms=T0, end_ms=T0 + 400 * 86_400_000)
        empty = dry_run(s, spec, unit_path="/99/", start_ms=T0, end_ms=T0 + MIN)
        assert (empty.assets_considered, empty.readings_scanned, empty.firings) == (0, 0, [])
