"""The official weekly schedule (lịch công tác tuần) of a unit: Monday 00:00 to the next Monday 00:00 in
Vietnamese time, a row per leader (then per agency), each day's entries split into morning (before 12:00)
and afternoon, conflicts flagged."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.auth.scope import Principal
from toancanh.core.errors import BadRequest
from toancanh.core.units import Unit, get_unit
from toancanh.core.worktime import VN_TZ
from toancanh.modules.direction.calendar import READ, list_entries, summaries
from toancanh.modules.direction.calendar_models import CalendarEntry

WEEK_RE = re.compile(r"^(\d{4})-W(\d{2})$")
NOON = time(12, 0)


def parse_week(value: str | None, today: date) -> date:
    """The Monday of an ISO week "2026-W48" (default: this week)."""
    if not value:
        return today - timedelta(days=today.weekday())
    m = WEEK_RE.match(value)
    try:
        if m is None:
            raise ValueError(value)
        return date.fromisocalendar(int(m[1]), int(m[2]), 1)
    except ValueError:
        raise BadRequest(
            "Tuần không hợp lệ, dạng 2026-W48", "Invalid week, expected 2026-W48", details={"week": value}
        ) from None


def week_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(monday: date) -> tuple[datetime, datetime]:
    """Monday 00:00 to the next Monday 00:00, Vietnamese time."""
    start = datetime.combine(monday, time(0, 0), tzinfo=VN_TZ)
    return start, start + timedelta(days=7)


def week(
    db: Session, principal: Principal, unit_id: int, monday: date, *, published_only: bool = False
) -> dict[str, Any]:
    """The weekly schedule of a unit: days Monday..Sunday, and per owner (leaders first, then agencies)
    the entries of each day's morning (before 12:00) and afternoon, in Vietnamese time."""
    unit = get_unit(db, unit_id)
    start, end = week_bounds(monday)
    entries = list_entries(
        db, principal, unit_id=unit.id, since=start, until=end, published=True if published_only else None
    )
    return _layout(unit, monday, summaries(db, entries))


# What the public schedule shows of an entry: what an official weekly schedule prints, not the internal notes,
# the conflicts or the people's ids.
PUBLIC_FIELDS = ("title", "place", "starts_at", "ends_at", "owner", "participants", "host")


def public_week(db: Session, unit_id: int, monday: date) -> dict[str, Any]:
    """The published entries of a unit's week, for everyone (lịch công tác tuần công khai)."""
    unit = get_unit(db, unit_id)
    start, end = week_bounds(monday)
    entries = db.scalars(
        select(CalendarEntry)
        .where(
            CalendarEntry.unit_id == unit.id,
            CalendarEntry.published.is_(True),
            CalendarEntry.ends_at > start,
            CalendarEntry.starts_at < end,
        )
        .order_by(CalendarEntry.starts_at, CalendarEntry.id)
        .limit(500)
    ).all()
    rows = [
        {
            **{k: r[k] for k in PUBLIC_FIELDS},
            "owner_user_id": bool(r["owner_user_id"]),  # only whether a leader or an agency: the row order
            "owner_agency_id": bool(r["owner_agency_id"]),
            "conflict": False,
            "meeting_id": None,
        }
        for r in summaries(db, entries)
    ]
    return _layout(unit, monday, rows)


def public_units(db: Session) -> list[Unit]:
    """The units that have published a schedule."""
    ids = select(CalendarEntry.unit_id).where(CalendarEntry.published.is_(True)).distinct()
    return list(db.scalars(select(Unit).where(Unit.id.in_(ids)).order_by(Unit.path)))


def _layout(unit: Unit, monday: date, rows: list[dict[str, Any]]) -> dict[str, Any]:
    days = [monday + timedelta(days=i) for i in range(7)]
    owners: dict[tuple[int, str, Any], dict[str, Any]] = {}
    for r in rows:
        local = datetime.fromisoformat(r["starts_at"]).astimezone(VN_TZ)
        day = max(local.date(), monday)  # an entry begun last week shows on Monday
        period = "morning" if local.date() == day and local.time() < NOON else "afternoon"
        if local.date() < monday:
            period = "morning"
        key = (
            (0, r["owner"], r["owner_user_id"])
            if r["owner_user_id"]
            else (1, r["owner"], r["owner_agency_id"])
        )
        row = owners.setdefault(
            key, {"name": r["owner"], "kind": "user" if key[0] == 0 else "agency", "cells": {}}
        )
        row["cells"].setdefault(day.isoformat(), {"morning": [], "afternoon": []})[period].append(r)
    return {
        "unit": {"id": unit.id, "name": unit.name, "code": unit.code},
        "week": week_label(monday),
        "previous": week_label(monday - timedelta(days=7)),
        "next": week_label(monday + timedelta(days=7)),
        "days": [d.isoformat() for d in days],
        "rows": [owners[k] for k in sorted(owners)],
        "entries": rows,
        "conflicts": sum(1 for r in rows if r["conflict"]),
    }


def default_unit(db: Session, principal: Principal) -> int:
    """The caller's own unit: that of their widest grant to read (a commune for its leaders and staff);
    for the national grants, the first unit that has a calendar."""
    paths = sorted((g.unit_path for g in principal.grants_for(READ) if g.unit_path != "/"), key=len)
    unit_id = db.scalar(select(Unit.id).where(Unit.path == paths[0])) if paths else None
    if unit_id is None:
        unit_id = db.scalar(select(CalendarEntry.unit_id).order_by(CalendarEntry.id).limit(1))
    if unit_id is None:
        raise BadRequest("Chọn một đơn vị", "Choose a unit", details={"unit": None})
    return int(unit_id)
