"""Tests for the working-time calendar (lịch làm việc) used by SLA deadlines."""

from __future__ import annotations

import time as wallclock
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toancanh.core.worktime import VN_TZ, WorkCalendar

CAL = WorkCalendar.default()


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ)


# --------------------------------------------------------------------------------------- holidays package


def test_holidays_package_vn_2025_2026() -> None:
    """What ``holidays`` (0.109) returns for VN, as relied on by the concrete cases below.

    2025: 1/1; Tết 27/1-1/2; Hùng Kings 7/4; 30/4; 1/5; 2/5 (swapped with Saturday 26/4, a makeup workday);
    1/9-2/9.
    2026: 1/1; Tết 16/2-20/2 (Mon-Fri, with the weekends around them off: 14/2-22/2); Hùng Kings Sunday
    26/4 observed Monday 27/4; 30/4 (Thu); 1/5 (Fri); 31/8 (swapped with Saturday 22/8, a makeup workday);
    1/9-2/9; 24/11 (Vietnam Culture Day).
    """
    h2026 = CAL.public_holidays(2026)
    expected_2026 = {
        date(2026, 1, 1),
        *(date(2026, 2, d) for d in range(16, 21)),
        date(2026, 4, 26),
        date(2026, 4, 27),
        date(2026, 4, 30),
        date(2026, 5, 1),
        date(2026, 9, 1),
        date(2026, 9, 2),
    }
    assert expected_2026 <= h2026
    h2025 = CAL.public_holidays(2025)
    assert {
        date(2025, 1, 29),
        date(2025, 4, 7),
        date(2025, 4, 30),
        date(2025, 5, 1),
        date(2025, 9, 2),
    } <= h2025
    assert all(d.year == 2026 for d in h2026)


def test_package_makeup_workday_saturday_is_working() -> None:
    # Saturday 26/4/2025 was worked to swap for Friday 2/5/2025 (recorded by the holidays package).
    assert CAL.is_working_day(date(2025, 4, 26))
    assert not CAL.is_working_day(date(2025, 5, 2))
    assert not WorkCalendar(package_makeup_workdays=False).is_working_day(date(2025, 4, 26))


# --------------------------------------------------------------------------------------- days


def test_is_working_day_basics() -> None:
    assert CAL.is_working_day(date(2025, 3, 7))  # Friday
    assert not CAL.is_working_day(date(2025, 3, 8))  # Saturday
    assert not CAL.is_working_day(date(2025, 3, 9))  # Sunday
    assert not CAL.is_working_day(date(2026, 9, 2))  # National Day
    # An aware datetime is converted to Vietnam time first: Friday 20:00 UTC is Saturday 03:00 in Hà Nội.
    assert not CAL.is_working_day(datetime(2025, 3, 7, 20, 0, tzinfo=UTC))


def test_precedence_of_makeup_and_days_off() -> None:
    sat = date(2025, 3, 8)
    holiday_on_weekday = date(2026, 4, 30)
    cal = WorkCalendar(makeup_workdays={sat, holiday_on_weekday}, extra_days_off={date(2025, 3, 15)})
    assert cal.is_working_day(sat)  # makeup wins over weekend
    assert not cal.is_working_day(holiday_on_weekday)  # but not over a public holiday
    both = WorkCalendar(makeup_workdays={sat}, extra_days_off={sat})
    assert not both.is_working_day(sat)  # extra days off always off


def test_hours_per_day_and_configuration() -> None:
    assert CAL.hours_per_day == 8.0
    assert CAL.seconds_per_day == 28_800
    custom = WorkCalendar(office_hours=[(time(13, 30), time(17, 0)), (time(8, 0), time(12, 0))])
    assert custom.hours_per_day == 7.5
    assert custom.office_hours == ((time(8, 0), time(12, 0)), (time(13, 30), time(17, 0)))
    assert hash(WorkCalendar.default()) == hash(CAL)
    assert WorkCalendar.default() == CAL


