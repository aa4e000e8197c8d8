"""The work calendar (lịch công tác): entries of leaders and agencies, their conflicts, and the official
weekly schedule (lịch công tác tuần) of a unit, Monday to Sunday in Vietnamese time, morning and afternoon.

A conflict is the same leader or agency (owner or participant) booked in two overlapping entries; it is
shown on both entries, never refused. Touching intervals (one ends at 10:00, the next starts at 10:00) do
not overlap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, or_, select, true
from sqlalchemy.orm import Session

from toancanh.core import audit, outbox
from toancanh.core.auth.models import Grant, User
from toancanh.core.auth.scope import Principal, scope_condition, unit_path_of
from toancanh.core.errors import BadRequest, NotFound
from toancanh.core.units import Agency, Unit, get_unit
from toancanh.modules.direction.calendar_models import CalendarEntry, CalendarParticipant, Meeting
from toancanh.modules.direction.calendar_schemas import EntryIn, EntryPatch

READ, WRITE = "direction.read", "calendar.write"
CHANGED = "toancanh.direction.calendar.changed"


# ------------------------------------------------------------------------------------------- scope


def only_own_agency(principal: Principal) -> bool:
    """Agency staff (without a wider role) read only the entries of their agency or where they take part."""
    return {g.role for g in principal.grants_for(READ)} == {"agency_staff"}


def _units_of_grants(principal: Principal) -> ColumnElement[bool]:
    """The caller's units for READ, whatever the grants' domains (entries have no domain)."""
    conds: list[ColumnElement[bool]] = []
    for g in principal.grants_for(READ):
        if g.unit_path == "/":
            return true()
        conds.append(CalendarEntry.unit_id.in_(select(Unit.id).where(Unit.path.startswith(g.unit_path))))
    return or_(*conds) if conds else false()


def involved(principal: Principal) -> ColumnElement[bool]:
    """Entries the caller's agency owns or takes part in, or the caller themselves."""
    parts = select(CalendarParticipant.entry_id).where(
        or_(
            CalendarParticipant.user_id == principal.user_id,
            CalendarParticipant.agency_id == principal.agency_id
            if principal.agency_id is not None
            else false(),
        )
    )
    own = CalendarEntry.owner_user_id == principal.user_id
    if principal.agency_id is not None:
        own = or_(own, CalendarEntry.owner_agency_id == principal.agency_id)
    return or_(own, CalendarEntry.id.in_(parts))


def entry_condition(principal: Principal) -> ColumnElement[bool]:
    if only_own_agency(principal):
        return and_(_units_of_grants(principal), involved(principal))
    return scope_condition(principal, CalendarEntry, READ)


def scoped_entries(principal: Principal) -> Select[Any]:
    return select(CalendarEntry).where(entry_condition(principal))


def get_entry(db: Session, principal: Principal, entry_id: int) -> CalendarEntry:
    entry: CalendarEntry | None = db.scalar(scoped_entries(principal).where(CalendarEntry.id == entry_id))
    if entry is None:
        raise NotFound()
    return entry


# ------------------------------------------------------------------------------------------- checks


def _related(path: str | None, unit: Unit) -> bool:
    return path is not None and (path.startswith(unit.path) or unit.path.startswith(path))


def check_agencies(db: Session, ids: Iterable[int], unit: Unit, field: str) -> list[int]:
    """The agencies as given, each active and of the unit, a place in it or a unit above it."""
    out = list(dict.fromkeys(ids))
    for agency_id in out:
        agency = db.get(Agency, agency_id)
        ok = agency is not None and agency.active and _related(unit_path_of(db, agency.unit_id), unit)
        if not ok:
            raise BadRequest(
                "Cơ quan không tồn tại hoặc không thuộc đơn vị này",
                "The agency does not exist or does not belong to this unit",
                details={field: agency_id},
            )
    return out


def check_users(db: Session, ids: Iterable[int], unit: Unit, field: str) -> list[int]:
    """The users as given, each active with a grant on the unit, a place in it or a unit above it."""
    out = list(dict.fromkeys(ids))
    for user_id in out:
        user = db.get(User, user_id)
        grants = db.scalars(select(Grant.unit_id).where(Grant.user_id == user_id)).all() if user else []
        ok = (
            user is not None
            and user.active
            and not user.is_service
            and any(g is None or _related(unit_path_of(db, g), unit) for g in grants)
        )
        if not ok:
            raise BadRequest(
                "Người dùng không tồn tại hoặc không thuộc đơn vị này",
                "The user does not exist or does not belong to this unit",
                details={field: user_id},
            )
    return out


# ------------------------------------------------------------------------------------------- writing


def _emit(db: Session, entry: CalendarEntry, action: str, path: str, **extra: Any) -> None:
    outbox.emit(
        db,
        CHANGED,
        {
            "id": entry.id,
            "action": action,
            "starts_at": entry.starts_at.isoformat(),
            "ends_at": entry.ends_at.isoformat(),
            "title_vi": f"Lịch công tác: {entry.title[:120]}",
            "title_en": f"Work calendar: {entry.title[:120]}",
            **extra,
        },
        unit_id=entry.unit_id,
        unit_path=path,
    )


