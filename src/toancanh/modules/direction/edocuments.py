"""The e-documents register (văn bản điện tử): incoming and outgoing documents of a unit, their handling
state and deadline (hạn xử lý) on the working-time clock, and the figures the indicators dashboards read.

States: incoming documents go received -> in_process -> finished, or to no_action (information only, no
handling asked); outgoing ones go drafted -> signed -> sent. A document is in process while it is received,
in process, drafted or signed; overdue when in process past its deadline; finished on time when it was
finished (or sent) by its deadline, or had none.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from toancanh.core import audit, outbox
from toancanh.core.assets import DOMAINS
from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal, get_scoped, scoped, unit_path_of
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, Conflict, NotFound
from toancanh.core.units import Agency, Unit, get_unit
from toancanh.core.worktime import VN_TZ, WorkCalendar
from toancanh.modules.direction.deadlines import after_working_days, end_of_day
from toancanh.modules.direction.models import (
    EDOC_DONE_STATES,
    EDOC_INCOMING_STATES,
    EDOC_OPEN_STATES,
    EDOC_OUTGOING_STATES,
    DirectionTask,
    EDocument,
)
from toancanh.modules.direction.schemas import EDocumentIn, EDocumentPatch

READ, WRITE = "direction.read", "edocuments.write"
CHANGED = "toancanh.direction.edocument.changed"
IMPORTED = "toancanh.direction.edocuments.imported"

# the steps a clerk may record by hand; the document system may send any state of the right direction
MOVES: dict[str, tuple[str, ...]] = {
    "received": ("in_process", "finished", "no_action"),
    "in_process": ("finished", "no_action"),
    "drafted": ("signed",),
    "signed": ("sent",),
}


def states_of(direction: str) -> tuple[str, ...]:
    return EDOC_INCOMING_STATES if direction == "incoming" else EDOC_OUTGOING_STATES


# ------------------------------------------------------------------------------------------- scope


def only_own_agency(principal: Principal) -> bool:
    """Agency staff (without a wider role) read only the documents their agency handles."""
    return {g.role for g in principal.grants_for(READ)} == {"agency_staff"}


def scoped_documents(principal: Principal) -> Select[Any]:
    stmt = scoped(select(EDocument), principal, EDocument, READ)
    if only_own_agency(principal):
        agency = principal.agency_id
        stmt = stmt.where(EDocument.handler_agency_id == agency if agency is not None else false())
    return stmt


def get_document(db: Session, principal: Principal, doc_id: int) -> EDocument:
    doc = get_scoped(db, principal, EDocument, doc_id, READ)
    if only_own_agency(principal) and doc.handler_agency_id != principal.agency_id:
        raise NotFound()
    return doc


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    return and_(EDocument.state.in_(EDOC_OPEN_STATES), EDocument.deadline_at < now)


def is_overdue(doc: EDocument, now: datetime) -> bool:
    return doc.state in EDOC_OPEN_STATES and doc.deadline_at is not None and doc.deadline_at < now


# ------------------------------------------------------------------------------------------- checks


def deadline_at(
    calendar: WorkCalendar, doc_date: date, day: date | None, days: int | None
) -> datetime | None:
    """The close of office hours of the deadline day, or of the N-th working day after the document's date."""
    if days is not None:
        start = datetime.combine(doc_date, time(8, 0), tzinfo=VN_TZ)
        return after_working_days(calendar, start, days)
    return end_of_day(calendar, day) if day is not None else None


def check_agency(db: Session, agency_id: int | None, unit: Unit) -> None:
    if agency_id is None:
        return
    agency = db.get(Agency, agency_id)
    path = unit_path_of(db, agency.unit_id) if agency is not None else None
    related = path is not None and (path.startswith(unit.path) or unit.path.startswith(path))
    if agency is None or not agency.active or not related:
        raise BadRequest(
            "Cơ quan xử lý không tồn tại hoặc không thuộc đơn vị này",
            "The handling agency does not exist or does not belong to this unit",
            details={"handler_agency_id": agency_id},
        )


