"""The alert rule engine and rule definitions: each `when` type firing and not firing, windows, cooldowns,
clears, validation errors. Pure: no database."""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

import pytest

from toancanh.core.errors import BadRequest
from toancanh.core.worktime import VN_TZ
from toancanh.modules.alerts.rules import (
    AssetInfo,
    Firing,
    LoadedRule,
    Observed,
    Reading,
    RuleEngine,
    RuleSpec,
    parse_rule,
    parse_text,
)
from toancanh.modules.alerts.rules.spec import MAX_TEXT_BYTES

S = 1000
MIN = 60 * S
UNIT_A = "/01/00664/"


def vn(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> int:
    """Epoch ms of a Vietnam local time."""
    return int(datetime(y, mo, d, h, mi, s, tzinfo=VN_TZ).timestamp() * 1000)


WED = vn(2025, 3, 5, 10)  # a Wednesday, a working day, 10:00


def asset(
    id: int,
    code: str | None = None,
    *,
    unit_path: str = UNIT_A + "0066401/",
    type: str = "sensor",
    group: str = "",
    lat: float = 20.905,
    lon: float = 105.805,
    domain: str = "utilities",
) -> AssetInfo:
    return AssetInfo(
        id=id,
        code=code or f"WL-{id:02d}",
        name=f"Trạm {id}",
        type=type,
        domain=domain,
        unit_id=10 + id,
        unit_path=unit_path,
        lat=lat,
        lon=lon,
        group=group,
    )


ASSETS = {
    1: asset(1),
    2: asset(2),
    3: asset(3),
    4: asset(4, type="camera", group="kitchen"),
    9: asset(9, unit_path="/01/00070/"),  # another commune
}


def rule(when: dict[str, Any], code: str = "test-rule", **extra: Any) -> RuleSpec:
    alert = {
        "category": "flood.water_level",
        "severity": "severe",
        "title_vi": "Mực nước {value} m tại {asset}",
        "title_en": "Water level {value} m at {asset}",
        **extra.pop("alert", {}),
    }
    return parse_rule({"code": code, "name": "Quy tắc thử", "when": when, "alert": alert, **extra})


def engine(*specs: RuleSpec, unit_path: str = UNIT_A) -> RuleEngine:
    e = RuleEngine()
    e.load([LoadedRule(i + 1, 1, unit_path, s, unit_id=10) for i, s in enumerate(specs)])
    return e


def feed(e: RuleEngine, *readings: tuple[int, str, int, float]) -> list[Firing]:
    return e.feed_readings([Reading(*r) for r in readings], ASSETS.get)


def event(ts: int, category: str = "fire.smoke", **kw: Any) -> Observed:
    fields: dict[str, Any] = {
        "id": kw.pop("id", None),
        "ts": ts,
        "source": "camera",
        "category": category,
        "severity": "moderate",
        "domain": "security",
        "unit_id": 11,
        "unit_path": UNIT_A + "0066401/",
        **kw,
    }
    return Observed(**fields)


THRESHOLD = {"type": "threshold", "measure": "water_level", "op": ">", "value": 2.5, "for_s": 300}


# ---------------------------------------------------------------------------------------------- threshold


def test_threshold_fires_once_held_for_duration() -> None:
    e = engine(rule(THRESHOLD))
    fired = [feed(e, (1, "water_level", WED + i * MIN, 2.6 + i / 100)) for i in range(8)]
    assert [len(f) for f in fired] == [0, 0, 0, 0, 0, 1, 0, 0]  # at 5 minutes exactly, then still active
    f = fired[5][0]
    assert f.key == "test-rule:asset:1"
    assert f.ts == WED + 5 * MIN
    assert (f.rule_id, f.rule_version, f.rule_code) == (1, 1, "test-rule")
    assert (f.unit_id, f.unit_path, f.domain, f.asset_id) == (11, UNIT_A + "0066401/", "utilities", 1)
    assert (f.lat, f.lon) == (20.905, 105.805)
    assert (f.category, f.severity, f.urgency, f.certainty) == (
        "flood.water_level",
        "severe",
        "expected",
        "observed",
    )
    assert f.title == "Mực nước 2.65 m tại Trạm 1"
    assert f.title_en == "Water level 2.65 m at Trạm 1"
    assert f.details == {
        "measure": "water_level",
        "value": 2.65,
        "op": ">",
        "threshold": 2.5,
        "for_s": 300,
        "since_ts": WED,
        "held_s": 300.0,
    }
    assert not f.clear and f.incident is None


def test_threshold_interrupted_hold_starts_again() -> None:
    e = engine(rule(THRESHOLD))
    assert feed(e, (1, "water_level", WED, 3.0), (1, "water_level", WED + 4 * MIN, 3.0)) == []
    assert feed(e, (1, "water_level", WED + 4 * MIN + 30 * S, 2.5)) == []  # not > 2.5: the run breaks
    assert feed(e, (1, "water_level", WED + 6 * MIN, 3.0)) == []
    assert feed(e, (1, "water_level", WED + 10 * MIN, 3.0)) == []  # 4 min into the new run
    [f] = feed(e, (1, "water_level", WED + 11 * MIN, 3.0))
    assert f.details["since_ts"] == WED + 6 * MIN


def test_threshold_is_per_asset_and_skips_other_measures() -> None:
    e = engine(rule({**THRESHOLD, "for_s": 0}))
    out = feed(
        e,
        (1, "water_level", WED, 3.0),
        (2, "water_level", WED, 2.0),
        (3, "rain", WED, 300.0),
        (2, "water_level", WED + S, 2.9),
    )
    assert [(f.asset_id, f.ts) for f in out] == [(1, WED), (2, WED + S)]


def test_threshold_clear_and_cooldown() -> None:
    e = engine(rule({**THRESHOLD, "for_s": 0}, alert={"auto_clear": True, "cooldown_s": 600}))
    assert len(feed(e, (1, "water_level", WED, 3.0))) == 1
    [clear] = feed(e, (1, "water_level", WED + MIN, 2.0))
    assert clear.clear and clear.key == "test-rule:asset:1" and clear.ts == WED + MIN
    assert clear.details["value"] == 2.0 and "since_ts" not in clear.details
    # high again 2 minutes after the firing: inside the cooldown, so nothing (and no clear after it)
    assert feed(e, (1, "water_level", WED + 2 * MIN, 3.0)) == []
    assert feed(e, (1, "water_level", WED + 3 * MIN, 2.0)) == []
    # the condition still holding once the cooldown is over fires
    assert feed(e, (1, "water_level", WED + 5 * MIN, 3.0)) == []
    [f] = feed(e, (1, "water_level", WED + 10 * MIN, 3.0))
    assert not f.clear and f.ts == WED + 10 * MIN


def test_threshold_without_auto_clear_emits_no_clear() -> None:
    e = engine(rule({**THRESHOLD, "for_s": 0}, alert={"cooldown_s": 0}))
    assert len(feed(e, (1, "water_level", WED, 3.0))) == 1
    assert feed(e, (1, "water_level", WED + S, 1.0)) == []
    assert len(feed(e, (1, "water_level", WED + 2 * S, 3.0))) == 1  # a new episode, no cooldown


@pytest.mark.parametrize(
    ("op", "value", "fires"),
    [(">=", 2.5, True), ("<", 2.5, False), ("<=", 2.5, True), ("==", 2.5, True), ("!=", 2.5, False)],
)
def test_threshold_operators(op: str, value: float, fires: bool) -> None:
    e = engine(rule({**THRESHOLD, "op": op, "value": value, "for_s": 0}))
    assert bool(feed(e, (1, "water_level", WED, 2.5))) is fires


# ---------------------------------------------------------------------------------------------- scope


def test_scope_limits_assets() -> None:
    spec = rule({**THRESHOLD, "for_s": 0}, scope={"asset_types": ["camera"], "asset_groups": ["kitchen"]})
    e = engine(spec)
    out = feed(e, *[(i, "water_level", WED, 3.0) for i in (1, 2, 4, 9)])
    assert [f.asset_id for f in out] == [4]
    e = engine(rule({**THRESHOLD, "for_s": 0}, scope={"assets": ["WL-02"]}))
    assert [f.asset_id for f in feed(e, *[(i, "water_level", WED, 3.0) for i in (1, 2, 3)])] == [2]
    # the rule's own unit bounds it: asset 9 is in another commune
    e = engine(rule({**THRESHOLD, "for_s": 0}))
    assert feed(e, (9, "water_level", WED, 3.0)) == []
    e = engine(rule({**THRESHOLD, "for_s": 0}, scope={"domain": "environment"}))
    assert feed(e, (1, "water_level", WED, 3.0)) == []


def test_unknown_measure_costs_no_asset_lookup() -> None:
    e = engine(rule(THRESHOLD))
    calls: list[int] = []

    def lookup(i: int) -> AssetInfo | None:
        calls.append(i)
        return ASSETS.get(i)

    e.feed_readings([Reading(1, "pm25", WED, 1.0), Reading(2, "noise", WED, 1.0)], lookup)
    assert calls == []
    e.feed_readings([Reading(1, "water_level", WED + i, 1.0) for i in range(5)], lookup)
    assert calls == [1]  # the scope answer is cached per (rule, asset)


def test_unknown_asset_is_looked_up_again_later() -> None:
    e = engine(rule({**THRESHOLD, "for_s": 0}))
    known: dict[int, AssetInfo] = {}
    assert e.feed_readings([Reading(1, "water_level", WED, 3.0)], known.get) == []
    known[1] = ASSETS[1]
    assert len(e.feed_readings([Reading(1, "water_level", WED + S, 3.0)], known.get)) == 1


# ---------------------------------------------------------------------------------------------- only_during


def _windowed(days: str, start: str = "06:30", end: str = "17:30") -> RuleEngine:
    spec = rule({**THRESHOLD, "for_s": 0}, only_during={"days": days, "from": start, "to": end})
    return engine(spec)


@pytest.mark.parametrize(
    ("days", "when", "fires"),
    [
        ("working", vn(2025, 3, 5, 10), True),  # Wednesday
        ("working", vn(2025, 3, 5, 6, 29), False),  # before 06:30
        ("working", vn(2025, 3, 5, 17, 30), False),  # 'to' is excluded
        ("working", vn(2025, 3, 8, 10), False),  # Saturday
        ("working", vn(2025, 9, 2, 10), False),  # National Day, a Tuesday
        ("working", vn(2025, 1, 29, 10), False),  # Tết Ất Tỵ (lunar new year), a Wednesday
        ("weekend", vn(2025, 3, 8, 10), True),
        ("weekend", vn(2025, 9, 2, 10), True),  # a public holiday is a day off too
        ("weekend", vn(2025, 3, 5, 10), False),
        ("school", vn(2025, 10, 1, 10), True),
        ("school", vn(2025, 7, 2, 10), False),  # summer break
        ("all", vn(2025, 3, 8, 10), True),
    ],
)
def test_only_during(days: str, when: int, fires: bool) -> None:
    assert bool(feed(_windowed(days), (1, "water_level", when, 3.0))) is fires


@pytest.mark.parametrize(
    ("when", "fires"),
    [
        (vn(2025, 3, 7, 23), True),  # Friday night
        (vn(2025, 3, 8, 2), True),  # Saturday 02:00: the window opened on Friday
        (vn(2025, 3, 8, 23), False),  # Saturday night
        (vn(2025, 3, 10, 3), False),  # Monday 03:00: the window opened on Sunday
        (vn(2025, 3, 10, 12), False),  # outside the hours
    ],
)
def test_only_during_overnight(when: int, fires: bool) -> None:
    assert bool(feed(_windowed("working", "22:00", "06:00"), (1, "water_level", when, 3.0))) is fires


def test_condition_held_outside_window_fires_when_it_opens() -> None:
    e = engine(
        rule(THRESHOLD, only_during={"days": "all", "from": "06:30", "to": "17:30"}),
    )
    start = vn(2025, 3, 5, 6, 0)
    out = feed(e, *[(1, "water_level", start + i * 10 * MIN, 3.0) for i in range(6)])
    assert [f.ts for f in out] == [vn(2025, 3, 5, 6, 30)]  # held since 06:00, allowed from 06:30


# ---------------------------------------------------------------------------------------------- rate of change


def test_rate_of_change() -> None:
    e = engine(rule({"type": "rate_of_change", "measure": "water_level", "delta": 0.5, "within_s": 600}))
    out = feed(
        e,
        (1, "water_level", WED, 1.0),
        (1, "water_level", WED + 5 * MIN, 1.2),
        (1, "water_level", WED + 9 * MIN, 1.4),
        (1, "water_level", WED + 10 * MIN, 1.51),  # +0.51 from 10 minutes ago: fires
    )
    [f] = out
    assert f.ts == WED + 10 * MIN
    assert f.details["from_value"] == 1.0 and f.details["direction"] == "up"
    assert f.details["change"] == pytest.approx(0.51)


def test_rate_of_change_too_slow_or_wrong_direction() -> None:
    slow = engine(rule({"type": "rate_of_change", "measure": "water_level", "delta": 0.5, "within_s": 600}))
    assert feed(slow, *[(1, "water_level", WED + i * 4 * MIN, 1.0 + i * 0.2) for i in range(6)]) == []
    down = engine(
        rule(
            {
                "type": "rate_of_change",
                "measure": "water_level",
                "delta": 0.5,
                "within_s": 600,
                "direction": "down",
            }
        )
    )
    assert feed(down, (1, "water_level", WED, 1.0), (1, "water_level", WED + MIN, 2.0)) == []
    [f] = feed(down, (1, "water_level", WED + 2 * MIN, 1.4))
    assert f.details["from_value"] == 2.0 and f.details["direction"] == "down"


# ---------------------------------------------------------------------------------------------- absence


ABSENCE = {"type": "absence", "after_s": 600}


def test_absence_of_a_watched_asset_and_clear() -> None:
    e = engine(rule(ABSENCE, alert={"auto_clear": True}, scope={"assets": ["WL-01", "WL-02"]}))
    e.watch_assets(ASSETS.values())
    assert e.tick(WED) == []  # starts the clock of assets that have said nothing yet
    feed(e, (2, "battery", WED + 5 * MIN, 90.0))
    assert e.tick(WED + 9 * MIN) == []
    [f] = e.tick(WED + 11 * MIN)
    assert (f.asset_id, f.ts, f.key) == (1, WED + 10 * MIN, "test-rule:asset:1")
    assert f.details["last_seen_ts"] == WED and f.details["silent_s"] == 600
    assert e.tick(WED + 12 * MIN) == []  # once per silence
    [f2] = e.tick(WED + 16 * MIN)
    assert f2.asset_id == 2
    [clear] = feed(e, (1, "water_level", WED + 20 * MIN, 1.0))
    assert clear.clear and clear.asset_id == 1


def test_absence_of_one_measure_learns_assets_from_readings() -> None:
    e = engine(rule({**ABSENCE, "measure": "water_level"}))
    feed(e, (1, "water_level", WED, 1.0))
    feed(e, (1, "battery", WED + 8 * MIN, 1.0))  # another measure does not count
    assert e.tick(WED + 9 * MIN) == []
    assert [f.asset_id for f in e.tick(WED + 10 * MIN)] == [1]
    assert e.tick(WED + 10 * MIN) == []


def test_absence_found_by_the_reading_that_ends_it() -> None:
    e = engine(rule(ABSENCE, alert={"auto_clear": True}))
    feed(e, (1, "water_level", WED, 1.0))
    fire, clear = feed(e, (1, "water_level", WED + 30 * MIN, 1.0))  # no tick came in between
    assert (fire.ts, fire.clear) == (WED + 10 * MIN, False)
    assert (clear.ts, clear.clear) == (WED + 30 * MIN, True)


def test_absence_not_for_out_of_scope_or_chatty_assets() -> None:
    e = engine(rule(ABSENCE))
    e.watch_assets([ASSETS[9]])  # another commune
    e.tick(WED)
    for i in range(10):
        feed(e, (1, "water_level", WED + i * 5 * MIN, 1.0))
    assert e.tick(WED + 50 * MIN) == []


# ---------------------------------------------------------------------------------------------- geofence

ZONE = {
    "type": "Polygon",
    "coordinates": [[[105.80, 20.90], [105.81, 20.90], [105.81, 20.91], [105.80, 20.91], [105.80, 20.90]]],
}


def _pos(aid: int, ts: int, lat: float, lon: float) -> list[tuple[int, str, int, float]]:
    return [(aid, "lat", ts, lat), (aid, "lon", ts, lon)]


def test_geofence_first_position_sets_state_then_crossings_fire() -> None:
    e = engine(rule({"type": "geofence", "zone": ZONE, "on": "leave"}, alert={"auto_clear": True}))
    assert feed(e, *_pos(1, WED, 20.905, 105.805)) == []  # inside: sets the state only
    assert feed(e, *_pos(1, WED + MIN, 20.906, 105.806)) == []  # still inside
    [f] = feed(e, *_pos(1, WED + 2 * MIN, 20.92, 105.805))  # left
    assert f.details == {"crossing": "leave", "lat": 20.92, "lon": 105.805}
    assert (f.lat, f.lon, f.ts) == (20.92, 105.805, WED + 2 * MIN)
    [back] = feed(e, *_pos(1, WED + 3 * MIN, 20.905, 105.805))
    assert back.clear and back.details["crossing"] == "enter"


def test_geofence_outside_first_then_enter() -> None:
    e = engine(rule({"type": "geofence", "zone": ZONE, "on": "enter"}, alert={"cooldown_s": 0}))
    assert feed(e, *_pos(2, WED, 21.0, 106.0)) == []
    # half a position (no lon for that ts yet), then a lon of another ts: nothing to evaluate
    assert feed(e, (2, "lat", WED + MIN, 20.905), (2, "lon", WED + 2 * MIN, 105.805)) == []
    [f] = feed(e, *_pos(2, WED + 3 * MIN, 20.905, 105.805))
    assert f.details["crossing"] == "enter"
    assert feed(e, *_pos(2, WED + 4 * MIN, 21.0, 106.0)) == []  # leaving is not watched
    both = engine(rule({"type": "geofence", "zone": ZONE, "on": "both"}, alert={"cooldown_s": 0}))
    out = feed(
        both,
        *_pos(2, WED, 21.0, 106.0),
        *_pos(2, WED + MIN, 20.905, 105.805),
        *_pos(2, WED + 2 * MIN, 21.0, 106.0),
    )
    assert [f.details["crossing"] for f in out] == ["enter", "leave"]


# ---------------------------------------------------------------------------------------------- k of n

K_OF_N = {"type": "k_of_n", "measure": "smoke", "op": ">=", "value": 1, "k": 3, "within_s": 300}


def test_k_of_n_fires_with_k_assets_in_window() -> None:
    e = engine(rule(K_OF_N, alert={"title_vi": "{count} đầu báo khói"}))
    assert feed(e, (1, "smoke", WED, 1), (2, "smoke", WED + MIN, 1), (3, "smoke", WED + MIN, 0)) == []
    assert feed(e, (1, "smoke", WED + 2 * MIN, 1)) == []  # the same asset twice counts once
    [f] = feed(e, (3, "smoke", WED + 3 * MIN, 1))
    assert f.key == "test-rule:group" and f.asset_id is None
    assert f.details["assets"] == ["WL-02", "WL-01", "WL-03"] and f.details["count"] == 3
    assert f.title == "3 đầu báo khói"
    assert f.unit_id == 10 and f.unit_path == UNIT_A  # assets of several units: the rule's unit


def test_k_of_n_below_k_or_outside_window() -> None:
    e = engine(rule(K_OF_N))
    assert feed(e, (1, "smoke", WED, 1), (2, "smoke", WED + 4 * MIN, 1)) == []
    assert feed(e, (3, "smoke", WED + 6 * MIN, 1)) == []  # asset 1's reading is 6 minutes old
    assert e.tick(WED + 20 * MIN) == []
    assert feed(e, (9, "smoke", WED + 21 * MIN, 1), (4, "smoke", WED + 21 * MIN, 0)) == []


def test_k_of_n_fires_again_after_the_window_empties() -> None:
    e = engine(rule({**K_OF_N, "k": 2}, alert={"cooldown_s": 0}))
    assert len(feed(e, (1, "smoke", WED, 1), (2, "smoke", WED + MIN, 1))) == 1
    assert feed(e, (3, "smoke", WED + 2 * MIN, 1)) == []  # the same episode
    e.tick(WED + 20 * MIN)
    assert feed(e, (1, "smoke", WED + 21 * MIN, 1)) == []
    assert len(feed(e, (3, "smoke", WED + 22 * MIN, 1))) == 1


def test_k_of_n_k_larger_than_listed_assets_is_refused() -> None:
    with pytest.raises(BadRequest) as err:
        rule({**K_OF_N, "k": 3}, scope={"assets": ["WL-01", "WL-02"]})
    assert err.value.details[0]["loc"] == "when.k"


# ---------------------------------------------------------------------------------------------- pattern

PATTERN = {
    "type": "pattern",
    "first": {"category": "fire.smoke"},
    "then": {"category": "fire.heat", "min_severity": "moderate"},
    "within_s": 600,
    "distance_m": 500,
}


def test_pattern_fires_when_then_follows_first_nearby() -> None:
    e = engine(rule(PATTERN, alert={"category": "fire.confirmed", "incident": {"type": "fire"}}))
    assert e.feed_event(event(WED, id=1, lat=20.905, lon=105.805), ASSETS.get) == []
    [f] = e.feed_event(event(WED + 5 * MIN, "fire.heat", id=2, lat=20.906, lon=105.805), ASSETS.get)
    assert f.event_id == 2 and f.ts == WED + 5 * MIN
    assert f.details["first_event_id"] == 1 and f.details["gap_s"] == 300
    assert 100 < f.details["distance_m"] < 120
    assert f.incident is not None and f.incident.type == "fire" and f.incident.group_within_s == 3600
    assert f.key == "test-rule:unit:11"


def test_pattern_not_outside_window_too_far_or_in_wrong_order() -> None:
    e = engine(rule(PATTERN, alert={"cooldown_s": 0}))
    near = {"lat": 20.905, "lon": 105.805}
    e.feed_event(event(WED, id=1, **near), ASSETS.get)
    assert e.feed_event(event(WED + 11 * MIN, "fire.heat", id=2, **near), ASSETS.get) == []  # too late
    e.feed_event(event(WED + 20 * MIN, id=3, **near), ASSETS.get)
    far = {"lat": 20.915, "lon": 105.805}  # 1.1 km north
    assert e.feed_event(event(WED + 21 * MIN, "fire.heat", id=4, **far), ASSETS.get) == []
    minor = event(WED + 22 * MIN, "fire.heat", id=5, severity="minor", **near)
    assert e.feed_event(minor, ASSETS.get) == []  # below min_severity
    assert len(e.feed_event(event(WED + 23 * MIN, "fire.heat", id=6, **near), ASSETS.get)) == 1
    # a `then` before any `first` does not pair with a later `first`
    e2 = engine(rule(PATTERN))
    e2.feed_event(event(WED, "fire.heat", id=7, **near), ASSETS.get)
    assert e2.feed_event(event(WED + MIN, id=8, **near), ASSETS.get) == []


def test_pattern_same_asset_uses_the_asset_position() -> None:
    e = engine(rule({**PATTERN, "same": "asset"}))
    e.feed_event(event(WED, id=1, asset_id=1), ASSETS.get)
    assert e.feed_event(event(WED + MIN, "fire.heat", id=2, asset_id=2), ASSETS.get) == []
    [f] = e.feed_event(event(WED + 2 * MIN, "fire.heat", id=3, asset_id=1), ASSETS.get)
    assert f.key == "test-rule:asset:1" and (f.lat, f.lon) == (20.905, 105.805)


# ---------------------------------------------------------------------------------------------- event


def test_event_rule_matches_glob_source_payload_and_cools_down() -> None:
    spec = rule(
        {
            "type": "event",
            "match": {"category": "fire.*", "source": "camera", "payload": {"zone": "kitchen"}},
        },
        alert={"title_vi": "Cảnh báo {category} tại {asset}", "cooldown_s": 300},
    )
    e = engine(spec)
    kitchen = {"payload": {"zone": "kitchen"}}
    [f] = e.feed_event(event(WED, asset_id=4, id=10, **kitchen), ASSETS.get)
    assert f.key == "test-rule:asset:4" and f.event_id == 10 and f.title == "Cảnh báo fire.smoke tại Trạm 4"
    assert e.feed_event(event(WED + MIN, asset_id=4, **kitchen), ASSETS.get) == []  # cooldown
    assert len(e.feed_event(event(WED + MIN, asset_id=1, **kitchen), ASSETS.get)) == 1  # another asset
    assert len(e.feed_event(event(WED + 6 * MIN, asset_id=4, **kitchen), ASSETS.get)) == 1
    assert e.feed_event(event(WED + 20 * MIN, "flood.rain", **kitchen), ASSETS.get) == []
    assert e.feed_event(event(WED + 20 * MIN, "firework", **kitchen), ASSETS.get) == []
    assert e.feed_event(event(WED + 20 * MIN, source="report", **kitchen), ASSETS.get) == []
    assert e.feed_event(event(WED + 20 * MIN, payload={"zone": "yard"}), ASSETS.get) == []
    [u] = e.feed_event(event(WED + 20 * MIN, **kitchen), ASSETS.get)
    assert u.key == "test-rule:unit:11" and u.asset_id is None


def test_event_rule_scope() -> None:
    e = engine(
        rule({"type": "event", "match": {"category": "fire.smoke"}}, scope={"asset_groups": ["kitchen"]})
    )
    assert e.feed_event(event(WED, asset_id=1), ASSETS.get) == []
    assert e.feed_event(event(WED), ASSETS.get) == []  # no asset: not in a group
    assert len(e.feed_event(event(WED, asset_id=4), ASSETS.get)) == 1
    other = engine(rule({"type": "event", "match": {"category": "fire.smoke"}}))
    assert other.feed_event(event(WED, unit_path="/01/00070/"), ASSETS.get) == []


# ---------------------------------------------------------------------------------------------- load


def test_load_keeps_state_of_unchanged_versions_only() -> None:
    spec = rule(THRESHOLD)
    other = rule({**THRESHOLD, "measure": "rain"}, code="rain-rule")
    e = RuleEngine()
    e.load([LoadedRule(1, 1, UNIT_A, spec), LoadedRule(2, 1, UNIT_A, other)])
    feed(e, (1, "water_level", WED, 3.0), (1, "rain", WED, 3.0))
    e.load([LoadedRule(1, 1, UNIT_A, spec), LoadedRule(2, 2, UNIT_A, other)])  # rule 2 saved again
    assert [r.version for r in e.rules] == [1, 2]
    out = feed(e, (1, "water_level", WED + 5 * MIN, 3.0), (1, "rain", WED + 5 * MIN, 3.0))
    assert [f.rule_code for f in out] == ["test-rule"]  # rule 2's hold started again
    e.load([LoadedRule(2, 2, UNIT_A, other)])
    assert [
        f.rule_code
        for f in feed(e, (1, "water_level", WED + 11 * MIN, 3.0), (1, "rain", WED + 10 * MIN, 3.0))
    ] == ["rain-rule"]
    with pytest.raises(ValueError):
        e.load([LoadedRule(2, 2, UNIT_A, other), LoadedRule(2, 3, UNIT_A, other)])


def test_new_rule_learns_watched_assets() -> None:
    e = RuleEngine()
    e.watch_assets([ASSETS[1]])
    e.load([LoadedRule(1, 1, UNIT_A, rule(ABSENCE))])
    e.tick(WED)
    assert [f.asset_id for f in e.tick(WED + 10 * MIN)] == [1]


def test_title_formats_and_placeholders() -> None:
    spec = rule(
        THRESHOLD,
        alert={
            "title_vi": "{asset_code} {measure} {value:.1f} > {threshold} ({duration_min} phút) {category}",
            "title_en": "",
        },
    )
    [f] = feed(engine(spec), (1, "water_level", WED, 2.66), (1, "water_level", WED + 5 * MIN, 2.66))
    assert f.title == "WL-01 water_level 2.7 > 2.5 (5 phút) flood.water_level"
    assert f.title_en == f.title  # no English title: the Vietnamese one


# ---------------------------------------------------------------------------------------------- definitions

EXAMPLE_YAML = """
code: water-level-high
name: Mực nước vượt mức báo động 2
scope:
  unit_path: "/01/00664/"
  domain: utilities
  asset_types: [sensor]
  assets: [WL-01, WL-02]
when:
  type: threshold
  measure: water_level
  op: ">"
  value: 2.5
  for_s: 300
only_during:
  days: working
  from: 06:30
  to: 17:30
alert:
  category: flood.water_level
  severity: severe
  urgency: immediate
  certainty: observed
  title_vi: "Mực nước {value} m tại {asset} vượt mức báo động"
  title_en: "Water level {value} m at {asset} above alarm level"
  cooldown_s: 600
  incident: {type: flood, group_within_s: 3600, group_radius_m: 1000}
  auto_clear: true
"""


def test_parse_yaml_and_round_trip() -> None:
    spec = parse_text(EXAMPLE_YAML, "yaml")
    d = spec.to_dict()
    assert d["only_during"] == {"days": "working", "from": "06:30", "to": "17:30"}  # not base-60 numbers
    assert d["when"] == {"type": "threshold", "measure": "water_level", "op": ">", "value": 2.5, "for_s": 300}
    assert d["alert"]["incident"] == {"type": "flood", "group_within_s": 3600, "group_radius_m": 1000.0}
    assert parse_rule(d) == spec
    assert parse_text(json.dumps(d), "json") == spec
    geo = parse_text(
        "code: geo-rule\nname: x\nwhen: {type: geofence, on: leave, zone: " + json.dumps(ZONE) + "}\n"
        "alert: {category: a.b, severity: minor, title_vi: t}",
        "yaml",
    )
    assert geo.to_dict()["when"]["on"] == "leave"  # `on` is a key here, not YAML 1.1's true


def _problems(data: Any) -> dict[str, str]:
    with pytest.raises(BadRequest) as err:
        parse_rule(data)
    assert err.value.message.startswith("Định nghĩa quy tắc không hợp lệ")
    return {p["loc"]: p["msg"] for p in err.value.details}


def test_validation_lists_every_problem() -> None:
    good = parse_text(EXAMPLE_YAML, "yaml").to_dict()
    bad = {
        **good,
        "code": "Bad Code!",
        "extra": 1,
        "when": {**good["when"], "op": "=>", "for_s": 31 * 86400},
        "alert": {**good["alert"], "severity": "huge", "title_vi": "Mực nước {level}", "cooldown_s": -1},
        "only_during": {"days": "holidays", "from": "25:00", "to": "17:30"},
    }
    problems = _problems(bad)
    assert set(problems) == {
        "code",
        "extra",
        "when.op",
        "when.for_s",
        "alert.severity",
        "alert.title_vi",
        "alert.cooldown_s",
        "only_during.days",
        "only_during.from",
    }
    assert "{level}" in problems["alert.title_vi"]


@pytest.mark.parametrize(
    ("when", "loc"),
    [
        ({"type": "sometimes"}, "when"),
        ({"measure": "x"}, "when"),
        ({"type": "k_of_n", "measure": "x", "op": ">", "value": 1, "k": 0, "within_s": 60}, "when.k"),
        ({"type": "k_of_n", "measure": "x", "op": ">", "value": 1, "k": 1001, "within_s": 60}, "when.k"),
        ({"type": "rate_of_change", "measure": "x", "delta": 0, "within_s": 60}, "when.delta"),
        ({"type": "absence", "after_s": 0}, "when.after_s"),
        ({"type": "threshold", "measure": "x", "op": ">", "value": "NaN"}, "when.value"),
        (
            {
                "type": "pattern",
                "first": {"category": "a"},
                "then": {"category": "b"},
                "within_s": 60,
                "same": "x",
            },
            "when.same",
        ),
        (
            {"type": "event", "match": {"category": "fire.*", "min_severity": "big"}},
            "when.match.min_severity",
        ),
        ({"type": "event", "match": {"category": "fire", "colour": "red"}}, "when.match.colour"),
        ({"type": "geofence", "zone": {"type": "Point", "coordinates": [105.8, 20.9]}}, "when.zone"),
        (
            {
                "type": "geofence",  # a bow tie: self-intersecting
                "zone": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            },
            "when.zone",
        ),
        ({"type": "geofence", "zone": ZONE, "lat_measure": "p", "lon_measure": "p"}, "when.lon_measure"),
    ],
)
def test_bad_when(when: dict[str, Any], loc: str) -> None:
    data = {
        "code": "abc",
        "name": "x",
        "when": when,
        "alert": {"category": "a", "severity": "minor", "title_vi": "t"},
    }
    assert loc in _problems(data)


def test_zone_vertex_limit() -> None:
    n = 10_050
    ring = [
        [105.8 + 0.01 * math.cos(2 * math.pi * i / n), 20.9 + 0.01 * math.sin(2 * math.pi * i / n)]
        for i in range(n)
    ]
    ring.append(ring[0])
    when = {"type": "geofence", "zone": {"type": "Polygon", "coordinates": [ring]}}
    data = {
        "code": "abc",
        "name": "x",
        "when": when,
        "alert": {"category": "a", "severity": "minor", "title_vi": "t"},
    }
    assert "10051 vertices" in _problems(data)["when.zone"]


def test_cross_field_checks() -> None:
    base = {"code": "abc", "name": "x", "alert": {"category": "a", "severity": "minor", "title_vi": "t"}}
    ev = {"type": "event", "match": {"category": "fire.*"}}
    assert "alert.auto_clear" in _problems(
        {**base, "when": ev, "alert": {**base["alert"], "auto_clear": True}}
    )
    thr = {"type": "threshold", "measure": "x", "op": ">", "value": 1}
    assert "only_during.to" in _problems(
        {**base, "when": thr, "only_during": {"from": "08:00", "to": "08:00"}}
    )
    assert "alert.title_vi" in _problems(
        {**base, "when": thr, "alert": {**base["alert"], "title_vi": "{value:q}"}}
    )
    assert "alert.title_vi" in _problems(
        {**base, "when": thr, "alert": {**base["alert"], "title_vi": "{value.real}"}}
    )
    assert "alert.title_vi" in _problems(
        {**base, "when": thr, "alert": {**base["alert"], "title_vi": "{asset!r}"}}
    )
    assert "alert.title_vi" in _problems(
        {**base, "when": thr, "alert": {**base["alert"], "title_vi": "oops {"}}
    )
    assert "alert.title_vi" in _problems(
        {**base, "when": thr, "alert": {**base["alert"], "title_vi": "x" * 301}}
    )


@pytest.mark.parametrize(
    ("text", "fmt", "en"),
    [
        ("- a\n- b\n", "yaml", "must be an object"),
        ("just text", "yaml", "must be an object"),
        ("[1, 2]", "json", "must be an object"),
        ("a: &x [1, 2]\nb: [*x, *x, *x]\n", "yaml", "Cannot parse YAML (line 2"),
        ("a: [\n", "yaml", "Cannot parse YAML"),
        ("{", "json", "Cannot parse JSON (line 1"),
        ("[" * 50_000, "yaml", "Cannot parse YAML"),
        ("[" * 50_000, "json", "Cannot parse JSON"),
        ("!!python/object/apply:os.system ['true']", "yaml", "Cannot parse YAML"),
        ("code: x\n" + "#" * MAX_TEXT_BYTES, "yaml", "too large"),
    ],
)
def test_bad_text(text: str, fmt: Any, en: str) -> None:
    with pytest.raises(BadRequest) as err:
        parse_text(text, fmt)
    assert en in err.value.message_en
    assert err.value.message  # Vietnamese


def test_billion_laughs_is_refused_quickly() -> None:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [
        f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]"
        for i in range(1, 10)
    ]
    with pytest.raises(BadRequest):
        parse_text("\n".join(lines), "yaml")


def test_absence_watches_only_assets_that_report_what_it_waits_for() -> None:
    """After a restart the runtime knows which measures each device has reported (its series): a rule on
    water-level silence watches the water-level sensor, not a school or a camera in the same commune."""
    import dataclasses

    e = engine(rule({**ABSENCE, "measure": "water_level"}))
    gauge = dataclasses.replace(ASSETS[1], measures=frozenset({"water_level", "battery"}))
    other = dataclasses.replace(ASSETS[2], measures=frozenset({"pm25"}))
    e.watch_assets([gauge, other])
    e.tick(WED)
    assert [f.asset_id for f in e.tick(WED + 11 * MIN)] == [1]
    anything = engine(rule(ABSENCE))  # silence of any reading: devices that never reported are not watched
    anything.watch_assets([dataclasses.replace(ASSETS[1], measures=frozenset()), other])
    anything.tick(WED)
    assert [f.asset_id for f in anything.tick(WED + 11 * MIN)] == [2]
