"""The work calendar and meetings over HTTP: /api/v1/calendar (entries, the week of a unit and its PDF) and
/api/v1/meetings (prepare, run, vote, minutes, conclusions -> tasks); every read scoped."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.worktime import VN_TZ
from toancanh.modules.direction import (
    calendar,
    calendar_pdf,
    calendar_week,
    meetings,
    meetings_floor,
    meetings_view,
)
from toancanh.modules.direction.calendar_schemas import (
    AttendanceIn,
    BallotIn,
    ConcludeIn,
    DocumentIn,
    EntryIn,
    EntryPatch,
    MeetingIn,
    MinutesIn,
    SpeakIn,
    StateIn,
    VoteIn,
)

entries = APIRouter(prefix="/api/v1/calendar", tags=["direction"])
meeting_router = APIRouter(prefix="/api/v1/meetings", tags=["direction"])
WEEK = r"^\d{4}-W\d{2}$"


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "vi"


@entries.get("")
def list_entries(
    db: SessionDep,
    principal: CurrentPrincipal,
    unit: DbId | None = None,
    from_: Annotated[dt.datetime | None, Query(alias="from")] = None,
    to: dt.datetime | None = None,
    published: bool | None = None,
    limit: int = Query(default=500, ge=1, le=1000),
) -> list[dict[str, Any]]:
    """Entries overlapping [from, to), by start, each with its conflicts."""
    principal.require(calendar.READ)
    since = from_.replace(tzinfo=from_.tzinfo or VN_TZ) if from_ else None
    until = to.replace(tzinfo=to.tzinfo or VN_TZ) if to else None
    rows = calendar.list_entries(
        db, principal, unit_id=unit, since=since, until=until, published=published, limit=limit
    )
    return calendar.summaries(db, rows)


@entries.post("", status_code=201)
def create_entry(body: EntryIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    """Book an entry (leaders, clerks: calendar.write on the unit); a conflict is flagged, not refused."""
    principal.require(calendar.WRITE)
    entry = calendar.create_entry(db, principal, body)
    return calendar.summaries(db, [entry])[0]


@entries.get("/week")
def week(
    db: SessionDep,
    principal: CurrentPrincipal,
    unit: DbId | None = None,
    week: str | None = Query(default=None, pattern=WEEK),
) -> dict[str, Any]:
    """The weekly schedule of a unit (default: the caller's), Monday..Sunday in Vietnamese time."""
    principal.require(calendar.READ)
    monday = calendar_week.parse_week(week, dt.datetime.now(VN_TZ).date())
    unit_id = unit or calendar_week.default_unit(db, principal)
    return calendar_week.week(db, principal, unit_id, monday)


@entries.get("/week.pdf")
def week_pdf(
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    unit: DbId | None = None,
    week: str | None = Query(default=None, pattern=WEEK),
) -> Response:
    principal.require(calendar.READ)
    monday = calendar_week.parse_week(week, dt.datetime.now(VN_TZ).date())
    data = calendar_week.week(db, principal, unit or calendar_week.default_unit(db, principal), monday)
    pdf = calendar_pdf.week_pdf(data, _lang(request))
    name = f"lich_cong_tac_{data['week']}.pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'}
    )


