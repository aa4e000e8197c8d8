"""The form that books a calendar entry (thêm lịch công tác) from the weekly schedule:
`/direction/calendar/new`, for whoever may write the calendar of a unit. A plain form posted to the server,
the same checks as the API (`calendar.create_entry`: owners and participants of the unit, end after start,
at most 14 days); a refused form is shown again with the reasons and the values typed, changing nothing."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.api.deps import SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.auth.models import Grant, User
from toancanh.core.auth.scope import Principal, scoped
from toancanh.core.errors import AppError
from toancanh.core.units import Agency, Unit
from toancanh.core.worktime import VN_TZ
from toancanh.modules.direction import calendar, calendar_week
from toancanh.modules.direction.calendar_schemas import EntryIn
from toancanh.modules.direction.web import _t
from toancanh.web import render
from toancanh.web.pages import csrf_ok, form_errors, locale_of, page_principal

router = APIRouter(prefix="/direction")
Short = Annotated[str, Form(max_length=300)]
Clock = Annotated[str, Form(max_length=5)]
Day = Annotated[str, Form(max_length=10)]
Ids = Annotated[list[str] | None, Form(max_length=60)]


def _units(db: Session, principal: Principal) -> list[Unit]:
    return list(db.scalars(scoped(select(Unit), principal, Unit, calendar.WRITE).order_by(Unit.path)))


def _people(db: Session, unit: Unit) -> list[tuple[int, str]]:
    """Who can own or attend an entry of `unit`: active people with a grant on it, leaders first."""
    rows = db.execute(
        select(User.id, User.full_name, User.username, Grant.role)
        .join(Grant, Grant.user_id == User.id)
        .where(Grant.unit_id == unit.id, User.active.is_(True), User.is_service.is_(False))
        .where(Grant.role.in_(("leader", "operator", "agency_staff")))
    ).all()
    order = {"leader": 0, "operator": 1, "agency_staff": 2}
    seen: dict[int, tuple[int, str]] = {}
    for uid, full, username, role in rows:
        rank = order[role]
        if uid not in seen or rank < seen[uid][0]:
            seen[uid] = (rank, full or username)
    return [(uid, name) for uid, (_, name) in sorted(seen.items(), key=lambda kv: (kv[1][0], kv[1][1]))]


def _agencies(db: Session, unit: Unit) -> list[tuple[int, str]]:
    rows = db.execute(
        select(Agency.id, Agency.name).join(Unit, Unit.id == Agency.unit_id).where(Agency.active)
    ).all()
    paths = dict(
        db.execute(select(Agency.id, Unit.path).join(Unit, Unit.id == Agency.unit_id)).tuples().all()
    )
    return sorted(
        ((i, n) for i, n in rows if paths[i].startswith(unit.path) or unit.path.startswith(paths[i])),
        key=lambda r: r[1],
    )


def _context(request: Request, db: Session, principal: Principal, values: dict[str, Any]) -> dict[str, Any]:
    units = _units(db, principal)
    unit = next((u for u in units if str(u.id) == values.get("unit_id")), units[0] if units else None)
    return {
        "t": _t(locale_of(request)),
        "v": values,
        "units": units,
        "unit": unit,
        "people": _people(db, unit) if unit else [],
        "agencies": _agencies(db, unit) if unit else [],
        "errors": [],
    }


@router.get("/calendar/new")
def new_page(
    request: Request, db: SessionDep, unit: DbId | None = None, day: date | None = Query(None)
) -> Any:
    principal = page_principal(request, db, calendar.WRITE)
    if isinstance(principal, Response):
        return principal
    today = day or datetime.now(VN_TZ).date()
    values: dict[str, Any] = {
        "unit_id": str(unit or ""),
        "day": today.isoformat(),
        "end_day": "",
        "start": "08:00",
        "end": "10:00",
        "owner": "",
        "participants": [],
        "published": True,
    }
    ctx = _context(request, db, principal, values)
    if ctx["unit"] is None:
        return render(request, "error.html", {"title": "403"}, 403)
    values["unit_id"] = str(ctx["unit"].id)
    return render(request, "direction/calendar_form.html", ctx)


def _moment(day: str, clock: str) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.fromisoformat(clock), tzinfo=VN_TZ)


@router.post("/calendar/new")
def create(
    request: Request,
    db: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    unit_id: Annotated[str, Form(max_length=20)] = "",
    title: Short = "",
    place: Short = "",
    day: Day = "",
    end_day: Day = "",
    start: Clock = "",
    end: Clock = "",
    owner: Annotated[str, Form(max_length=24)] = "",
    participants: Ids = None,
    host: Annotated[str, Form(max_length=200)] = "",
    notes: Annotated[str, Form(max_length=5000)] = "",
    published: Annotated[str, Form(max_length=5)] = "",
) -> Any:
    principal = page_principal(request, db, calendar.WRITE)
    if isinstance(principal, Response):
        return principal
    if not csrf_ok(request, csrf):
        return render(request, "error.html", {"title": "403"}, 403)
    values = {
        "unit_id": unit_id, "title": title, "place": place, "day": day, "end_day": end_day, "start": start,
        "end": end, "owner": owner, "participants": participants or [], "host": host, "notes": notes,
        "published": published == "on",
    }  # fmt: skip
    try:
        kind, _, owner_id = owner.partition(":")
        if kind not in ("u", "a") or not owner_id.isdecimal():
            raise AppError("Chọn lãnh đạo hoặc cơ quan chủ trì", "Choose the leader or agency it belongs to")
        users = [int(p[2:]) for p in values["participants"] if p.startswith("u:") and p[2:].isdecimal()]
        agencies = [int(p[2:]) for p in values["participants"] if p.startswith("a:") and p[2:].isdecimal()]
        body = EntryIn(
            unit_id=int(unit_id or 0),
            title=title.strip(),
            place=place.strip(),
            starts_at=_moment(day, start),
            ends_at=_moment(end_day or day, end),
            owner_user_id=int(owner_id) if kind == "u" else None,
            owner_agency_id=int(owner_id) if kind == "a" else None,
            participant_user_ids=users,
            participant_agency_ids=agencies,
            host=host.strip(),
            notes=notes.strip(),
            published=values["published"],
        )
        entry = calendar.create_entry(db, principal, body)
        db.commit()
    except (AppError, ValidationError, ValueError) as exc:
        db.rollback()
        ctx = _context(request, db, principal, values)
        ctx["errors"] = form_errors(exc, locale_of(request))
        return render(request, "direction/calendar_form.html", ctx, 400)
    week = calendar_week.week_label(entry.starts_at.astimezone(VN_TZ).date())
    return RedirectResponse(f"/direction/calendar?week={week}&unit={entry.unit_id}", status_code=303)
