"""Working-time calendar (*lịch làm việc*) for SLA deadlines.

Every case type with a deadline (citizen field reports, incidents, directed tasks) counts its time limit in
*working* time of the Vietnamese public administration: office hours on working days, in the
``Asia/Ho_Chi_Minh`` time zone (UTC+7, no daylight saving time).

A day is a working day unless it is, in this order of precedence:

1. one of ``extra_days_off`` (e.g. a province's announced extra day off): always off;
2. a public holiday from the ``holidays`` package, country ``"VN"`` (New Year, Tết Nguyên Đán, Hùng Kings'
   commemoration day, 30/4, 1/5, 2/9 ...): off, even if it is also listed as a makeup workday;
3. a makeup workday (*ngày làm bù*): one of ``makeup_workdays``, or (when ``package_makeup_workdays`` is
   true) a weekend day that the ``holidays`` package records as worked to swap for a bridge holiday: working;
4. a ``weekend`` day: off.

Within a working day, the working time is the union of the half-open periods ``[start, end)`` of
``office_hours`` (by default 07:30-11:30 and 13:00-17:00, 8 hours, the lunch break excluded).

All public functions accept timezone-aware datetimes in any zone (naive datetimes raise :class:`ValueError`)
and return aware datetimes in ``Asia/Ho_Chi_Minh``. Computations run on integer microseconds, stepping by
office period and by day, never minute by minute.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

__all__ = ["VN_TZ", "WorkCalendar"]

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
"""The time zone of every datetime this module returns."""

DEFAULT_OFFICE_HOURS: tuple[tuple[time, time], ...] = (
    (time(7, 30), time(11, 30)),
    (time(13, 0), time(17, 0)),
)
DEFAULT_WEEKEND: frozenset[int] = frozenset({5, 6})

_US_PER_SECOND = 1_000_000
_US_PER_HOUR = 3600 * _US_PER_SECOND
_ONE_DAY = timedelta(days=1)


def _to_local(dt: datetime, name: str = "dt") -> datetime:
    """Return ``dt`` as a naive wall-clock datetime in Asia/Ho_Chi_Minh; reject naive input."""
    if not isinstance(dt, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(dt).__name__}")
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(
            f"{name} must be a timezone-aware datetime (got naive {dt.isoformat()}); "
            "attach a tzinfo, e.g. dt.replace(tzinfo=ZoneInfo('Asia/Ho_Chi_Minh'))"
        )
    return dt.astimezone(VN_TZ).replace(tzinfo=None)


def _to_aware(local: datetime) -> datetime:
    return local.replace(tzinfo=VN_TZ)


def _time_us(t: time) -> int:
    """Microseconds since midnight of a wall-clock time."""
    return ((t.hour * 60 + t.minute) * 60 + t.second) * _US_PER_SECOND + t.microsecond


def _span_us(a: datetime, b: datetime) -> int:
    """Exact microseconds from naive ``a`` to naive ``b``."""
    delta = b - a
    return (delta.days * 86_400 + delta.seconds) * _US_PER_SECOND + delta.microseconds


def _hours_to_us(hours: float, name: str = "hours") -> int:
    if isinstance(hours, bool) or not isinstance(hours, int | float):
        raise TypeError(f"{name} must be a number, got {type(hours).__name__}")
    if not math.isfinite(hours):
        raise ValueError(f"{name} must be finite, got {hours!r}")
    if hours < 0:
        raise ValueError(f"{name} must be >= 0, got {hours!r}")
    if isinstance(hours, int):
        return hours * _US_PER_HOUR
    return round(hours * _US_PER_HOUR)


@dataclass(frozen=True)
class WorkCalendar:
    """The working-time calendar (*lịch làm việc*): office hours, weekend, public holidays and exceptions.

    Instances are immutable and hashable; public holidays are computed lazily per year and cached on the
    instance. Set arguments accept any set-like iterable and are stored as frozensets.
    """

    office_hours: Sequence[tuple[time, time]] = DEFAULT_OFFICE_HOURS
    """Working periods of a working day, as ``(start, end)`` wall-clock times; half-open ``[start, end)``."""
    weekend: AbstractSet[int] = DEFAULT_WEEKEND
    """Weekday numbers (Monday = 0) that are off unless listed as makeup workdays."""
    extra_days_off: AbstractSet[date] = frozenset()
    """Dates that are always off (province announcements, swapped bridge days)."""
    makeup_workdays: AbstractSet[date] = frozenset()
    """Dates that are working days even on a weekend (*ngày làm bù*); public holidays still win."""
    country: str | None = "VN"
    """Country code for the ``holidays`` package; ``None`` disables public holidays."""
    package_makeup_workdays: bool = True
    """Also treat the weekend workdays recorded by the ``holidays`` package as makeup workdays."""

    _year_cache: dict[int, tuple[frozenset[date], frozenset[date]]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    _period_us: tuple[tuple[int, int], ...] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        periods = tuple((start, end) for start, end in self.office_hours)
        if not periods:
            raise ValueError("office_hours must contain at least one (start, end) period")
        for start, end in periods:
            if not isinstance(start, time) or not isinstance(end, time):
                raise TypeError("office_hours periods must be (datetime.time, datetime.time) pairs")
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("office_hours times must be naive wall-clock times (no tzinfo)")
            if not start < end:
                raise ValueError(f"office_hours period {start}-{end} must have start < end")
        periods = tuple(sorted(periods))
        for (_, prev_end), (next_start, _) in zip(periods, periods[1:], strict=False):
            if next_start < prev_end:
                raise ValueError("office_hours periods must not overlap")
        weekend = frozenset(self.weekend)
        if not weekend <= set(range(7)):
            raise ValueError(f"weekend must hold weekday numbers 0..6, got {sorted(weekend)}")
        if len(weekend) == 7:
            raise ValueError("weekend cannot contain all seven weekdays")
        object.__setattr__(self, "office_hours", periods)
        object.__setattr__(self, "weekend", weekend)
        object.__setattr__(self, "extra_days_off", frozenset(self.extra_days_off))
        object.__setattr__(self, "makeup_workdays", frozenset(self.makeup_workdays))
        object.__setattr__(self, "_period_us", tuple((_time_us(s), _time_us(e)) for s, e in periods))

    @classmethod
    def default(cls) -> WorkCalendar:
        """The standard calendar: 07:30-11:30 and 13:00-17:00, Saturday and Sunday off, VN public holidays."""
        return cls()

    # ----------------------------------------------------------------------------------------- properties

    @property
    def seconds_per_day(self) -> int:
        """Working seconds in one working day (28 800 for the default office hours)."""
        return self._us_per_day // _US_PER_SECOND

    @property
    def hours_per_day(self) -> float:
        """Working hours in one working day (8.0 for the default office hours)."""
        return self._us_per_day / _US_PER_HOUR

    @property
    def _us_per_day(self) -> int:
        return sum(end - start for start, end in self._period_us)

    # ----------------------------------------------------------------------------------------- days

    def public_holidays(self, year: int) -> frozenset[date]:
        """The public holidays of ``year`` from the ``holidays`` package (empty if ``country`` is None)."""
        return self._year(year)[0]

    def _year(self, year: int) -> tuple[frozenset[date], frozenset[date]]:
        cached = self._year_cache.get(year)
        if cached is None:
            if self.country is None:
                cached = (frozenset(), frozenset())
            else:
                table = holidays.country_holidays(self.country, years=year)
                days_off = frozenset(d for d in table if d.year == year)
                workdays: frozenset[date] = frozenset()
                if self.package_makeup_workdays:
                    recorded: Iterable[date] = getattr(table, "weekend_workdays", ()) or ()
                    workdays = frozenset(d for d in recorded if d.year == year)
                cached = (days_off, workdays)
            self._year_cache[year] = cached
        return cached

    def is_working_day(self, d: date) -> bool:
        """Whether ``d`` is a working day (an aware datetime is first converted to Asia/Ho_Chi_Minh)."""
        if isinstance(d, datetime):
            d = _to_local(d, "d").date()
        if d in self.extra_days_off:
            return False
        holidays_of_year, package_workdays = self._year(d.year)
        if d in holidays_of_year:
            return False
        if d in self.makeup_workdays or d in package_workdays:
            return True
        return d.weekday() not in self.weekend

    # ----------------------------------------------------------------------------------------- moments

    def is_working_time(self, dt: datetime) -> bool:
        """Whether ``dt`` lies inside office hours (``start <= t < end``) of a working day."""
        local = _to_local(dt)
        if not self.is_working_day(local.date()):
            return False
        t = _time_us(local.time())
        return any(start <= t < end for start, end in self._period_us)

    def next_working_moment(self, dt: datetime) -> datetime:
        """``dt`` itself if it is working time, else the start of the next office period."""
        return _to_aware(self._next_moment(_to_local(dt)))

    def _next_moment(self, local: datetime) -> datetime:
        """First working instant at or after naive local ``local``."""
        day = local.date()
        if self.is_working_day(day):
            t = _time_us(local.time())
            for start, end in self._period_us:
                if t < end:
                    if t >= start:
                        return local
                    return self._at(day, start)
        day += _ONE_DAY
        while not self.is_working_day(day):
            day += _ONE_DAY
        return self._at(day, self._period_us[0][0])

    @staticmethod
    def _at(day: date, us: int) -> datetime:
        return datetime(day.year, day.month, day.day) + timedelta(microseconds=us)

    # ----------------------------------------------------------------------------------------- arithmetic

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment ``hours`` working hours after ``start``.

        Counting begins at ``next_working_moment(start)`` (so adding 0 hours returns that moment). ``hours``
        may be fractional and must be >= 0. A result that falls exactly at the end of an office period is
        returned as that end (e.g. 17:00), not as the start of the next period.
        """
        return _to_aware(self._add_us(_to_local(start, "start"), _hours_to_us(hours)))

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The moment ``days`` full working days after ``start``.

        Convention: a working day is ``hours_per_day`` working hours, so this equals
        ``add_working_hours(start, days * hours_per_day)``. Friday 10:00 + 1 day is Monday 10:00; a start
        outside office hours first moves to the next working moment, so Friday 18:00 + 1 day is Monday
        17:00 (the end of Monday).
        """
        if isinstance(days, bool) or not isinstance(days, int):
            raise TypeError(f"days must be an int, got {type(days).__name__}")
        if days < 0:
            raise ValueError(f"days must be >= 0, got {days}")
        return _to_aware(self._add_us(_to_local(start, "start"), days * self._us_per_day))

    def close_of(self, d: date) -> datetime:
        """The close of office hours on ``d`` (17:00 by default), in Vietnam's time zone."""
        return datetime.combine(d, self.office_hours[-1][1], tzinfo=VN_TZ)

    def close_after_working_days(self, start: datetime, days: int) -> datetime:
        """The close of the ``days``-th working day after the day of ``start``: "within N working days" of
        an administrative deadline counts whole days from the next day on, unlike `add_working_days`, which
        adds working time. Tuesday + 1 is Wednesday 17:00, whatever the hour on Tuesday."""
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise ValueError(f"days must be a whole number >= 1, got {days!r}")
        day = _to_local(start, "start").date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return self.close_of(day)

    def _add_us(self, local: datetime, remaining: int) -> datetime:
        cur = self._next_moment(local)
        while True:
            day = cur.date()
            t = _time_us(cur.time())
            # cur is working time, so exactly one period contains it.
            end = next(e for s, e in self._period_us if s <= t < e)
            available = end - t
            if remaining <= available:
                return cur + timedelta(microseconds=remaining)
            remaining -= available
            period_end = self._at(day, end)
            # Skip whole working days at once when possible.
            nxt = self._next_moment(period_end)
            per_day = self._us_per_day
            first_start = self._period_us[0][0]
            while remaining > per_day and _time_us(nxt.time()) == first_start:
                remaining -= per_day
                day_after = nxt.date() + _ONE_DAY
                nxt = self._next_moment(datetime(day_after.year, day_after.month, day_after.day))
            cur = nxt

    def working_seconds_between(self, a: datetime, b: datetime) -> float:
        """Working seconds elapsed from ``a`` to ``b`` (0.0 if ``b <= a``)."""
        return self._between_us(_to_local(a, "a"), _to_local(b, "b")) / _US_PER_SECOND

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        """Working hours elapsed from ``a`` to ``b`` (0.0 if ``b <= a``)."""
        return self._between_us(_to_local(a, "a"), _to_local(b, "b")) / _US_PER_HOUR

    def _between_us(self, a: datetime, b: datetime) -> int:
        if b <= a:
            return 0
        total = 0
        day = a.date()
        last = b.date()
        per_day = self._us_per_day
        while day <= last:
            if self.is_working_day(day):
                lo = _time_us(a.time()) if day == a.date() else 0
                hi = _time_us(b.time()) if day == last else None
                if lo == 0 and hi is None:
                    total += per_day
                else:
                    for start, end in self._period_us:
                        s = max(start, lo)
                        e = end if hi is None else min(end, hi)
                        if e > s:
                            total += e - s
            day += _ONE_DAY
        return total