@pytest.mark.parametrize(
    "kwargs",
    [
        {"office_hours": ()},
        {"office_hours": ((time(9, 0), time(8, 0)),)},
        {"office_hours": ((time(8, 0), time(12, 0)), (time(11, 0), time(14, 0)))},
        {"weekend": set(range(7))},
        {"weekend": {7}},
    ],
)
def test_invalid_configuration(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        WorkCalendar(**kwargs)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------- moments


def test_is_working_time_half_open_periods() -> None:
    assert CAL.is_working_time(vn(2025, 3, 7, 7, 30))
    assert CAL.is_working_time(vn(2025, 3, 7, 11, 29))
    assert not CAL.is_working_time(vn(2025, 3, 7, 11, 30))
    assert not CAL.is_working_time(vn(2025, 3, 7, 12, 0))
    assert CAL.is_working_time(vn(2025, 3, 7, 13, 0))
    assert not CAL.is_working_time(vn(2025, 3, 7, 17, 0))
    assert not CAL.is_working_time(vn(2025, 3, 8, 9, 0))  # Saturday
    assert CAL.is_working_time(datetime(2025, 3, 7, 2, 0, tzinfo=UTC))  # 09:00 in Vietnam


def test_next_working_moment() -> None:
    assert CAL.next_working_moment(vn(2025, 3, 7, 9, 15)) == vn(2025, 3, 7, 9, 15)
    assert CAL.next_working_moment(vn(2025, 3, 7, 6, 0)) == vn(2025, 3, 7, 7, 30)
    assert CAL.next_working_moment(vn(2025, 3, 7, 12, 0)) == vn(2025, 3, 7, 13, 0)
    assert CAL.next_working_moment(vn(2025, 3, 7, 11, 30)) == vn(2025, 3, 7, 13, 0)
    assert CAL.next_working_moment(vn(2025, 3, 7, 17, 0)) == vn(2025, 3, 10, 7, 30)
    result = CAL.next_working_moment(datetime(2025, 3, 7, 12, 0, tzinfo=UTC))  # Friday 19:00 in Vietnam
    assert result == vn(2025, 3, 10, 7, 30)
    assert result.tzinfo == VN_TZ


# --------------------------------------------------------------------------------------- concrete deadlines


def test_friday_afternoon_plus_two_hours_is_monday_morning() -> None:
    assert CAL.add_working_hours(vn(2025, 3, 7, 16, 0), 2) == vn(2025, 3, 10, 8, 30)


def test_lunch_break_is_skipped() -> None:
    assert CAL.add_working_hours(vn(2025, 3, 6, 11, 0), 1) == vn(2025, 3, 6, 13, 30)
    assert CAL.add_working_hours(vn(2025, 3, 6, 12, 15), 0.5) == vn(2025, 3, 6, 13, 30)


def test_result_at_period_end_is_kept() -> None:
    assert CAL.add_working_hours(vn(2025, 3, 6, 16, 0), 1) == vn(2025, 3, 6, 17, 0)
    assert CAL.add_working_hours(vn(2025, 3, 6, 10, 30), 1) == vn(2025, 3, 6, 11, 30)
    assert CAL.add_working_hours(vn(2025, 3, 6, 7, 30), 8) == vn(2025, 3, 6, 17, 0)


def test_zero_hours_starts_at_next_working_moment() -> None:
    assert CAL.add_working_hours(vn(2025, 3, 6, 9, 0), 0) == vn(2025, 3, 6, 9, 0)
    assert CAL.add_working_hours(vn(2025, 3, 8, 9, 0), 0) == vn(2025, 3, 10, 7, 30)


def test_fractional_hours() -> None:
    assert CAL.add_working_hours(vn(2025, 3, 6, 9, 0), 0.25) == vn(2025, 3, 6, 9, 15)
    assert CAL.add_working_hours(vn(2025, 3, 6, 9, 0), 1 / 3) == vn(2025, 3, 6, 9, 20)


def test_deadline_across_tet_2026_skips_whole_holiday() -> None:
    # Friday 13/2/2026 16:00; Tết 16-20/2 plus both weekends are off: next working day Monday 23/2.
    assert CAL.add_working_hours(vn(2026, 2, 13, 16, 0), 2) == vn(2026, 2, 23, 8, 30)
    assert CAL.working_hours_between(vn(2026, 2, 13, 17, 0), vn(2026, 2, 23, 7, 30)) == 0


def test_reunification_and_labour_day_skipped() -> None:
    # Wednesday 29/4/2026 16:00; 30/4 (Thu) and 1/5 (Fri) off, then the weekend.
    assert CAL.add_working_hours(vn(2026, 4, 29, 16, 0), 2) == vn(2026, 5, 4, 8, 30)


def test_hung_kings_day_skipped() -> None:
    # 2025: Monday 7/4.
    assert CAL.add_working_hours(vn(2025, 4, 4, 16, 0), 2) == vn(2025, 4, 8, 8, 30)
    # 2026: Sunday 26/4, observed Monday 27/4.
    assert CAL.add_working_hours(vn(2026, 4, 24, 16, 0), 2) == vn(2026, 4, 28, 8, 30)


def test_makeup_workday_on_saturday_counts() -> None:
    cal = WorkCalendar(makeup_workdays={date(2025, 3, 8)})
    assert cal.add_working_hours(vn(2025, 3, 7, 16, 0), 2) == vn(2025, 3, 8, 8, 30)
    assert cal.working_hours_between(vn(2025, 3, 7, 0, 0), vn(2025, 3, 10, 0, 0)) == 16


def test_extra_day_off_skipped() -> None:
    cal = WorkCalendar(extra_days_off={date(2025, 3, 10)})
    assert cal.add_working_hours(vn(2025, 3, 7, 16, 0), 2) == vn(2025, 3, 11, 8, 30)


def test_add_working_days_convention() -> None:
    assert CAL.add_working_days(vn(2025, 3, 7, 10, 0), 1) == vn(2025, 3, 10, 10, 0)
    assert CAL.add_working_days(vn(2025, 3, 7, 18, 0), 1) == vn(2025, 3, 10, 17, 0)
    assert CAL.add_working_days(vn(2025, 3, 7, 10, 0), 0) == vn(2025, 3, 7, 10, 0)
    start = vn(2025, 3, 5, 14, 10)
    for n in (1, 3, 10, 57):
        assert CAL.add_working_days(start, n) == CAL.add_working_hours(start, n * CAL.hours_per_day)


def test_thousand_working_days_is_fast() -> None:
    start = vn(2024, 1, 2, 9, 0)
    t0 = wallclock.perf_counter()
    end = CAL.add_working_days(start, 1000)
    elapsed = wallclock.perf_counter() - t0
    assert CAL.working_seconds_between(start, end) == 1000 * 28_800
    assert end.time() == time(9, 0)
    assert elapsed < 1.0


def test_working_between_basics() -> None:
    assert CAL.working_hours_between(vn(2025, 3, 6, 9, 0), vn(2025, 3, 6, 9, 0)) == 0
    assert CAL.working_hours_between(vn(2025, 3, 7, 9, 0), vn(2025, 3, 6, 9, 0)) == 0
    assert CAL.working_hours_between(vn(2025, 3, 6, 11, 0), vn(2025, 3, 6, 14, 0)) == 1.5
    assert CAL.working_hours_between(vn(2025, 3, 3), vn(2025, 3, 10)) == 40
    assert CAL.working_seconds_between(vn(2025, 3, 6, 9, 0), vn(2025, 3, 6, 9, 0) + timedelta(seconds=7)) == 7


def test_naive_datetime_raises() -> None:
    naive = datetime(2025, 3, 7, 9, 0)
    aware = vn(2025, 3, 7, 9, 0)
    calls: list[Callable[[], object]] = [
        lambda: CAL.is_working_time(naive),
        lambda: CAL.next_working_moment(naive),
        lambda: CAL.add_working_hours(naive, 1),
        lambda: CAL.add_working_days(naive, 1),
        lambda: CAL.working_seconds_between(naive, aware),
        lambda: CAL.working_hours_between(aware, naive),
        lambda: CAL.is_working_day(naive),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="timezone-aware"):
            call()


@pytest.mark.parametrize("hours", [-1, -0.001, float("nan"), float("inf")])
def test_bad_hours_raise(hours: float) -> None:
    with pytest.raises(ValueError):
        CAL.add_working_hours(vn(2025, 3, 7, 9, 0), hours)


def test_negative_days_raise() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(vn(2025, 3, 7, 9, 0), -1)


# --------------------------------------------------------------------------------------- properties

_ZONES = st.sampled_from([VN_TZ, UTC, ZoneInfo("Europe/Paris")])
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31, 23, 59), timezones=_ZONES
).map(lambda d: d.replace(second=0, microsecond=0))
hours_st = st.floats(min_value=0, max_value=500, allow_nan=False, allow_infinity=False)
PERIOD_ENDS = {end for _, end in CAL.office_hours}


