"""Meetings (cuộc họp): a calendar entry with an agenda, invitees and their attendance, documents sent before
the meeting, the paperless screen's speaking requests and simple votes, minutes and conclusions; the chair
turns the conclusions into a directive of kind "conclusion" with one task each, in one step.

Who may do what: clerks and leaders (calendar.write on the unit) prepare the meeting; the chair (or a
calendar.write holder) runs it: the current item, granting the floor, opening and closing votes; attendees
(invited users, staff of invited agencies) raise speaking requests and vote, once per vote.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import Session

from toancanh.core import audit, outbox
from toancanh.core.auth.scope import Principal, scope_condition, unit_path_of
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, Conflict, Forbidden, NotFound
from toancanh.core.files import BlobStore
from toancanh.core.units import Unit, get_unit
from toancanh.core.workflow import WorkflowEngine
from toancanh.core.worktime import VN_TZ
from toancanh.modules.direction import calendar, service
from toancanh.modules.direction.calendar_models import (
    Meeting,
    MeetingDocument,
    MeetingInvitee,
    MeetingItem,
)
from toancanh.modules.direction.calendar_schemas import EntryIn, MeetingIn, MinutesIn
from toancanh.modules.direction.models import DirectionTask
from toancanh.modules.direction.schemas import DirectiveIn

READ, WRITE = calendar.READ, calendar.WRITE
CHANGED = "toancanh.direction.meeting.changed"


# ------------------------------------------------------------------------------------------- scope


def _invited(principal: Principal) -> ColumnElement[bool]:
    who = MeetingInvitee.user_id == principal.user_id
    if principal.agency_id is not None:
        who = or_(who, MeetingInvitee.agency_id == principal.agency_id)
    return or_(
        Meeting.chair_id == principal.user_id, Meeting.id.in_(select(MeetingInvitee.meeting_id).where(who))
    )


def scoped_meetings(principal: Principal) -> Select[Any]:
    """Meetings of the caller's units; agency staff only those they or their agency are invited to."""
    if calendar.only_own_agency(principal):
        units = [g.unit_path for g in principal.grants_for(READ)]
        in_units = or_(*(Meeting.unit_id.in_(select(Unit.id).where(Unit.path.startswith(p))) for p in units))
        return select(Meeting).where(and_(in_units if units else false(), _invited(principal)))
    return select(Meeting).where(or_(scope_condition(principal, Meeting, READ), _invited(principal)))


def get_meeting(db: Session, principal: Principal, meeting_id: int) -> Meeting:
    meeting: Meeting | None = db.scalar(scoped_meetings(principal).where(Meeting.id == meeting_id))
    if meeting is None:
        raise NotFound()
    return meeting


def can_prepare(db: Session, principal: Principal, meeting: Meeting) -> bool:
    return principal.can(WRITE, unit_path_of(db, meeting.unit_id))


def can_chair(db: Session, principal: Principal, meeting: Meeting) -> bool:
    return principal.user_id == meeting.chair_id or can_prepare(db, principal, meeting)


def is_attendee(db: Session, principal: Principal, meeting: Meeting) -> bool:
    if principal.user_id == meeting.chair_id:
        return True
    who = MeetingInvitee.user_id == principal.user_id
    if principal.agency_id is not None:
        who = or_(who, MeetingInvitee.agency_id == principal.agency_id)
    stmt = select(MeetingInvitee.id).where(MeetingInvitee.meeting_id == meeting.id, who)
    return db.scalar(stmt.limit(1)) is not None


def require(ok: bool, vi: str, en: str) -> None:
    if not ok:
        raise Forbidden(vi, en)


def record(db: Session, principal: Principal | None, meeting: Meeting, action: str, **changes: Any) -> None:
    path = unit_path_of(db, meeting.unit_id)
    audit.record_by(
        db,
        principal,
        f"meeting.{action}",
        entity_type="meeting",
        entity_id=meeting.id,
        unit_id=meeting.unit_id,
        changes=changes,
    )
    outbox.emit(
        db,
        CHANGED,
        {
            "id": meeting.id,
            "action": action,
            "state": meeting.state,
            "changes": changes,
            "title_vi": f"Cuộc họp: {meeting.title[:120]}",
            "title_en": f"Meeting: {meeting.title[:120]}",
        },
        unit_id=meeting.unit_id,
        unit_path=path,
    )


