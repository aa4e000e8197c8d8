"""What a meeting page, the paperless screen and the API show of a meeting: its entry, agenda, invitees and
attendance, documents, the speaking queue, votes with their tally, minutes and conclusions, and what the
caller may do."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal
from toancanh.core.files import Blob
from toancanh.core.units import Agency
from toancanh.modules.direction import calendar
from toancanh.modules.direction.calendar_models import (
    CalendarEntry,
    Meeting,
    MeetingBallot,
    MeetingDocument,
    MeetingInvitee,
    MeetingItem,
    MeetingVote,
    SpeakingRequest,
)
from toancanh.modules.direction.meetings import can_chair, can_prepare, is_attendee, scoped_meetings
from toancanh.modules.direction.meetings_floor import tally


def brief(db: Session, m: Meeting) -> dict[str, Any]:
    entry = db.get_one(CalendarEntry, m.entry_id)
    return {
        "id": m.id,
        "unit_id": m.unit_id,
        "title": m.title,
        "state": m.state,
        "chair_id": m.chair_id,
        "entry_id": m.entry_id,
        "starts_at": entry.starts_at.isoformat(),
        "ends_at": entry.ends_at.isoformat(),
        "place": entry.place,
        "directive_id": m.directive_id,
    }


def detail(db: Session, principal: Principal, meeting: Meeting) -> dict[str, Any]:
    entry = calendar.summaries(db, [db.get_one(CalendarEntry, meeting.entry_id)])[0]
    items = list(
        db.scalars(
            select(MeetingItem).where(MeetingItem.meeting_id == meeting.id).order_by(MeetingItem.position)
        )
    )
    invitees = list(
        db.scalars(
            select(MeetingInvitee).where(MeetingInvitee.meeting_id == meeting.id).order_by(MeetingInvitee.id)
        )
    )
    uids = {i.user_id for i in invitees if i.user_id} | {meeting.chair_id}
    speaking = list(
        db.scalars(
            select(SpeakingRequest)
            .where(SpeakingRequest.meeting_id == meeting.id)
            .order_by(SpeakingRequest.raised_at, SpeakingRequest.id)
        )
    )
    uids |= {s.user_id for s in speaking}
    users = {
        i: n or u
        for i, n, u in db.execute(select(User.id, User.full_name, User.username).where(User.id.in_(uids)))
    }
    aids = {i.agency_id for i in invitees if i.agency_id}
    agencies = dict(db.execute(select(Agency.id, Agency.name).where(Agency.id.in_(aids))).tuples().all())
    docs = list(
        db.scalars(
            select(MeetingDocument)
            .where(MeetingDocument.meeting_id == meeting.id)
            .order_by(MeetingDocument.id)
        )
    )
    blobs = {b.sha256: b for b in db.scalars(select(Blob).where(Blob.sha256.in_([d.sha256 for d in docs])))}
    votes = list(
        db.scalars(select(MeetingVote).where(MeetingVote.meeting_id == meeting.id).order_by(MeetingVote.id))
    )
    mine = dict(
        db.execute(
            select(MeetingBallot.vote_id, MeetingBallot.choice).where(
                MeetingBallot.user_id == principal.user_id, MeetingBallot.vote_id.in_([v.id for v in votes])
            )
        )
        .tuples()
        .all()
    )
    return {
        "id": meeting.id,
        "unit_id": meeting.unit_id,
        "title": meeting.title,
        "state": meeting.state,
        "chair_id": meeting.chair_id,
        "chair": users.get(meeting.chair_id, ""),
        "entry": entry,
        "current_item_id": meeting.current_item_id,
        "items": [
            {
                "id": i.id,
                "position": i.position,
                "title": i.title,
                "presenter": i.presenter,
                "minutes": i.minutes,
            }
            for i in items
        ],
        "invitees": [
            {
                "id": i.id,
                "user_id": i.user_id,
                "agency_id": i.agency_id,
                "name": users.get(i.user_id, "") if i.user_id else agencies.get(i.agency_id or 0, ""),
                "attendance": i.attendance,
                "delegate": i.delegate,
            }
            for i in invitees
        ],
        "documents": [
            {
                "id": d.id,
                "sha256": d.sha256,
                "title": d.title,
                "content_type": blobs[d.sha256].content_type if d.sha256 in blobs else "",
                "url": f"/api/v1/files/{d.sha256}",
            }
            for d in docs
        ],
        "speaking": [
            {
                "id": s.id,
                "user_id": s.user_id,
                "name": users.get(s.user_id, ""),
                "status": s.status,
                "raised_at": s.raised_at.isoformat(),
                "item_id": s.item_id,
            }
            for s in speaking
        ],
        "votes": [
            {
                "id": v.id,
                "question": v.question,
                "open": v.is_open,
                "tally": tally(db, v.id),
                "my_choice": mine.get(v.id),
            }
            for v in votes
        ],
        "minutes": meeting.minutes,
        "conclusions": meeting.conclusions,
        "directive_id": meeting.directive_id,
        "can_prepare": can_prepare(db, principal, meeting),
        "can_chair": can_chair(db, principal, meeting),
        "is_chair": principal.user_id == meeting.chair_id,
        "is_attendee": is_attendee(db, principal, meeting),
    }


def list_meetings(
    db: Session,
    principal: Principal,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[Meeting]:
    stmt = scoped_meetings(principal).join(CalendarEntry, CalendarEntry.id == Meeting.entry_id)
    if since is not None:
        stmt = stmt.where(CalendarEntry.ends_at > since)
    if until is not None:
        stmt = stmt.where(CalendarEntry.starts_at < until)
    return list(db.scalars(stmt.order_by(CalendarEntry.starts_at.desc(), Meeting.id.desc()).limit(limit)))