def create_entry(db: Session, principal: Principal, body: EntryIn, *, audit_it: bool = True) -> CalendarEntry:
    """Book an entry; conflicts are shown, not refused. Audited, one event."""
    unit = get_unit(db, body.unit_id)
    principal.require(WRITE, unit.path)
    check_users(db, [body.owner_user_id] if body.owner_user_id else [], unit, "owner_user_id")
    check_agencies(db, [body.owner_agency_id] if body.owner_agency_id else [], unit, "owner_agency_id")
    users = check_users(db, body.participant_user_ids, unit, "participant_user_ids")
    agencies = check_agencies(db, body.participant_agency_ids, unit, "participant_agency_ids")
    entry = CalendarEntry(
        unit_id=unit.id,
        title=body.title.strip(),
        place=body.place.strip(),
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        owner_user_id=body.owner_user_id,
        owner_agency_id=body.owner_agency_id,
        host=body.host.strip(),
        notes=body.notes.strip(),
        published=body.published,
        created_by_id=principal.user_id,
    )
    db.add(entry)
    db.flush()
    for user_id in users:
        db.add(CalendarParticipant(entry_id=entry.id, user_id=user_id))
    for agency_id in agencies:
        db.add(CalendarParticipant(entry_id=entry.id, agency_id=agency_id))
    db.flush()
    if audit_it:
        audit.record_by(
            db,
            principal,
            "calendar.create",
            entity_type="calendar_entry",
            entity_id=entry.id,
            unit_id=unit.id,
            changes={"title": entry.title, "starts_at": entry.starts_at.isoformat()},
        )
        _emit(db, entry, "create", unit.path)
    return entry


def update_entry(db: Session, principal: Principal, entry: CalendarEntry, body: EntryPatch) -> CalendarEntry:
    unit = get_unit(db, entry.unit_id)
    principal.require(WRITE, unit.path)
    given = body.model_fields_set
    if not given:
        raise BadRequest("Không có gì để thay đổi", "Nothing to change")
    starts = body.starts_at if "starts_at" in given and body.starts_at else entry.starts_at
    ends = body.ends_at if "ends_at" in given and body.ends_at else entry.ends_at
    if ends <= starts:
        raise BadRequest(
            "Giờ kết thúc phải sau giờ bắt đầu", "The end must be after the start", details={"ends_at": None}
        )
    changes: dict[str, Any] = {}
    for name in ("title", "place", "host", "notes", "published"):
        value = getattr(body, name)
        if name in given and value is not None and value != getattr(entry, name):
            changes[name] = [getattr(entry, name), value]
            setattr(entry, name, value.strip() if isinstance(value, str) else value)
    if (starts, ends) != (entry.starts_at, entry.ends_at):
        changes["time"] = [entry.starts_at.isoformat(), starts.isoformat(), ends.isoformat()]
        entry.starts_at, entry.ends_at = starts, ends
    db.flush()
    audit.record_by(
        db,
        principal,
        "calendar.update",
        entity_type="calendar_entry",
        entity_id=entry.id,
        unit_id=unit.id,
        changes=changes,
    )
    _emit(db, entry, "update", unit.path, changes=list(changes))
    return entry


def delete_entry(db: Session, principal: Principal, entry: CalendarEntry) -> None:
    unit = get_unit(db, entry.unit_id)
    principal.require(WRITE, unit.path)
    if db.scalar(select(Meeting.id).where(Meeting.entry_id == entry.id)) is not None:
        raise BadRequest(
            "Mục lịch này là thời gian của một cuộc họp; hãy sửa cuộc họp",
            "This entry holds a meeting; change the meeting instead",
        )
    audit.record_by(
        db,
        principal,
        "calendar.delete",
        entity_type="calendar_entry",
        entity_id=entry.id,
        unit_id=unit.id,
        changes={"title": entry.title},
    )
    _emit(db, entry, "delete", unit.path)
    db.delete(entry)
    db.flush()


# ------------------------------------------------------------------------------------------- conflicts


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    """Half-open intervals: [10:00, 11:00) and [11:00, 12:00) do not overlap."""
    return a_start < b_end and b_start < a_end


def _bookings(db: Session, entries: Sequence[CalendarEntry]) -> dict[int, set[tuple[str, int]]]:
    out: dict[int, set[tuple[str, int]]] = {}
    for e in entries:
        keys: set[tuple[str, int]] = set()
        if e.owner_user_id is not None:
            keys.add(("user", e.owner_user_id))
        if e.owner_agency_id is not None:
            keys.add(("agency", e.owner_agency_id))
        out[e.id] = keys
    ids = list(out)
    for p in db.scalars(select(CalendarParticipant).where(CalendarParticipant.entry_id.in_(ids))):
        out[p.entry_id].add(("user", p.user_id) if p.user_id is not None else ("agency", p.agency_id or 0))
    return out