@entries.get("/{entry_id}")
def entry_detail(entry_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return calendar.summaries(db, [calendar.get_entry(db, principal, entry_id)])[0]


@entries.patch("/{entry_id}")
def update_entry(
    entry_id: DbId, body: EntryPatch, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    entry = calendar.update_entry(db, principal, calendar.get_entry(db, principal, entry_id), body)
    return calendar.summaries(db, [entry])[0]


@entries.delete("/{entry_id}", status_code=204)
def delete_entry(entry_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> Response:
    calendar.delete_entry(db, principal, calendar.get_entry(db, principal, entry_id))
    return Response(status_code=204)


# ------------------------------------------------------------------------------------------- meetings


@meeting_router.get("")
def list_meetings(
    db: SessionDep,
    principal: CurrentPrincipal,
    from_: Annotated[dt.datetime | None, Query(alias="from")] = None,
    to: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    principal.require(calendar.READ)
    rows = meetings_view.list_meetings(db, principal, since=from_, until=to)
    return [meetings_view.brief(db, m) for m in rows]


@meeting_router.post("", status_code=201)
def create_meeting(
    body: MeetingIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    principal.require(calendar.WRITE)
    m = meetings.create_meeting(db, request.app.state.blobs, principal, body)
    return meetings_view.detail(db, principal, m)


@meeting_router.get("/{meeting_id}")
def meeting_detail(meeting_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return meetings_view.detail(db, principal, meetings.get_meeting(db, principal, meeting_id))


@meeting_router.post("/{meeting_id}/documents", status_code=201)
def add_document(
    meeting_id: DbId, body: DocumentIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    m = meetings.get_meeting(db, principal, meeting_id)
    meetings.add_document(db, request.app.state.blobs, principal, m, body.sha256, body.title)
    return meetings_view.detail(db, principal, m)


@meeting_router.post("/{meeting_id}/attendance")
def attendance(
    meeting_id: DbId, body: AttendanceIn, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    m = meetings.get_meeting(db, principal, meeting_id)
    meetings.set_attendance(db, principal, m, body.invitee_id, body.attendance, body.delegate)
    return meetings_view.detail(db, principal, m)


@meeting_router.post("/{meeting_id}/state")
def state(meeting_id: DbId, body: StateIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    m = meetings.get_meeting(db, principal, meeting_id)
    meetings.set_state(db, principal, m, body.state, body.current_item_id)
    return meetings_view.detail(db, principal, m)


@meeting_router.post("/{meeting_id}/speaking", status_code=201)
def speak(meeting_id: DbId, body: SpeakIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    m = meetings.get_meeting(db, principal, meeting_id)
    req = meetings_floor.raise_hand(db, principal, m, body.item_id)
    return {"id": req.id, "status": req.status}


@meeting_router.post("/{meeting_id}/speaking/{request_id}/{answer}")
def answer(
    meeting_id: DbId,
    request_id: DbId,
    answer: Annotated[str, Path(pattern="^(grant|withdraw)$")],
    db: SessionDep,
    principal: CurrentPrincipal,
) -> dict[str, Any]:
    m = meetings.get_meeting(db, principal, meeting_id)
    req = meetings_floor.answer_request(db, principal, m, request_id, answer == "grant")
    return {"id": req.id, "status": req.status}


@meeting_router.post("/{meeting_id}/votes", status_code=201)
def open_vote(meeting_id: DbId, body: VoteIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    m = meetings.get_meeting(db, principal, meeting_id)
    vote = meetings_floor.open_vote(db, principal, m, body.question)
    return {"id": vote.id, "question": vote.question, "open": vote.is_open}


@meeting_router.post("/{meeting_id}/votes/{vote_id}/close")
def close_vote(
    meeting_id: DbId, vote_id: DbId, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    m = meetings.get_meeting(db, principal, meeting_id)
    vote = meetings_floor.close_vote(db, principal, m, vote_id)
    return {"id": vote.id, "open": vote.is_open, "tally": meetings_floor.tally(db, vote.id)}


@meeting_router.post("/{meeting_id}/votes/{vote_id}/ballot", status_code=201)
def ballot(
    meeting_id: DbId, vote_id: DbId, body: BallotIn, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    m = meetings.get_meeting(db, principal, meeting_id)
    meetings_floor.cast(db, principal, m, vote_id, body.choice)
    return {"vote_id": vote_id, "choice": body.choice, "tally": meetings_floor.tally(db, vote_id)}


@meeting_router.put("/{meeting_id}/minutes")
def minutes(meeting_id: DbId, body: MinutesIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    m = meetings.get_meeting(db, principal, meeting_id)
    meetings.save_minutes(db, principal, m, body)
    return meetings_view.detail(db, principal, m)


@meeting_router.post("/{meeting_id}/conclude", status_code=201)
def conclude(
    meeting_id: DbId, body: ConcludeIn, request: Request, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The open conclusions become a directive of kind "conclusion" with one task each, in one step."""
    m = meetings.get_meeting(db, principal, meeting_id)
    return meetings.conclude(db, request.app.state.workflow, principal, m, body.number)
