"""Pages of the work calendar and meetings: the weekly schedule `/direction/calendar?week=2026-W48` (and its
PDF), a meeting's page `/direction/meetings/{id}` (agenda, invitees, documents, minutes, conclusions -> tasks)
and the paperless meeting screen `/direction/meetings/{id}/screen` for tablets (current item, documents,
speaking requests, votes). Plain forms with the session's CSRF token call the same services as the API; a
refused step shows the page again with the reason and changes nothing."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.api.deps import SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.auth.scope import Principal
from toancanh.core.errors import AppError, BadRequest
from toancanh.core.units import Agency
from toancanh.core.worktime import VN_TZ
from toancanh.modules.direction import (
    calendar,
    calendar_pdf,
    calendar_week,
    meetings,
    meetings_floor,
    meetings_view,
)
from toancanh.modules.direction.calendar_pdf import WEEKDAYS
from toancanh.modules.direction.calendar_schemas import ConclusionIn, MinutesIn
from toancanh.modules.direction.web import _csrf_ok, _forbidden, _t, vn
from toancanh.web import render
from toancanh.web.pages import locale_of, page_principal

router = APIRouter(prefix="/direction")
WEEK = r"^\d{4}-W\d{2}$"
ATTENDANCE_LABELS = {
    "invited": ("Được mời", "Invited"),
    "present": ("Có mặt", "Present"),
    "absent": ("Vắng", "Absent"),
    "delegated": ("Cử người dự thay", "Delegated"),
}
STATE_LABELS = {
    "planned": ("Sắp diễn ra", "Upcoming"),
    "in_progress": ("Đang họp", "In progress"),
    "finished": ("Đã kết thúc", "Finished"),
}
ACTIONS = (
    "speak",
    "grant",
    "withdraw",
    "vote",
    "close",
    "ballot",
    "item",
    "start",
    "finish",
    "minutes",
    "conclude",
)


def _labels(table: dict[str, tuple[str, str]], locale: str) -> dict[str, str]:
    i = 0 if locale == "vi" else 1
    return {k: v[i] for k, v in table.items()}


def _week(request: Request, db: Session, principal: Principal, week: str | None, unit: int | None) -> Any:
    monday = calendar_week.parse_week(week, datetime.now(VN_TZ).date())
    return calendar_week.week(db, principal, unit or calendar_week.default_unit(db, principal), monday)


@router.get("/calendar")
def week_page(
    request: Request,
    db: SessionDep,
    week: str | None = Query(default=None, pattern=WEEK),
    unit: DbId | None = None,
) -> Any:
    """The weekly schedule: Monday..Sunday, morning and afternoon, a row per leader or agency."""
    principal = page_principal(request, db, calendar.READ)
    if isinstance(principal, Response):
        return principal
    locale = locale_of(request)
    try:
        data = _week(request, db, principal, week, unit)
    except AppError as exc:
        msg = exc.message if locale == "vi" else exc.message_en
        return render(request, "error.html", {"title": str(exc.status), "message": msg}, exc.status)
    i = 0 if locale == "vi" else 1
    days = [(d, WEEKDAYS[n][i], date.fromisoformat(d).strftime("%d/%m")) for n, d in enumerate(data["days"])]
    upcoming = meetings_view.list_meetings(db, principal, limit=20)
    ctx = {
        "t": _t(locale),
        "vn": vn,
        "w": data,
        "days": days,
        "meetings": [meetings_view.brief(db, m) for m in upcoming],
        "state_label": _labels(STATE_LABELS, locale),
        "can_write": principal.has(calendar.WRITE),
    }
    return render(request, "direction/calendar.html", ctx)


@router.get("/calendar.pdf")
def week_pdf(
    request: Request,
    db: SessionDep,
    week: str | None = Query(default=None, pattern=WEEK),
    unit: DbId | None = None,
) -> Any:
    principal = page_principal(request, db, calendar.READ)
    if isinstance(principal, Response):
        return principal
    data = _week(request, db, principal, week, unit)
    pdf = calendar_pdf.week_pdf(data, locale_of(request))
    disposition = f'inline; filename="lich_cong_tac_{data["week"]}.pdf"'
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})


def _meeting_page(
    request: Request, db: Session, principal: Principal, meeting_id: int, template: str, error: str = ""
) -> Any:
    locale = locale_of(request)
    m = meetings.get_meeting(db, principal, meeting_id)
    d = meetings_view.detail(db, principal, m)
    current = next((it for it in d["items"] if it["id"] == d["current_item_id"]), None)
    agencies = []
    if d["can_chair"]:
        agencies = list(db.execute(select(Agency.id, Agency.name).where(Agency.active).order_by(Agency.name)))
    names = dict((a[0], a[1]) for a in agencies)
    ctx = {
        "t": _t(locale),
        "vn": vn,
        "m": d,
        "current": current,
        "agencies": agencies[:300],
        "agency_name": names,
        "attendance_label": _labels(ATTENDANCE_LABELS, locale),
        "state_label": _labels(STATE_LABELS, locale),
        "error": error,
    }
    return render(request, template, ctx, 400 if error else 200)


@router.get("/meetings/{meeting_id}")
def meeting_page(meeting_id: DbId, request: Request, db: SessionDep) -> Any:
    """A meeting: time and place, agenda, invitees and attendance, documents, minutes and conclusions."""
    principal = page_principal(request, db, calendar.READ)
    if isinstance(principal, Response):
        return principal
    return _meeting_page(request, db, principal, meeting_id, "direction/meeting.html")


@router.get("/meetings/{meeting_id}/screen")
def screen(meeting_id: DbId, request: Request, db: SessionDep) -> Any:
    """The paperless meeting screen, for a tablet."""
    principal = page_principal(request, db, calendar.READ)
    if isinstance(principal, Response):
        return principal
    return _meeting_page(request, db, principal, meeting_id, "direction/screen.html")


def _int(value: str, field: str) -> int:
    if not value.isdigit() or len(value) > 18:
        raise BadRequest(f"Thiếu hoặc sai {field}", f"Missing or invalid {field}", details={field: value})
    return int(value)


@router.post("/meetings/{meeting_id}/act")
def act(
    meeting_id: DbId,
    request: Request,
    db: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    action: Annotated[str, Form(max_length=20)] = "",
    target: Annotated[str, Form(max_length=20)] = "",
    text: Annotated[str, Form(max_length=50_000)] = "",
    agency_id: Annotated[str, Form(max_length=20)] = "",
    deadline: Annotated[str, Form(max_length=10)] = "",
    conclusion: Annotated[str, Form(max_length=300)] = "",
    back: Annotated[str, Form(max_length=10)] = "page",
) -> Any:
    """One step from the meeting page or the screen; back to where it came from."""
    principal = page_principal(request, db, calendar.READ)
    if isinstance(principal, Response):
        return principal
    if not _csrf_ok(request, csrf):
        return _forbidden(request)
    template = "direction/screen.html" if back == "screen" else "direction/meeting.html"
    try:
        m = meetings.get_meeting(db, principal, meeting_id)
        if action not in ACTIONS:
            raise BadRequest("Thao tác không hợp lệ", "Unknown action", details={"action": action})
        if action == "speak":
            meetings_floor.raise_hand(db, principal, m, None)
        elif action in ("grant", "withdraw"):
            meetings_floor.answer_request(db, principal, m, _int(target, "target"), action == "grant")
        elif action == "vote":
            if not 3 <= len(text.strip()) <= 500:
                raise BadRequest("Câu hỏi biểu quyết 3-500 ký tự", "A vote question has 3-500 characters")
            meetings_floor.open_vote(db, principal, m, text)
        elif action == "close":
            meetings_floor.close_vote(db, principal, m, _int(target, "target"))
        elif action == "ballot":
            vote_id, _, choice = target.partition(":")
            if choice not in ("yes", "no", "abstain"):
                raise BadRequest("Lựa chọn không hợp lệ", "Invalid choice", details={"choice": choice})
            meetings_floor.cast(db, principal, m, _int(vote_id, "target"), choice)
        elif action == "item":
            meetings.set_state(db, principal, m, None, _int(target, "target"))
        elif action in ("start", "finish"):
            meetings.set_state(db, principal, m, "in_progress" if action == "start" else "finished", None)
        elif action == "minutes":
            _minutes(db, principal, m, text, agency_id, deadline, conclusion)
        else:
            meetings.conclude(db, request.app.state.workflow, principal, m, text.strip()[:60] or "")
    except (AppError, ValidationError) as exc:
        db.rollback()
        locale = locale_of(request)
        if isinstance(exc, AppError):
            msg = exc.message if locale == "vi" else exc.message_en
        else:
            msg = "; ".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in exc.errors())
        if isinstance(exc, AppError) and exc.status == 404:
            return render(request, "error.html", {"title": "404"}, 404)
        return _meeting_page(request, db, principal, meeting_id, template, error=msg)
    suffix = "/screen" if back == "screen" else ""
    return RedirectResponse(f"/direction/meetings/{meeting_id}{suffix}", status_code=303)


def _minutes(
    db: Session, principal: Principal, m: Any, text: str, agency_id: str, deadline: str, conclusion: str
) -> None:
    """Save the minutes, adding one conclusion when its text, lead agency and deadline are given."""
    kept = [
        ConclusionIn.model_validate({k: c[k] for k in ("text", "lead_agency_id", "deadline", "domain")})
        for c in m.conclusions
        if not c.get("task_id")
    ]
    if conclusion.strip():
        kept.append(
            ConclusionIn.model_validate(
                {
                    "text": conclusion.strip(),
                    "lead_agency_id": _int(agency_id, "agency_id"),
                    "deadline": deadline,
                }
            )
        )
    meetings.save_minutes(db, principal, m, MinutesIn(minutes=text, conclusions=kept))