def check_user(db: Session, user_id: int | None) -> None:
    if user_id is not None and db.get(User, user_id) is None:
        raise BadRequest("Không có người xử lý này", "No such handler", details={"handler_user_id": user_id})


def check_task(db: Session, task_id: int | None, unit: Unit) -> None:
    if task_id is None:
        return
    task = db.get(DirectionTask, task_id)
    path = unit_path_of(db, task.unit_id) if task is not None else None
    if path is None or not path.startswith(unit.path):
        raise BadRequest(
            "Nhiệm vụ liên kết không tồn tại hoặc không thuộc đơn vị này",
            "The linked task does not exist or does not belong to this unit",
            details={"task_id": task_id},
        )


def _state_error(state: str, direction: str) -> BadRequest:
    return BadRequest(
        f"Trạng thái {state} không dùng cho văn bản {'đến' if direction == 'incoming' else 'đi'}",
        f"State {state} does not apply to {direction} documents",
        details={"state": state},
    )


def summary(doc: EDocument) -> dict[str, Any]:
    return {
        "id": doc.id,
        "unit_id": doc.unit_id,
        "direction": doc.direction,
        "number": doc.number,
        "document_date": doc.document_date.isoformat(),
        "issuer": doc.issuer,
        "summary": doc.summary,
        "domain": doc.domain,
        "handler_agency_id": doc.handler_agency_id,
        "handler_user_id": doc.handler_user_id,
        "deadline_at": doc.deadline_at.isoformat() if doc.deadline_at else None,
        "state": doc.state,
        "finished_at": doc.finished_at.isoformat() if doc.finished_at else None,
        "digitally_signed": doc.digitally_signed,
        "sent_electronically": doc.sent_electronically,
        "external_id": doc.external_id,
        "task_id": doc.task_id,
        "overdue": is_overdue(doc, utcnow()),
    }


def _emit(db: Session, doc: EDocument, action: str, changes: dict[str, Any], path: str) -> None:
    outbox.emit(
        db,
        CHANGED,
        {
            "id": doc.id,
            "action": action,
            "direction": doc.direction,
            "number": doc.number,
            "state": doc.state,
            "changes": changes,
            "title_vi": f"Văn bản {doc.number}: {doc.summary[:120]}",
            "title_en": f"Document {doc.number}: {doc.summary[:120]}",
        },
        unit_id=doc.unit_id,
        unit_path=path,
        domain=doc.domain,
    )


def _feed(db: Session, doc: EDocument, now: datetime) -> None:
    """Recompute the indicator values of the document's unit and month."""
    from toancanh.modules.direction import figures  # figures reads this module's columns: imported late

    figures.feed_edocuments(db, [(doc.unit_id, doc.document_date)], now=now)


# ------------------------------------------------------------------------------------------- writing


def create(
    db: Session,
    calendar: WorkCalendar,
    principal: Principal,
    body: EDocumentIn,
    *,
    now: datetime | None = None,
) -> EDocument:
    """Register one document by hand (or from the system, one at a time); audited, one event."""
    now = now or utcnow()
    unit = get_unit(db, body.unit_id)
    principal.require(WRITE, unit.path, body.domain)
    if body.domain not in DOMAINS:
        raise BadRequest(f"Lĩnh vực không hợp lệ: {body.domain}", f"Unknown domain: {body.domain}")
    state = body.state or ("received" if body.direction == "incoming" else "drafted")
    if state not in states_of(body.direction):
        raise _state_error(state, body.direction)
    check_agency(db, body.handler_agency_id, unit)
    check_user(db, body.handler_user_id)
    check_task(db, body.task_id, unit)
    if body.external_id is not None and db.scalar(
        select(EDocument.id).where(EDocument.unit_id == unit.id, EDocument.external_id == body.external_id)
    ):
        raise Conflict(
            "Văn bản có mã này đã có trong sổ; hãy nhập lại để cập nhật",
            "A document with this external id is already registered; import it to update it",
            details={"external_id": body.external_id},
        )
    doc = EDocument(
        unit_id=unit.id,
        direction=body.direction,
        number=body.number.strip(),
        document_date=body.document_date,
        issuer=body.issuer.strip(),
        summary=body.summary.strip(),
        domain=body.domain,
        handler_agency_id=body.handler_agency_id,
        handler_user_id=body.handler_user_id,
        deadline_at=deadline_at(calendar, body.document_date, body.deadline, body.deadline_days),
        state=state,
        finished_at=(body.finished_at or now) if state in EDOC_DONE_STATES else None,
        digitally_signed=body.digitally_signed,
        sent_electronically=body.sent_electronically,
        external_id=body.external_id,
        task_id=body.task_id,
    )
    db.add(doc)
    db.flush()
    changes = {"number": doc.number, "direction": doc.direction, "state": doc.state}
    audit.record_by(
        db,
        principal,
        "edocument.create",
        entity_type="edocument",
        entity_id=doc.id,
        unit_id=unit.id,
        changes=changes,
    )
    _emit(db, doc, "create", changes, unit.path)
    _feed(db, doc, now)
    return doc