def conflicts(db: Session, entries: Sequence[CalendarEntry]) -> dict[int, list[dict[str, Any]]]:
    """For each entry, the other entries (any unit) that book one of its leaders or agencies at an
    overlapping time: [{"entry_id", "kind", "id"}]."""
    if not entries:
        return {}
    lo, hi = min(e.starts_at for e in entries), max(e.ends_at for e in entries)
    others = list(
        db.scalars(select(CalendarEntry).where(CalendarEntry.starts_at < hi, CalendarEntry.ends_at > lo))
    )
    books = _bookings(db, others)
    by_key: dict[tuple[str, int], list[CalendarEntry]] = defaultdict(list)
    for o in others:
        for key in books[o.id]:
            by_key[key].append(o)
    out: dict[int, list[dict[str, Any]]] = {}
    for e in entries:
        found: dict[int, dict[str, Any]] = {}
        for key in sorted(books.get(e.id, set())):
            for o in by_key[key]:
                if (
                    o.id != e.id
                    and o.id not in found
                    and overlaps(e.starts_at, e.ends_at, o.starts_at, o.ends_at)
                ):
                    found[o.id] = {"entry_id": o.id, "kind": key[0], "id": key[1]}
        out[e.id] = sorted(found.values(), key=lambda c: c["entry_id"])
    return out


# ------------------------------------------------------------------------------------------- reading


def list_entries(
    db: Session,
    principal: Principal,
    *,
    unit_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    published: bool | None = None,
    limit: int = 500,
) -> list[CalendarEntry]:
    """The entries the caller may read overlapping [since, until), by start time."""
    stmt = scoped_entries(principal)
    if unit_id is not None:
        stmt = stmt.where(CalendarEntry.unit_id == unit_id)
    if since is not None:
        stmt = stmt.where(CalendarEntry.ends_at > since)
    if until is not None:
        stmt = stmt.where(CalendarEntry.starts_at < until)
    if published is not None:
        stmt = stmt.where(CalendarEntry.published.is_(published))
    return list(db.scalars(stmt.order_by(CalendarEntry.starts_at, CalendarEntry.id).limit(limit)))


def names(db: Session, entries: Sequence[CalendarEntry]) -> tuple[dict[int, str], dict[int, str]]:
    """(user id -> full name, agency id -> name) of the owners and participants of `entries`."""
    ids = [e.id for e in entries]
    parts = list(db.scalars(select(CalendarParticipant).where(CalendarParticipant.entry_id.in_(ids))))
    uids = {e.owner_user_id for e in entries} | {p.user_id for p in parts}
    aids = {e.owner_agency_id for e in entries} | {p.agency_id for p in parts}
    users = db.execute(select(User.id, User.full_name, User.username).where(User.id.in_(uids - {None})))
    agencies = db.execute(select(Agency.id, Agency.name).where(Agency.id.in_(aids - {None})))
    return {i: n or u for i, n, u in users}, dict(agencies.tuples().all())


def summaries(db: Session, entries: Sequence[CalendarEntry]) -> list[dict[str, Any]]:
    """The entries as JSON, each with its participants, conflicts and meeting (if any)."""
    if not entries:
        return []
    ids = [e.id for e in entries]
    users, agencies = names(db, entries)
    parts: dict[int, list[CalendarParticipant]] = defaultdict(list)
    for p in db.scalars(select(CalendarParticipant).where(CalendarParticipant.entry_id.in_(ids))):
        parts[p.entry_id].append(p)
    meetings = dict(
        db.execute(select(Meeting.entry_id, Meeting.id).where(Meeting.entry_id.in_(ids))).tuples().all()
    )
    clashes = conflicts(db, entries)
    out = []
    for e in entries:
        owner = users.get(e.owner_user_id or 0) or agencies.get(e.owner_agency_id or 0, "")
        out.append(
            {
                "id": e.id,
                "unit_id": e.unit_id,
                "title": e.title,
                "place": e.place,
                "starts_at": e.starts_at.isoformat(),
                "ends_at": e.ends_at.isoformat(),
                "owner_user_id": e.owner_user_id,
                "owner_agency_id": e.owner_agency_id,
                "owner": owner,
                "participant_user_ids": [p.user_id for p in parts[e.id] if p.user_id is not None],
                "participant_agency_ids": [p.agency_id for p in parts[e.id] if p.agency_id is not None],
                "participants": [
                    users.get(p.user_id, "") if p.user_id else agencies.get(p.agency_id or 0, "")
                    for p in parts[e.id]
                ],
                "host": e.host,
                "notes": e.notes,
                "published": e.published,
                "meeting_id": meetings.get(e.id),
                "conflicts": clashes.get(e.id, []),
                "conflict": bool(clashes.get(e.id)),
            }
        )
    return out