# ------------------------------------------------------------------------------------------- preparing


def check_documents(db: Session, blobs: BlobStore | None, shas: list[str]) -> list[str]:
    return service.check_files(db, blobs, shas)


def create_meeting(db: Session, blobs: BlobStore | None, principal: Principal, body: MeetingIn) -> Meeting:
    """A meeting with its calendar entry (owned by the chair), agenda, invitees and documents."""
    unit = get_unit(db, body.unit_id)
    principal.require(WRITE, unit.path)
    users = calendar.check_users(db, body.invitee_user_ids, unit, "invitee_user_ids")
    agencies = calendar.check_agencies(db, body.invitee_agency_ids, unit, "invitee_agency_ids")
    check_documents(db, blobs, [d.sha256 for d in body.documents])
    entry = calendar.create_entry(
        db,
        principal,
        EntryIn(
            unit_id=unit.id,
            title=body.title,
            place=body.place,
            starts_at=body.starts_at,
            ends_at=body.ends_at,
            owner_user_id=body.chair_id,
            participant_user_ids=users,
            participant_agency_ids=agencies,
            host=body.host,
            published=body.published,
        ),
        audit_it=False,
    )
    meeting = Meeting(unit_id=unit.id, entry_id=entry.id, title=entry.title, chair_id=body.chair_id)
    db.add(meeting)
    db.flush()
    for n, item in enumerate(body.items, start=1):
        db.add(
            MeetingItem(
                meeting_id=meeting.id,
                position=n,
                title=item.title.strip(),
                presenter=item.presenter.strip(),
                minutes=item.minutes,
            )
        )
    for user_id in users:
        db.add(MeetingInvitee(meeting_id=meeting.id, user_id=user_id))
    for agency_id in agencies:
        db.add(MeetingInvitee(meeting_id=meeting.id, agency_id=agency_id))
    seen: set[str] = set()
    for doc in body.documents:
        if doc.sha256 not in seen:
            seen.add(doc.sha256)
            db.add(MeetingDocument(meeting_id=meeting.id, sha256=doc.sha256, title=doc.title.strip()))
    db.flush()
    record(db, principal, meeting, "create", title=meeting.title, entry_id=entry.id, items=len(body.items))
    return meeting


def add_document(
    db: Session, blobs: BlobStore | None, principal: Principal, meeting: Meeting, sha256: str, title: str
) -> MeetingDocument:
    require(can_prepare(db, principal, meeting), "Không có quyền", "Permission denied")
    if meeting.state == "finished":
        raise Conflict("Cuộc họp đã kết thúc", "The meeting is over")
    check_documents(db, blobs, [sha256])
    exists = select(MeetingDocument.id).where(
        MeetingDocument.meeting_id == meeting.id, MeetingDocument.sha256 == sha256
    )
    if db.scalar(exists) is not None:
        raise Conflict("Tài liệu này đã có", "This document is already attached", details={"sha256": sha256})
    doc = MeetingDocument(meeting_id=meeting.id, sha256=sha256, title=title.strip())
    db.add(doc)
    db.flush()
    record(db, principal, meeting, "document", sha256=sha256, title=doc.title)
    return doc


def set_attendance(
    db: Session, principal: Principal, meeting: Meeting, invitee_id: int, attendance: str, delegate: str
) -> MeetingInvitee:
    require(
        can_chair(db, principal, meeting),
        "Chỉ chủ trì hoặc thư ký ghi điểm danh",
        "Only the chair or a clerk",
    )
    inv = db.get(MeetingInvitee, invitee_id)
    if inv is None or inv.meeting_id != meeting.id:
        raise BadRequest("Không có người được mời này", "No such invitee", details={"invitee_id": invitee_id})
    inv.attendance, inv.delegate = attendance, delegate.strip() if attendance == "delegated" else ""
    db.flush()
    record(db, principal, meeting, "attendance", invitee_id=inv.id, attendance=attendance)
    return inv


# ------------------------------------------------------------------------------------------- running