def update(
    db: Session,
    calendar: WorkCalendar,
    principal: Principal,
    doc: EDocument,
    body: EDocumentPatch,
    *,
    now: datetime | None = None,
) -> EDocument:
    """Move a document on (received -> in_process -> finished ...) or change its handling; audited."""
    now = now or utcnow()
    unit = get_unit(db, doc.unit_id)
    principal.require(WRITE, unit.path, doc.domain)
    given = body.model_fields_set - {"note"}
    if not given:
        raise BadRequest("Không có gì để thay đổi", "Nothing to change")
    before = {k: getattr(doc, k) for k in ("state", "handler_agency_id", "handler_user_id", "deadline_at")}
    before |= {k: getattr(doc, k) for k in ("digitally_signed", "sent_electronically", "task_id")}
    if "state" in given and body.state is not None and body.state != doc.state:
        if body.state not in states_of(doc.direction):
            raise _state_error(body.state, doc.direction)
        if body.state not in MOVES.get(doc.state, ()):
            raise Conflict(
                f"Không chuyển được văn bản từ {doc.state} sang {body.state}",
                f"A document cannot move from {doc.state} to {body.state}",
                details={"state": doc.state, "to": body.state},
            )
        doc.state = body.state
        if body.state in EDOC_DONE_STATES:
            doc.finished_at = now
    if "handler_agency_id" in given:
        check_agency(db, body.handler_agency_id, unit)
        doc.handler_agency_id = body.handler_agency_id
    if "handler_user_id" in given:
        check_user(db, body.handler_user_id)
        doc.handler_user_id = body.handler_user_id
    if "deadline" in given:
        doc.deadline_at = end_of_day(calendar, body.deadline) if body.deadline else None
    if "task_id" in given:
        check_task(db, body.task_id, unit)
        doc.task_id = body.task_id
    for flag in ("digitally_signed", "sent_electronically"):
        value = getattr(body, flag)
        if flag in given and value is not None:
            setattr(doc, flag, value)
    after = {k: getattr(doc, k) for k in before}
    changes: dict[str, Any] = {
        k: [_plain(before[k]), _plain(after[k])] for k in before if before[k] != after[k]
    }
    if body.note:
        changes["note"] = body.note
    db.flush()
    audit.record_by(
        db,
        principal,
        "edocument.update",
        entity_type="edocument",
        entity_id=doc.id,
        unit_id=unit.id,
        changes=changes,
    )
    _emit(db, doc, "update", changes, unit.path)
    _feed(db, doc, now)
    return doc


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


# ------------------------------------------------------------------------------------------- reading


