"""Reporting periods (kỳ báo cáo): one canonical string per period type, parsing and roll-up.

    day      2026-11-22
    week     2026-W47      (ISO 8601 week, Monday to Sunday)
    month    2026-11
    quarter  2026-Q4
    year     2026

A day rolls up into its week and its month; a month into its quarter; a quarter into its year. A week
belongs to no month (it may straddle two); it is counted in a month, quarter or year only when it lies
wholly inside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from toancanh.core.errors import BadRequest

PeriodType = Literal["day", "week", "month", "quarter", "year"]
PERIOD_TYPES: tuple[PeriodType, ...] = ("day", "week", "month", "quarter", "year")
_ORDER = {t: i for i, t in enumerate(PERIOD_TYPES)}

_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")
MIN_YEAR, MAX_YEAR = 1900, 2200


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period: its type and its first and last day (both inclusive)."""

    start: date
    end: date
    type: PeriodType

    def __str__(self) -> str:
        return format_period(self)

    @property
    def code(self) -> str:
        return format_period(self)

    def contains(self, other: Period) -> bool:
        return self.start <= other.start and other.end <= self.end

    def previous(self) -> Period:
        return period_of(self.start - timedelta(days=1), self.type)

    def next(self) -> Period:
        return period_of(self.end + timedelta(days=1), self.type)

    def days(self) -> int:
        return (self.end - self.start).days + 1


def _bad(value: str) -> BadRequest:
    return BadRequest(
        f"Kỳ báo cáo không hợp lệ: '{value[:40]}' (ví dụ 2026-11-22, 2026-W47, 2026-11, 2026-Q4, 2026)",
        f"Invalid period: '{value[:40]}' (e.g. 2026-11-22, 2026-W47, 2026-11, 2026-Q4, 2026)",
        code="bad_period",
    )


def parse_period(value: str) -> Period:
    """The period a canonical string names; BadRequest for anything else (no guessing of formats)."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        if m := _DAY.match(text):
            d = date(int(m[1]), int(m[2]), int(m[3]))
            p = period_of(d, "day")
        elif m := _WEEK.match(text):
            p = _week(int(m[1]), int(m[2]))
        elif m := _MONTH.match(text):
            p = period_of(date(int(m[1]), int(m[2]), 1), "month")
        elif m := _QUARTER.match(text):
            p = period_of(date(int(m[1]), 3 * int(m[2]) - 2, 1), "quarter")
        elif m := _YEAR.match(text):
            p = period_of(date(int(m[1]), 1, 1), "year")
        else:
            raise _bad(str(value))
    except ValueError as exc:  # 2026-02-30, 2026-13, week 54
        raise _bad(text) from exc
    if not MIN_YEAR <= p.start.year <= MAX_YEAR:
        raise _bad(text)
    return p


def _week(year: int, week: int) -> Period:
    start = date.fromisocalendar(year, week, 1)
    return Period(start, start + timedelta(days=6), "week")


def period_of(d: date, type_: str) -> Period:
    """The period of type `type_` that contains day `d`."""
    if type_ == "day":
        return Period(d, d, "day")
    if type_ == "week":
        start = d - timedelta(days=d.weekday())
        return Period(start, start + timedelta(days=6), "week")
    if type_ == "month":
        start = d.replace(day=1)
        nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
        return Period(start, nxt - timedelta(days=1), "month")
    if type_ == "quarter":
        first = 3 * ((d.month - 1) // 3) + 1
        start = date(d.year, first, 1)
        nxt = date(d.year + (first == 10), (first + 2) % 12 + 1, 1)
        return Period(start, nxt - timedelta(days=1), "quarter")
    if type_ == "year":
        return Period(date(d.year, 1, 1), date(d.year, 12, 31), "year")
    raise BadRequest(f"Loại kỳ không hợp lệ: {type_}", f"Invalid period type: {type_}")


def format_period(p: Period) -> str:
    d = p.start
    if p.type == "day":
        return d.isoformat()
    if p.type == "week":
        iso = d.isocalendar()
        return f"{iso.year:04d}-W{iso.week:02d}"
    if p.type == "month":
        return f"{d.year:04d}-{d.month:02d}"
    if p.type == "quarter":
        return f"{d.year:04d}-Q{(d.month - 1) // 3 + 1}"
    return f"{d.year:04d}"


def roll_up(p: Period, type_: str) -> Period:
    """The coarser period of `type_` that holds `p` (a day's month, a month's year ...)."""
    if _ORDER[type_] < _ORDER[p.type]:  # type: ignore[index]
        raise BadRequest(
            f"Không thể gộp kỳ {p.type} lên {type_}", f"Cannot roll a {p.type} up into a {type_}"
        )
    if p.type == "week" and type_ != "week":
        raise BadRequest("Tuần không gộp vào tháng/quý/năm", "A week does not roll up into a month")
    return period_of(p.start, type_)


def periods_between(first: Period, last: Period) -> list[Period]:
    """The periods of `first`'s type from `first` to `last`, both included."""
    out, p = [], first
    while p.start <= last.start:
        out.append(p)
        p = p.next()
    return out


def last_n(p: Period, n: int) -> list[Period]:
    """`n` periods ending with `p`, oldest first."""
    out = [p]
    while len(out) < n:
        out.append(out[-1].previous())
    return out[::-1]


def finer_or_equal(a: str, b: str) -> bool:
    return _ORDER[a] <= _ORDER[b]  # type: ignore[index]


def current(type_: str, today: date) -> Period:
    return period_of(today, type_)