@settings(max_examples=200, deadline=None)
@given(start=moments, h=hours_st)
def test_between_inverts_add(start: datetime, h: float) -> None:
    end = CAL.add_working_hours(start, h)
    assert end.tzinfo == VN_TZ
    assert end >= start
    assert CAL.working_seconds_between(start, end) == pytest.approx(h * 3600, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(start=moments, h1=hours_st, h2=hours_st)
def test_add_is_monotonic(start: datetime, h1: float, h2: float) -> None:
    lo, hi = sorted((h1, h2))
    assert CAL.add_working_hours(start, lo) <= CAL.add_working_hours(start, hi)


@settings(max_examples=200, deadline=None)
@given(start=moments, h=hours_st)
def test_result_inside_working_time_or_at_period_end(start: datetime, h: float) -> None:
    end = CAL.add_working_hours(start, h)
    at_period_end = CAL.is_working_day(end.date()) and end.timetz().replace(tzinfo=None) in PERIOD_ENDS
    assert CAL.is_working_time(end) or at_period_end


@settings(max_examples=200, deadline=None)
@given(a=moments, b=moments, c=moments)
def test_between_is_additive(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    whole = CAL.working_seconds_between(a, c)
    assert whole == pytest.approx(
        CAL.working_seconds_between(a, b) + CAL.working_seconds_between(b, c), abs=1e-6
    )
    assert CAL.working_seconds_between(c, a) == 0


@settings(max_examples=100, deadline=None)
@given(start=moments)
def test_next_working_moment_is_working_time(start: datetime) -> None:
    moment = CAL.next_working_moment(start)
    assert moment >= start
    assert CAL.is_working_time(moment)
    assert CAL.working_seconds_between(start, moment) == 0