def list_documents(
    db: Session,
    principal: Principal,
    *,
    unit_id: int | None = None,
    direction: str | None = None,
    states: Sequence[str] = (),
    overdue: bool | None = None,
    since: date | None = None,
    until: date | None = None,
    limit: int = 100,
    offset: int = 0,
    now: datetime | None = None,
) -> list[EDocument]:
    """The register, scoped, newest documents first."""
    now = now or utcnow()
    stmt = _filtered(db, scoped_documents(principal), unit_id, since, until)
    if direction:
        stmt = stmt.where(EDocument.direction == direction)
    if states:
        stmt = stmt.where(EDocument.state.in_(list(states)))
    if overdue is not None:
        cond = overdue_condition(now)
        stmt = stmt.where(cond if overdue else or_(~cond, EDocument.deadline_at.is_(None)))
    stmt = stmt.order_by(EDocument.document_date.desc(), EDocument.id.desc())
    return list(db.scalars(stmt.limit(limit).offset(offset)))


def _filtered(
    db: Session, stmt: Select[Any], unit_id: int | None, since: date | None, until: date | None
) -> Select[Any]:
    if unit_id is not None:
        path = unit_path_of(db, unit_id)
        if path is None:
            raise NotFound("Không có đơn vị này", "No such unit")
        stmt = stmt.where(EDocument.unit_id.in_(select(Unit.id).where(Unit.path.startswith(path))))
    if since is not None:
        stmt = stmt.where(EDocument.document_date >= since)
    if until is not None:
        stmt = stmt.where(EDocument.document_date <= until)
    return stmt


def metric_columns(now: datetime) -> list[Any]:
    def count(cond: ColumnElement[bool]) -> Any:
        return func.sum(case((cond, 1), else_=0))

    open_ = EDocument.state.in_(EDOC_OPEN_STATES)
    done = EDocument.state.in_(EDOC_DONE_STATES)
    late = and_(EDocument.deadline_at.is_not(None), EDocument.finished_at > EDocument.deadline_at)
    signable = EDocument.state != "drafted"
    sent = EDocument.state == "sent"
    return [
        count(EDocument.direction == "incoming"),
        count(EDocument.direction == "outgoing"),
        count(and_(open_, ~overdue_condition(now) | EDocument.deadline_at.is_(None))),
        count(overdue_condition(now)),
        count(and_(done, ~late | EDocument.deadline_at.is_(None))),
        count(and_(done, late)),
        count(EDocument.state == "no_action"),
        count(signable),
        count(and_(signable, EDocument.digitally_signed.is_(True))),
        count(sent),
        count(and_(sent, EDocument.sent_electronically.is_(True))),
    ]


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _metrics_dict(row: Sequence[Any]) -> dict[str, Any]:
    incoming, outgoing, on_time, overdue, f_on_time, f_late, no_action, signable, signed, sent, e_sent = (
        int(v or 0) for v in row
    )
    return {
        "incoming": incoming,
        "outgoing": outgoing,
        "in_process_on_time": on_time,
        "in_process_overdue": overdue,
        "finished_on_time": f_on_time,
        "finished_late": f_late,
        "no_action": no_action,
        "digitally_signed": signed,
        "digitally_signed_pct": _pct(signed, signable),
        "sent": sent,
        "sent_electronically": e_sent,
        "sent_electronically_pct": _pct(e_sent, sent),
    }


def metrics(
    db: Session,
    principal: Principal | None,
    unit_id: int | None = None,
    *,
    since: date | None = None,
    until: date | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The register's figures, of documents dated in [since, until], in one grouped query.

    % digitally signed counts the documents past drafting (a draft is not signed yet); % sent
    electronically counts the outgoing documents sent. Without a principal nothing is scoped (the caller,
    e.g. the indicators module, decides who sees the figures).
    """
    now = now or utcnow()
    stmt = select(*metric_columns(now))
    if principal is not None:
        stmt = stmt.where(EDocument.id.in_(scoped_documents(principal).with_only_columns(EDocument.id)))
    stmt = _filtered(db, stmt, unit_id, since, until)
    return {
        "unit_id": unit_id,
        "from": since.isoformat() if since else None,
        "to": until.isoformat() if until else None,
        **_metrics_dict(db.execute(stmt).one()),
    }