def set_state(
    db: Session, principal: Principal, meeting: Meeting, state: str | None, item_id: int | None
) -> Meeting:
    """Start or finish the meeting, or move to an agenda item (the chair)."""
    require(
        can_chair(db, principal, meeting), "Chỉ chủ trì điều hành cuộc họp", "Only the chair runs the meeting"
    )
    order = {"planned": 0, "in_progress": 1, "finished": 2}
    if state is not None and order[state] <= order[meeting.state]:
        raise Conflict(
            f"Không chuyển được cuộc họp từ {meeting.state} sang {state}",
            f"A meeting cannot move from {meeting.state} to {state}",
        )
    if item_id is not None:
        item = db.get(MeetingItem, item_id)
        if item is None or item.meeting_id != meeting.id:
            raise BadRequest(
                "Không có nội dung này", "No such agenda item", details={"current_item_id": item_id}
            )
    if state is None and item_id is None:
        raise BadRequest("Không có gì để thay đổi", "Nothing to change")
    if state is not None:
        meeting.state = state
    if item_id is not None:
        if meeting.state == "finished":
            raise Conflict("Cuộc họp đã kết thúc", "The meeting is over")
        meeting.current_item_id = item_id
    db.flush()
    record(db, principal, meeting, "state", state=meeting.state, current_item_id=meeting.current_item_id)
    return meeting


# ------------------------------------------------------------------------------------------- after


def save_minutes(db: Session, principal: Principal, meeting: Meeting, body: MinutesIn) -> Meeting:
    """The minutes and the conclusions; conclusions already turned into tasks stay as they are."""
    require(can_chair(db, principal, meeting), "Chỉ chủ trì hoặc thư ký", "Only the chair or a clerk")
    unit = get_unit(db, meeting.unit_id)
    calendar.check_agencies(db, [c.lead_agency_id for c in body.conclusions], unit, "lead_agency_id")
    done = [c for c in meeting.conclusions if c.get("task_id")]
    meeting.minutes = body.minutes.strip()
    meeting.conclusions = done + [
        {
            "text": c.text.strip(),
            "lead_agency_id": c.lead_agency_id,
            "deadline": c.deadline.isoformat(),
            "domain": c.domain,
            "task_id": None,
        }
        for c in body.conclusions
    ]
    db.flush()
    record(db, principal, meeting, "minutes", conclusions=len(meeting.conclusions))
    return meeting


def conclude(
    db: Session,
    engine: WorkflowEngine,
    principal: Principal,
    meeting: Meeting,
    number: str,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """In one step: a directive of kind "conclusion" with a task per open conclusion (lead agency,
    deadline), each task's source the meeting (meeting_conclusion); through the directive service."""
    now = now or utcnow()
    require(
        principal.user_id == meeting.chair_id or principal.is_admin,
        "Chỉ chủ trì cuộc họp giao nhiệm vụ từ kết luận",
        "Only the meeting's chair turns its conclusions into tasks",
    )
    pending = [c for c in meeting.conclusions if not c.get("task_id")]
    if not pending:
        raise Conflict("Không còn kết luận nào chưa giao", "No conclusion left to turn into tasks")
    ref = f"Cuộc họp: {meeting.title}"[:200]
    body = DirectiveIn.model_validate(
        {
            "unit_id": meeting.unit_id,
            "number": number,
            "kind": "conclusion",
            "title": f"Kết luận {meeting.title}"[:300],
            "summary": meeting.minutes[:5000],
            "issued_on": now.astimezone(VN_TZ).date(),
            "tasks": [
                {
                    "title": c["text"],
                    "lead_agency_id": c["lead_agency_id"],
                    "domain": c.get("domain", "administration"),
                    "deadline": c["deadline"],
                    "source": {"kind": "meeting_conclusion", "id": meeting.id, "ref": ref},
                }
                for c in pending
            ],
        }
    )
    directive = service.create_directive(db, engine, None, principal, body, now=now)
    tasks = _tasks(db, directive.id)
    ids = iter(t.id for t in tasks)
    meeting.conclusions = [
        c if c.get("task_id") else {**c, "task_id": next(ids)} for c in meeting.conclusions
    ]
    meeting.directive_id = directive.id
    db.flush()
    record(db, principal, meeting, "conclude", directive_id=directive.id, tasks=len(tasks))
    return {"directive_id": directive.id, "task_ids": [t.id for t in tasks]}


def _tasks(db: Session, directive_id: int) -> list[DirectionTask]:
    stmt = select(DirectionTask).where(DirectionTask.directive_id == directive_id).order_by(DirectionTask.id)
    return list(db.scalars(stmt))
