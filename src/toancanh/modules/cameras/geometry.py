"""Zones, lines and masks on a camera image (normalised coordinates 0..1) and their schedules.

A zone or mask is a simple polygon of at least 3 points; a line is a polyline of 2 or more points with a
crossing direction. Schedules: `always`, `school_hours` (school days from the working calendar, without the
summer break, 06:30-17:30) or `custom` weekly hours. The analytics pipeline asks `zone_active()`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from shapely.geometry import LineString, Polygon

from toancanh.core.errors import BadRequest
from toancanh.core.worktime import VN_TZ, WorkCalendar

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SCHOOL_HOURS = (time(6, 30), time(17, 30))
SUMMER_BREAK = (6, 7, 8)  # June to August: no school (the school year starts in September)
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d|24:00")
MAX_POINTS = 64


def check_points(kind: str, points: list[list[float]]) -> list[list[float]]:
    """The points rounded to 5 decimals, or a 400 saying what is wrong with them."""
    if not isinstance(points, list) or not all(
        isinstance(p, list | tuple)
        and len(p) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in p)
        for p in points
    ):
        raise BadRequest("Tọa độ điểm phải là các cặp [x, y]", "Points must be [x, y] pairs")
    if len(points) > MAX_POINTS:
        raise BadRequest(f"Tối đa {MAX_POINTS} điểm", f"At most {MAX_POINTS} points")
    if any(not (0.0 <= v <= 1.0) for p in points for v in p):
        raise BadRequest(
            "Tọa độ điểm phải nằm trong khung hình (0..1)", "Point coordinates must lie in the image (0..1)"
        )
    pts = [[round(float(x), 5), round(float(y), 5)] for x, y in points]
    if kind == "line":
        if len(pts) < 2:
            raise BadRequest("Vạch cần ít nhất 2 điểm", "A line needs at least 2 points")
        if LineString(pts).length == 0:
            raise BadRequest("Vạch có độ dài bằng 0", "The line has zero length")
        return pts
    if len(pts) < 3:
        raise BadRequest("Vùng cần ít nhất 3 điểm", "A zone or mask needs at least 3 points")
    poly = Polygon(pts)
    if not poly.is_valid or poly.area <= 0:
        raise BadRequest(
            "Đa giác không hợp lệ (tự cắt nhau hoặc có diện tích bằng 0)",
            "Invalid polygon (self-intersecting or of zero area)",
        )
    return pts


def check_schedule(schedule: dict[str, Any] | None) -> dict[str, Any]:
    """A normalised schedule or a 400."""
    schedule = schedule or {"type": "always"}
    kind = schedule.get("type")
    if kind in ("always", "school_hours"):
        return {"type": kind}
    if kind != "custom":
        raise BadRequest(
            "Lịch không hợp lệ: always, school_hours hoặc custom",
            "Unknown schedule: always, school_hours or custom",
        )
    weekly = schedule.get("weekly")
    if not isinstance(weekly, dict) or not weekly:
        raise BadRequest(
            "Lịch tùy chỉnh cần giờ theo ngày trong tuần", "A custom schedule needs weekly hours"
        )
    out: dict[str, list[list[str]]] = {}
    for day, spans in weekly.items():
        if day not in DAYS or not isinstance(spans, list):
            raise BadRequest(f"Ngày không hợp lệ: {day}", f"Unknown day: {day} (mon..sun)")
        for span in spans:
            if (
                not isinstance(span, list | tuple)
                or len(span) != 2
                or not all(isinstance(v, str) and _HHMM.fullmatch(v) for v in span)
                or span[0] >= span[1]
            ):
                raise BadRequest(
                    f"Khung giờ không hợp lệ: {span} (HH:MM, bắt đầu trước kết thúc)",
                    f"Invalid hours: {span} (HH:MM, start before end)",
                )
        out[day] = [[a, b] for a, b in spans]
    return {"type": "custom", "weekly": out}


def is_school_day(day: date, calendar: WorkCalendar) -> bool:
    return day.month not in SUMMER_BREAK and calendar.is_working_day(day)


def zone_active(schedule: dict[str, Any], at: datetime, calendar: WorkCalendar) -> bool:
    """Whether a zone with this schedule is watched at `at` (any aware datetime)."""
    local = at.astimezone(VN_TZ)
    kind = schedule.get("type", "always")
    if kind == "always":
        return True
    if kind == "school_hours":
        start, end = SCHOOL_HOURS
        return is_school_day(local.date(), calendar) and start <= local.time() < end
    hhmm = local.strftime("%H:%M")
    spans = schedule.get("weekly", {}).get(DAYS[local.weekday()], [])
    return any(a <= hhmm < b for a, b in spans)
