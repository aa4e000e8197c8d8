"""Behaviour of core.timeseries: batched writes, last write wins, rollups on Vietnam's day, checks, scope.

Through the service (``write_samples``/``query``) and through ``/api/v1/series/{id}/samples``, on whichever
database the suite runs on.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from tests.conftest import World
from toancanh.core import timeseries
from toancanh.core.db import Database
from toancanh.core.errors import BadRequest
from toancanh.core.timeseries import Sample, from_ms, to_ms

SAMPLES = "/api/v1/series/{}/samples"
VN = timezone(timedelta(hours=7))
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def ms(*args: int) -> int:
    return to_ms(utc(*args))


def new_series(
    client: TestClient, world: World, key: str = "aq-a2.pm25", unit: str = "A", asset: str = "aq-a2"
) -> int:
    body = {
        "key": key,
        "name": "Bụi mịn PM2.5",
        "unit_id": world.units[unit].id,
        "asset_id": world.assets[asset].id,
        "domain": "environment",
        "unit_of_measure": "µg/m³",
    }
    r = client.post("/api/v1/series", json=body, headers=world.auth("admin"))
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def sample_count(db: Database, series_id: int | None = None) -> int:
    stmt = select(func.count()).select_from(Sample)
    if series_id is not None:
        stmt = stmt.where(Sample.series_id == series_id)
    with db.session() as s:
        return int(s.scalar(stmt) or 0)


def read(
    client: TestClient,
    world: World,
    series_id: int,
    start: Any,
    end: Any,
    rollup: str = "raw",
    who: str = "op_a",
) -> Any:
    params = {"start": str(start), "end": str(end), "rollup": rollup}
    return client.get(SAMPLES.format(series_id), params=params, headers=world.auth(who))


def write(
    client: TestClient, world: World, series_id: int, samples: list[dict[str, Any]], who: str = "op_a"
) -> Any:
    return client.post(SAMPLES.format(series_id), json={"samples": samples}, headers=world.auth(who))


def write_raw(client: TestClient, world: World, series_id: int, body: str, who: str = "op_a") -> Any:
    """Post a body as given, for the JSON that ``json=`` will not produce (NaN, Infinity, 1e400)."""
    headers = {**world.auth(who), "Content-Type": "application/json"}
    return client.post(SAMPLES.format(series_id), content=body.encode(), headers=headers)


def assert_error(r: Any, status: int) -> None:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] and err["message"] and err["message_en"]


@pytest.fixture
def series_id(client: TestClient, world: World) -> int:
    """A PM2.5 series at the air-quality sensor of commune A (hamlet Thôn Hai)."""
    return new_series(client, world)


# ----------------------------------------------------------------------------------------------------------
# Batched writes and range queries


def test_service_batched_write_then_range_query_returns_exactly_the_written_points(
    db: Database, series_id: int
) -> None:
    start = ms(2025, 6, 1)
    rows = [(series_id, start + i * 1000, (i % 977) / 8) for i in range(25_000)]
    for i in range(0, len(rows), 10_000):
        with db.session() as s:
            assert timeseries.write_samples(s, rows[i : i + 10_000]) == len(rows[i : i + 10_000])

    with db.session() as s:
        points = timeseries.query(s, series_id, start, start + 25_000 * 1000)
        assert [(series_id, p.ts, p.avg) for p in points] == rows
        assert all(p.count == 1 and p.min == p.max == p.sum == p.avg for p in points)
        # [start, end) is half-open on both ends of the data.
        inner = timeseries.query(s, series_id, start + 1000, start + 5000)
        assert [p.ts for p in inner] == [start + 1000, start + 2000, start + 3000, start + 4000]
        assert timeseries.latest(s, series_id) == (rows[-1][1], rows[-1][2])
    assert sample_count(db) == 25_000


def test_api_batched_write_then_range_query_returns_exactly_the_written_points(
    client: TestClient, world: World, series_id: int
) -> None:
    start = utc(2025, 6, 1, 10)
    written: list[tuple[str, float]] = []
    for batch in range(3):
        samples = []
        for i in range(400):
            at = start + timedelta(seconds=10 * (batch * 400 + i))
            v = round(batch * 1000 + i * 0.25, 2)
            samples.append({"t": at.isoformat(), "v": v})
            written.append((at.isoformat(), v))
        r = write(client, world, series_id, samples)
        assert r.status_code == 200, r.text
        assert r.json() == {"written": 400}

    end = start + timedelta(seconds=10 * 1200)
    r = read(client, world, series_id, start.isoformat(), end.isoformat())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["series"]["id"] == series_id and body["rollup"] == "raw"
    assert [(p["t"], p["avg"]) for p in body["points"]] == written
    assert [p["ts"] for p in body["points"]] == [to_ms(datetime.fromisoformat(t)) for t, _ in written]
    # Epoch milliseconds work as bounds too, and the end is excluded.
    r = read(client, world, series_id, to_ms(start), to_ms(start) + 30_000)
    assert [p["ts"] for p in r.json()["points"]] == [
        to_ms(start),
        to_ms(start) + 10_000,
        to_ms(start) + 20_000,
    ]


def test_times_in_any_zone_and_epoch_ms_name_the_same_instant(
    client: TestClient, world: World, series_id: int
) -> None:
    at = utc(2025, 6, 1, 3, 30)
    samples = [{"t": at.astimezone(VN).isoformat(), "v": 1.0}, {"t": to_ms(at) + 1000, "v": 2.0}]
    assert write(client, world, series_id, samples).status_code == 200
    points = read(client, world, series_id, "2025-06-01T10:00:00+07:00", "2025-06-01T11:00:00+07:00").json()[
        "points"
    ]
    assert [(p["t"], p["avg"]) for p in points] == [
        ("2025-06-01T03:30:00+00:00", 1.0),
        ("2025-06-01T03:30:01+00:00", 2.0),
    ]


# ----------------------------------------------------------------------------------------------------------
# A repeated time overwrites: the last write wins


def test_service_repeated_time_keeps_the_last_value_within_and_across_batches(
    db: Database, series_id: int
) -> None:
    t0, t1 = ms(2025, 6, 1, 8), ms(2025, 6, 1, 9)
    with db.session() as s:
        timeseries.write_samples(s, [(series_id, t0, 1.0), (series_id, t1, 5.0), (series_id, t0, 2.0)])
    with db.session() as s:
        assert [(p.ts, p.avg) for p in timeseries.query(s, series_id, t0, t1 + 1)] == [(t0, 2.0), (t1, 5.0)]
    with db.session() as s:
        timeseries.write_samples(s, [(series_id, t1, 7.0), (series_id, t1, 6.0)])
        timeseries.write_samples(s, [(series_id, t0, 3.0)])
    with db.session() as s:
        assert [(p.ts, p.avg) for p in timeseries.query(s, series_id, t0, t1 + 1)] == [(t0, 3.0), (t1, 6.0)]
    assert sample_count(db, series_id) == 2


def test_service_last_write_wins_for_many_duplicates_in_one_batch(db: Database, series_id: int) -> None:
    base = ms(2025, 6, 1)
    rows = [(series_id, base + i * 1000, float(j)) for j in range(3) for i in range(3000)]
    rows += [(series_id, base + i * 1000, float(j)) for i in range(3000, 3500) for j in range(3)]
    with db.session() as s:
        assert timeseries.write_samples(s, rows) == len(rows)
    with db.session() as s:
        points = timeseries.query(s, series_id, base, base + 3500 * 1000)
    assert len(points) == 3500
    assert {p.avg for p in points} == {2.0}


def test_api_repeated_time_overwrites_within_one_request_and_across_requests(
    client: TestClient, world: World, series_id: int, db: Database
) -> None:
    t = "2025-06-01T08:00:00+07:00"
    same_instant_ms = to_ms(datetime.fromisoformat(t))
    r = write(
        client, world, series_id, [{"t": t, "v": 1.0}, {"t": same_instant_ms, "v": 2.0}, {"t": t, "v": 3.5}]
    )
    assert r.status_code == 200, r.text
    points = read(client, world, series_id, same_instant_ms, same_instant_ms + 1).json()["points"]
    assert [(p["ts"], p["avg"]) for p in points] == [(same_instant_ms, 3.5)]

    assert write(client, world, series_id, [{"t": same_instant_ms, "v": -4.0}]).status_code == 200
    points = read(client, world, series_id, same_instant_ms, same_instant_ms + 1).json()["points"]
    assert [(p["ts"], p["avg"]) for p in points] == [(same_instant_ms, -4.0)]
    assert sample_count(db, series_id) == 1


# ----------------------------------------------------------------------------------------------------------
# Rollups on hand-computed data

# (time, value). 16:59 UTC is 23:59 on 1 June in Vietnam; 17:01 UTC is 00:01 on 2 June.
HAND = [
    (utc(2025, 6, 1, 10, 0, 0), 1.0),
    (utc(2025, 6, 1, 10, 0, 30), 3.0),
    (utc(2025, 6, 1, 10, 0, 59) + timedelta(milliseconds=999), 8.0),
    (utc(2025, 6, 1, 10, 1, 0), 5.0),
    (utc(2025, 6, 1, 10, 59, 59) + timedelta(milliseconds=999), -2.0),
    (utc(2025, 6, 1, 11, 0, 0), 10.0),
    (utc(2025, 6, 1, 16, 59), 4.0),
    (utc(2025, 6, 1, 17, 1), 6.0),
]

# rollup: (start, end, [(bucket start, avg, min, max, count, sum)])
EXPECTED = {
    "minute": (
        utc(2025, 6, 1, 10, 0),
        utc(2025, 6, 1, 10, 2),
        [(utc(2025, 6, 1, 10, 0), 4.0, 1.0, 8.0, 3, 12.0), (utc(2025, 6, 1, 10, 1), 5.0, 5.0, 5.0, 1, 5.0)],
    ),
    "hour": (
        utc(2025, 6, 1, 10),
        utc(2025, 6, 1, 12),
        [(utc(2025, 6, 1, 10), 3.0, -2.0, 8.0, 5, 15.0), (utc(2025, 6, 1, 11), 10.0, 10.0, 10.0, 1, 10.0)],
    ),
    "day": (
        utc(2025, 5, 31, 17),
        utc(2025, 6, 2, 17),
        [
            (utc(2025, 5, 31, 17), 29 / 7, -2.0, 10.0, 7, 29.0),  # 1 June, Vietnam's local day
            (utc(2025, 6, 1, 17), 6.0, 6.0, 6.0, 1, 6.0),  # 2 June
        ],
    ),
}


def assert_points(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> None:
    """Bucket times equal, numbers equal up to float rounding."""
    assert [g[0] for g in got] == [e[0] for e in expected]
    assert [g[1:] for g in got] == [pytest.approx(e[1:]) for e in expected]


@pytest.mark.parametrize("rollup", ["minute", "hour", "day"])
def test_service_rollups_on_hand_computed_data(db: Database, series_id: int, rollup: str) -> None:
    with db.session() as s:
        timeseries.write_samples(s, [(series_id, to_ms(at), v) for at, v in HAND])
    start, end, expected = EXPECTED[rollup]
    with db.session() as s:
        points = timeseries.query(s, series_id, to_ms(start), to_ms(end), rollup)
    got = [(from_ms(p.ts), p.avg, p.min, p.max, p.count, p.sum) for p in points]
    assert_points(got, expected)
    assert [type(p.count) for p in points] == [int] * len(points)


@pytest.mark.parametrize("rollup", ["minute", "hour", "day"])
def test_api_rollups_on_hand_computed_data(
    client: TestClient, world: World, series_id: int, rollup: str
) -> None:
    r = write(client, world, series_id, [{"t": at.isoformat(), "v": v} for at, v in HAND])
    assert r.status_code == 200, r.text
    start, end, expected = EXPECTED[rollup]
    r = read(client, world, series_id, start.isoformat(), end.isoformat(), rollup)
    assert r.status_code == 200, r.text
    assert r.json()["rollup"] == rollup
    got = [
        (datetime.fromisoformat(p["t"]), p["avg"], p["min"], p["max"], p["count"], p["sum"])
        for p in r.json()["points"]
    ]
    assert_points(got, expected)


def test_day_bucket_follows_vietnam_local_midnight(client: TestClient, world: World, series_id: int) -> None:
    before, after = utc(2025, 6, 1, 16, 59), utc(2025, 6, 1, 17, 1)  # 23:59 and 00:01 in Hà Nội
    assert write(
        client, world, series_id, [{"t": before.isoformat(), "v": 1.0}, {"t": after.isoformat(), "v": 2.0}]
    )
    r = read(client, world, series_id, "2025-06-01T00:00:00+07:00", "2025-06-03T00:00:00+07:00", "day")
    points = r.json()["points"]
    assert [(p["t"], p["count"], p["sum"]) for p in points] == [
        ("2025-05-31T17:00:00+00:00", 1, 1.0),  # local midnight starting 1 June
        ("2025-06-01T17:00:00+00:00", 1, 2.0),  # local midnight starting 2 June
    ]
    assert [datetime.fromisoformat(p["t"]).astimezone(VN).time().isoformat() for p in points] == [
        "00:00:00"
    ] * 2
    # In UTC both are on 1 June, and the hour rollup keeps them apart too.
    hours = read(
        client, world, series_id, before.isoformat(), (after + timedelta(hours=1)).isoformat(), "hour"
    )
    assert [p["t"] for p in hours.json()["points"]] == [
        "2025-06-01T16:00:00+00:00",
        "2025-06-01T17:00:00+00:00",
    ]


def test_unknown_rollup_and_empty_range_are_refused(client: TestClient, world: World, series_id: int) -> None:
    assert_error(read(client, world, series_id, 0, 1000, "week"), 422)
    assert_error(read(client, world, series_id, 5000, 5000), 400)
    assert_error(read(client, world, series_id, 5000, 1000), 400)
    with pytest.raises(BadRequest):
        timeseries.query(None, series_id, 0, 1000, "week")  # type: ignore[arg-type]


# ----------------------------------------------------------------------------------------------------------
# Refused input changes nothing


def test_service_refuses_non_finite_values_and_writes_nothing(db: Database, series_id: int) -> None:
    t = ms(2025, 6, 1)
    for bad in (float("nan"), float("inf"), float("-inf")):
        with pytest.raises(BadRequest), db.session() as s:
            timeseries.write_samples(s, [(series_id, t, 1.0), (series_id, t + 1000, bad)])
    assert sample_count(db) == 0


@pytest.mark.parametrize(
    "bad_value", ["NaN", "Infinity", "-Infinity", "1e400", '"NaN"', '"inf"', "null", '"x"']
)
def test_api_refuses_non_finite_values_and_writes_nothing(
    client: TestClient, world: World, series_id: int, db: Database, bad_value: str
) -> None:
    body = f'{{"samples": [{{"t": 1748736000000, "v": 1.5}}, {{"t": 1748736001000, "v": {bad_value}}}]}}'
    r = write_raw(client, world, series_id, body)
    assert 400 <= r.status_code < 500, r.text
    assert_error(r, r.status_code)
    assert sample_count(db) == 0


@pytest.mark.parametrize(
    "bad_time",
    [
        "2025-06-01T10:00:00",  # naive: which zone?
        "2025-06-01",
        "yesterday",
        "",
        "2025-13-01T00:00:00+07:00",
        "1748736000000",  # a number in a string is not epoch ms
        -1,
        10**15,
        True,
        None,
        [2025, 6, 1],
        {"t": 1},
    ],
)
def test_api_refuses_invalid_times_and_writes_nothing(
    client: TestClient, world: World, series_id: int, db: Database, bad_time: Any
) -> None:
    before = sample_count(db)
    r = write(
        client, world, series_id, [{"t": "2025-06-01T10:00:00+07:00", "v": 1.0}, {"t": bad_time, "v": 2.0}]
    )
    assert 400 <= r.status_code < 500, r.text
    assert_error(r, r.status_code)
    assert sample_count(db) == before == 0


@pytest.mark.parametrize("bad_time", ["NaN", "Infinity", "1e400"])
def test_api_refuses_non_finite_times(
    client: TestClient, world: World, series_id: int, db: Database, bad_time: str
) -> None:
    r = write_raw(client, world, series_id, f'{{"samples": [{{"t": {bad_time}, "v": 1.0}}]}}')
    assert_error(r, 400)
    assert sample_count(db) == 0


def test_api_refuses_invalid_query_bounds(client: TestClient, world: World, series_id: int) -> None:
    for start, end in [("2025-06-01T00:00:00", "2025-06-02T00:00:00+07:00"), ("soon", "later"), ("", "1000")]:
        r = read(client, world, series_id, start, end)
        assert 400 <= r.status_code < 500, r.text
        assert_error(r, r.status_code)


def test_api_refuses_malformed_bodies(client: TestClient, world: World, series_id: int, db: Database) -> None:
    for body in [
        '{"samples": []}',
        '{"samples": [{"t": 1, "v": 1, "extra": 2}]}',
        "{",
        '{"samples": "x"}',
        "[]",
    ]:
        assert_error(write_raw(client, world, series_id, body), 422)
    assert sample_count(db) == 0


def test_api_accepts_50000_samples_and_refuses_50001(
    client: TestClient, world: World, series_id: int, db: Database
) -> None:
    base = ms(2025, 6, 1)
    over = [{"t": base + i * 1000, "v": 1.0} for i in range(50_001)]
    r = write(client, world, series_id, over)
    assert_error(r, 422)
    assert sample_count(db) == 0
    r = write(client, world, series_id, over[:50_000])
    assert r.status_code == 200, r.text
    assert r.json() == {"written": 50_000}
    assert sample_count(db, series_id) == 50_000


# ----------------------------------------------------------------------------------------------------------
# Scope: who may write and read


def test_operator_of_another_commune_cannot_write(
    client: TestClient, world: World, series_id: int, db: Database
) -> None:
    r = write(client, world, series_id, [{"t": 1748736000000, "v": 1.0}], who="op_b")
    assert r.status_code in (403, 404), r.text
    assert_error(r, r.status_code)
    assert sample_count(db) == 0


@pytest.mark.parametrize("who", ["viewer_a", "leader_a"])
def test_roles_without_series_write_cannot_write(
    client: TestClient, world: World, series_id: int, db: Database, who: str
) -> None:
    # They may read the series (so it is no secret that it exists), but writing is forbidden.
    assert read(client, world, series_id, 0, 10**13, who=who).status_code == 200
    r = write(client, world, series_id, [{"t": 1748736000000, "v": 1.0}], who=who)
    assert_error(r, 403)
    assert sample_count(db) == 0


def test_operators_of_the_commune_and_its_hamlet_can_write(
    client: TestClient, world: World, series_id: int, db: Database
) -> None:
    # The series belongs to commune A; the hamlet operator's grant is narrower than the commune.
    assert write(client, world, series_id, [{"t": 1748736000000, "v": 1.0}], who="op_a").status_code == 200
    r = write(client, world, series_id, [{"t": 1748736001000, "v": 1.0}], who="op_hamlet")
    assert r.status_code in (403, 404)
    assert sample_count(db) == 1


def test_anonymous_caller_is_refused(client: TestClient, world: World, series_id: int, db: Database) -> None:
    r = client.post(SAMPLES.format(series_id), json={"samples": [{"t": 1748736000000, "v": 1.0}]})
    assert_error(r, 401)
    assert_error(client.get(SAMPLES.format(series_id), params={"start": 0, "end": 1000}), 401)
    assert sample_count(db) == 0


@pytest.mark.parametrize("who", ["op_b", "citizen", "police_a"])
def test_reading_a_series_outside_scope_is_not_found(
    client: TestClient, world: World, series_id: int, who: str
) -> None:
    assert write(client, world, series_id, [{"t": 1748736000000, "v": 1.0}]).status_code == 200
    # op_b: another commune; citizen: no series.read; police_a: commune A but only security and traffic.
    assert_error(read(client, world, series_id, 0, 10**13, who=who), 404)
    listed = client.get("/api/v1/series", headers=world.auth(who))
    assert series_id not in [s["id"] for s in (listed.json() if listed.status_code == 200 else [])]


def test_missing_series_is_not_found(client: TestClient, world: World) -> None:
    assert_error(read(client, world, 999_999, 0, 1000), 404)
    assert_error(write(client, world, 999_999, [{"t": 1, "v": 1.0}]), 404)


# ----------------------------------------------------------------------------------------------------------
# Property: the hour rollup adds up to the distinct, last-written samples

HYPO_BASE = ms(2025, 6, 1)
_keys = itertools.count()

sample_lists = st.lists(
    st.tuples(
        st.integers(0, 3 * DAY_MS - 1),  # times over three days, to the millisecond
        st.integers(-(10**6), 10**6).map(lambda i: i / 4),  # exact in binary, so sums compare exactly
    ),
    min_size=1,
    max_size=120,
).flatmap(lambda xs: st.tuples(st.just(xs), st.lists(st.integers(1, len(xs)), max_size=4)))


def _clustered(offset: int) -> int:
    # Many draws collide on round times, so last-write-wins gets exercised.
    return offset - offset % 900_000 if offset % 3 == 0 else offset


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=sample_lists)
def test_property_hour_rollup_counts_distinct_times_and_sums_last_values(
    db: Database, world: World, data: tuple[list[tuple[int, float]], list[int]]
) -> None:
    samples, cuts = data
    with db.session() as s:
        series = timeseries.Series(key=f"prop.{next(_keys)}", name="p", unit_id=world.units["A"].id)
        s.add(series)
        s.flush()
        series_id = series.id
    rows = [(series_id, HYPO_BASE + _clustered(off), v) for off, v in samples]
    bounds = sorted({0, len(rows), *cuts})
    for lo, hi in itertools.pairwise(bounds):  # random batch boundaries, one transaction per batch
        with db.session() as s:
            timeseries.write_samples(s, rows[lo:hi])

    last: dict[int, float] = {}
    for _, ts, v in rows:
        last[ts] = v
    with db.session() as s:
        hours = timeseries.query(s, series_id, HYPO_BASE, HYPO_BASE + 3 * DAY_MS, "hour")
        days = timeseries.query(s, series_id, HYPO_BASE - DAY_MS, HYPO_BASE + 4 * DAY_MS, "day")
        s.execute(delete(Sample).where(Sample.series_id == series_id))

    assert sum(p.count for p in hours) == len(last) == sum(p.count for p in days)
    assert sum(p.sum for p in hours) == sum(last.values())
    # Each bucket, against a model in Python.
    model: dict[int, list[float]] = {}
    for ts, v in last.items():
        model.setdefault(ts - ts % HOUR_MS, []).append(v)
    assert [(p.ts, p.count, p.sum, p.min, p.max) for p in hours] == [
        (b, len(vs), sum(vs), min(vs), max(vs)) for b, vs in sorted(model.items())
    ]
    for p in days:
        assert from_ms(p.ts).astimezone(VN).time().isoformat() == "00:00:00"


def test_from_ms_and_to_ms_round_trip() -> None:
    at = utc(2025, 6, 1, 10, 0, 0) + timedelta(milliseconds=1)
    assert from_ms(to_ms(at)) == at
    assert to_ms(at.astimezone(VN)) == to_ms(at)
    with pytest.raises(BadRequest):
        to_ms(datetime(2025, 6, 1, 10))
    assert (
        json.loads(json.dumps(timeseries.Point(to_ms(at), 1.0, 1.0, 1.0, 1, 1.0).as_dict()))["t"]
        == at.isoformat()
    )
