"""The floor of a meeting in progress, from the paperless screen: speaking requests (đăng ký phát biểu) that
attendees raise and the chair grants, and simple votes (biểu quyết) the chair opens and closes, one ballot
per attendee (yes / no / abstain) with the tally."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from toancanh.core.auth.scope import Principal
from toancanh.core.db import utcnow
from toancanh.core.errors import Conflict, NotFound
from toancanh.modules.direction.calendar_models import Meeting, MeetingBallot, MeetingVote, SpeakingRequest
from toancanh.modules.direction.meetings import can_chair, is_attendee, record, require


def _running(meeting: Meeting) -> None:
    if meeting.state != "in_progress":
        raise Conflict("Cuộc họp chưa bắt đầu hoặc đã kết thúc", "The meeting is not in progress")


def raise_hand(
    db: Session, principal: Principal, meeting: Meeting, item_id: int | None, *, now: datetime | None = None
) -> SpeakingRequest:
    """An attendee asks to speak; one waiting request each."""
    require(is_attendee(db, principal, meeting), "Chỉ người dự họp", "Attendees only")
    _running(meeting)
    waiting = select(SpeakingRequest.id).where(
        SpeakingRequest.meeting_id == meeting.id,
        SpeakingRequest.user_id == principal.user_id,
        SpeakingRequest.status == "waiting",
    )
    if db.scalar(waiting) is not None:
        raise Conflict("Bạn đã đăng ký phát biểu", "You have already asked to speak")
    req = SpeakingRequest(
        meeting_id=meeting.id,
        user_id=principal.user_id,
        item_id=item_id or meeting.current_item_id,
        raised_at=now or utcnow(),
    )
    db.add(req)
    db.flush()
    record(db, principal, meeting, "speak", request_id=req.id)
    return req


def answer_request(
    db: Session,
    principal: Principal,
    meeting: Meeting,
    request_id: int,
    grant: bool,
    *,
    now: datetime | None = None,
) -> SpeakingRequest:
    """The chair gives the floor (grant) or the speaker withdraws (or the chair removes) a request."""
    req = db.get(SpeakingRequest, request_id)
    if req is None or req.meeting_id != meeting.id:
        raise NotFound("Không có yêu cầu phát biểu này", "No such speaking request")
    chair = can_chair(db, principal, meeting)
    require(chair or (not grant and req.user_id == principal.user_id), "Chỉ chủ trì", "Only the chair")
    if req.status != "waiting":
        raise Conflict("Yêu cầu này đã được xử lý", "This request was already answered")
    req.status = "granted" if grant else "withdrawn"
    req.granted_at = (now or utcnow()) if grant else None
    db.flush()
    record(db, principal, meeting, "floor", request_id=req.id, status=req.status)
    return req


def open_vote(db: Session, principal: Principal, meeting: Meeting, question: str) -> MeetingVote:
    require(can_chair(db, principal, meeting), "Chỉ chủ trì", "Only the chair")
    _running(meeting)
    vote = MeetingVote(meeting_id=meeting.id, question=question.strip())
    db.add(vote)
    db.flush()
    record(db, principal, meeting, "vote_open", vote_id=vote.id)
    return vote


def _vote(db: Session, meeting: Meeting, vote_id: int) -> MeetingVote:
    vote = db.get(MeetingVote, vote_id)
    if vote is None or vote.meeting_id != meeting.id:
        raise NotFound("Không có biểu quyết này", "No such vote")
    return vote


def close_vote(db: Session, principal: Principal, meeting: Meeting, vote_id: int) -> MeetingVote:
    require(can_chair(db, principal, meeting), "Chỉ chủ trì", "Only the chair")
    vote = _vote(db, meeting, vote_id)
    if not vote.is_open:
        raise Conflict("Biểu quyết đã đóng", "The vote is closed")
    vote.is_open, vote.closed_at = False, utcnow()
    db.flush()
    record(db, principal, meeting, "vote_close", vote_id=vote.id, tally=tally(db, vote.id))
    return vote


def cast(db: Session, principal: Principal, meeting: Meeting, vote_id: int, choice: str) -> MeetingBallot:
    """One attendee's vote; a second one is refused (409)."""
    require(is_attendee(db, principal, meeting), "Chỉ người dự họp được biểu quyết", "Attendees only")
    vote = _vote(db, meeting, vote_id)
    if not vote.is_open:
        raise Conflict("Biểu quyết đã đóng", "The vote is closed")
    taken = select(MeetingBallot.id).where(
        MeetingBallot.vote_id == vote.id, MeetingBallot.user_id == principal.user_id
    )
    if db.scalar(taken) is not None:
        raise Conflict("Bạn đã biểu quyết", "You have already voted")
    ballot = MeetingBallot(vote_id=vote.id, user_id=principal.user_id, choice=choice)
    try:
        with db.begin_nested():
            db.add(ballot)
            db.flush()
    except IntegrityError:  # the same vote twice at once
        raise Conflict("Bạn đã biểu quyết", "You have already voted") from None
    record(db, principal, meeting, "ballot", vote_id=vote.id)
    return ballot


def tally(db: Session, vote_id: int) -> dict[str, int]:
    counts = Counter(db.scalars(select(MeetingBallot.choice).where(MeetingBallot.vote_id == vote_id)))
    return {
        "yes": counts["yes"],
        "no": counts["no"],
        "abstain": counts["abstain"],
        "total": sum(counts.values()),
    }
