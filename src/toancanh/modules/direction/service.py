"""Direction and operation (chỉ đạo điều hành): issuing directives with tasks, the agencies' and leaders'
steps on a task, and what each user may see.

Other modules call the figures here (`task_figures`, `agency_ranking`, `edocument_figures`): the indicators
module reads tasks received, done on time and overdue, and the e-documents figures, for a unit subtree without
importing anything else of this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from toancanh.core import audit, outbox
from toancanh.core.assets import DOMAINS
from toancanh.core.auth.scope import Principal, get_scoped, scope_condition, scoped, unit_path_of
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, Conflict, Forbidden, NotFound
from toancanh.core.files import Blob, BlobStore
from toancanh.core.units import Agency, Unit, get_unit
from toancanh.core.workflow import SLA_OVERDUE, SUPERVISOR_ROLES, WorkflowEngine
from toancanh.core.worktime import VN_TZ
from toancanh.modules.direction import edocuments
from toancanh.modules.direction.deadlines import after_working_days, end_of_day
from toancanh.modules.direction.models import (
    DirectionTask,
    DirectionTaskAgency,
    Directive,
    ExtensionRequest,
)
from toancanh.modules.direction.schemas import DirectiveIn, TaskIn
from toancanh.modules.direction.workflow import DIRECTION_TASK, HOLDING_STATES

READ, ISSUE, ACT = "direction.read", "direction.issue", "direction.act"
ATTACHMENT_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "image/webp"})
OPEN_STATES = ("assigned", "in_progress", "submitted", "returned")
ISSUED = "toancanh.direction.directive.issued"


# ------------------------------------------------------------------------------------------- scope


def only_own_agency(principal: Principal) -> bool:
    """Agency staff (without a wider role) see the tasks their agency leads or co-operates on only."""
    return {g.role for g in principal.grants_for(READ)} == {"agency_staff"}


def _agency_condition(agency_id: int | None) -> ColumnElement[bool]:
    if agency_id is None:
        return false()
    cooperating = select(DirectionTaskAgency.task_id).where(DirectionTaskAgency.agency_id == agency_id)
    return or_(DirectionTask.assignee_agency_id == agency_id, DirectionTask.id.in_(cooperating))


def scoped_tasks(principal: Principal) -> Select[Any]:
    """The tasks the caller may read: their units and domains; agency staff only their agency's tasks."""
    stmt = scoped(select(DirectionTask), principal, DirectionTask, READ)
    if only_own_agency(principal):
        stmt = stmt.where(_agency_condition(principal.agency_id))
    return stmt


def get_task(db: Session, principal: Principal, task_id: int) -> DirectionTask:
    """One task by id, or 404 when it does not exist or lies outside the caller's scope."""
    task = get_scoped(db, principal, DirectionTask, task_id, READ)
    if only_own_agency(principal) and principal.agency_id not in agencies_of(db, task):
        raise NotFound()
    return task


def scoped_directives(principal: Principal) -> Select[Any]:
    """Directives the caller may read: of their units, or with a task they may read (an agency, a sector
    center limited to domains); agency staff only the latter."""
    with_task = scoped_tasks(principal).with_only_columns(DirectionTask.directive_id)
    if only_own_agency(principal):
        return select(Directive).where(Directive.id.in_(with_task))
    return select(Directive).where(
        or_(scope_condition(principal, Directive, READ), Directive.id.in_(with_task))
    )


def get_directive(db: Session, principal: Principal, directive_id: int) -> Directive:
    directive: Directive | None = db.scalar(scoped_directives(principal).where(Directive.id == directive_id))
    if directive is None:
        raise NotFound()
    return directive


def cooperating_ids(db: Session, task_id: int) -> list[int]:
    stmt = select(DirectionTaskAgency.agency_id).where(DirectionTaskAgency.task_id == task_id)
    return sorted(db.scalars(stmt))


def agencies_of(db: Session, task: DirectionTask) -> set[int]:
    """The lead and co-operating agencies of a task."""
    out = set(cooperating_ids(db, task.id))
    if task.assignee_agency_id is not None:
        out.add(task.assignee_agency_id)
    return out


# ------------------------------------------------------------------------------------------- issuing


def check_files(db: Session, blobs: BlobStore | None, shas: Iterable[str]) -> list[str]:
    """The blob hashes as given, after checking each was uploaded and is a document or a photo."""
    out = list(dict.fromkeys(shas))
    if not out:
        return out
    rows = {b.sha256: b for b in db.scalars(select(Blob).where(Blob.sha256.in_(out)))}
    for sha in out:
        blob = rows.get(sha)
        if blob is None or (blobs is not None and not blobs.exists(sha)):
            raise BadRequest(
                "Tệp đính kèm chưa được tải lên", "Attachment not uploaded", details={"sha256": sha}
            )
        if blob.content_type not in ATTACHMENT_TYPES:
            raise BadRequest(
                "Tệp đính kèm phải là PDF hoặc ảnh",
                "Attachments must be PDF or images",
                details={"sha256": sha},
            )
    return out


def deadline_of(engine: WorkflowEngine, spec: TaskIn, now: datetime) -> datetime:
    """When a task is due: the close of the given date, or of the N-th working day after today."""
    if spec.deadline_days is not None:
        return after_working_days(engine.calendar, now, spec.deadline_days)
    assert spec.deadline is not None  # the schema asks for exactly one
    return due_on(engine, spec.deadline, now)


def due_on(engine: WorkflowEngine, day: date, now: datetime) -> datetime:
    if day < now.astimezone(VN_TZ).date():
        raise BadRequest(
            "Hạn hoàn thành không được ở trong quá khứ",
            "The deadline cannot be in the past",
            details={"deadline": day.isoformat()},
        )
    return end_of_day(engine.calendar, day)


def _agency_in(db: Session, agency_id: int, unit: Unit) -> Agency:
    agency = db.get(Agency, agency_id)
    path = unit_path_of(db, agency.unit_id) if agency is not None else None
    # an agency of the unit, of a place in it, or of a unit above it (the commune's police in a hamlet)
    related = path is not None and (path.startswith(unit.path) or unit.path.startswith(path))
    if agency is None or not agency.active or not related:
        raise BadRequest(
            "Cơ quan được giao không tồn tại hoặc không thuộc đơn vị này",
            "The agency does not exist or does not belong to this unit",
            details={"agency_id": agency_id},
        )
    return agency


def create_directive(
    db: Session,
    engine: WorkflowEngine,
    blobs: BlobStore | None,
    principal: Principal,
    body: DirectiveIn,
    *,
    now: datetime | None = None,
) -> Directive:
    """Issue a directive and open its tasks, each assigned to its lead agency."""
    now = now or utcnow()
    unit = get_unit(db, body.unit_id)
    principal.require(ISSUE, unit.path)
    for spec in body.tasks:
        if spec.domain not in DOMAINS:
            raise BadRequest(f"Lĩnh vực không hợp lệ: {spec.domain}", f"Unknown domain: {spec.domain}")
        for agency_id in (spec.lead_agency_id, *spec.cooperating_agency_ids):
            _agency_in(db, agency_id, unit)
    deadlines = [deadline_of(engine, spec, now) for spec in body.tasks]
    directive = Directive(
        unit_id=unit.id,
        number=body.number,
        kind=body.kind,
        title=body.title,
        summary=body.summary,
        issued_by_id=principal.user_id,
        issued_on=body.issued_on or now.astimezone(VN_TZ).date(),
        attachments=check_files(db, blobs, body.attachments),
    )
    db.add(directive)
    db.flush()
    for spec, due in zip(body.tasks, deadlines, strict=True):
        open_task(db, engine, principal, directive, spec, due, now=now)
    audit.record_by(
        db,
        principal,
        "directive.issue",
        entity_type="directive",
        entity_id=directive.id,
        unit_id=unit.id,
        changes={"number": directive.number, "kind": directive.kind, "tasks": len(body.tasks)},
    )
    outbox.emit(
        db,
        ISSUED,
        {
            "id": directive.id,
            "number": directive.number,
            "kind": directive.kind,
            "tasks": len(body.tasks),
            "issued_by_id": principal.user_id,
            "title_vi": f"Văn bản chỉ đạo {directive.number}: {directive.title[:120]}",
            "title_en": f"Directive {directive.number}: {directive.title[:120]}",
        },
        unit_id=unit.id,
        unit_path=unit.path,
    )
    return directive


def open_task(
    db: Session,
    engine: WorkflowEngine,
    principal: Principal | None,
    directive: Directive,
    spec: TaskIn,
    due: datetime,
    *,
    now: datetime,
) -> DirectionTask:
    task = DirectionTask(
        directive_id=directive.id,
        unit_id=directive.unit_id,
        title=spec.title,
        expected_output=spec.expected_output,
        domain=spec.domain,
        priority=spec.priority,
        issued_by_id=directive.issued_by_id,
        deadline_at=due,
        deadline_days=spec.deadline_days,
        source_kind=spec.source.kind,
        source_id=spec.source.id,
        source_ref=spec.source.ref,
        assignee_agency_id=spec.lead_agency_id,
    )
    engine.open(db, DIRECTION_TASK, task, principal, now=now)
    for agency_id in dict.fromkeys(spec.cooperating_agency_ids):
        db.add(DirectionTaskAgency(task_id=task.id, agency_id=agency_id))
    db.flush()
    return task


# ------------------------------------------------------------------------------------------- steps


def act(
    db: Session,
    engine: WorkflowEngine,
    blobs: BlobStore | None,
    task: DirectionTask,
    name: str,
    principal: Principal | None,
    fields: dict[str, Any],
    *,
    now: datetime | None = None,
) -> DirectionTask:
    """Run one step on a task, with its effects; refused steps change nothing."""
    now = now or utcnow()
    path = unit_path_of(db, task.unit_id)
    t = DIRECTION_TASK.find(name)
    if t is None or t not in engine.available(DIRECTION_TASK, task, principal, unit_path=path):
        # the engine says precisely why: unknown step, wrong state, or not allowed
        engine.transition(db, DIRECTION_TASK, task, name, principal, fields, now=now)
    fields = dict(fields)
    if name == "report_progress":
        _require_member(db, task, principal, path)
        fields["attachments"] = check_files(db, blobs, fields.get("attachments", ()))
    elif name == "submit":
        fields["evidence"] = check_files(db, blobs, fields.get("evidence", ()))
    elif name == "request_extension":
        return _request_extension(db, engine, task, principal, fields, now)
    elif name in ("approve_extension", "refuse_extension"):
        return _decide_extension(db, engine, task, name, principal, fields, now)
    engine.transition(db, DIRECTION_TASK, task, name, principal, fields, now=now)
    if name == "acknowledge" and task.acknowledged_at is None:
        task.acknowledged_at = now
    elif name == "report_progress":
        task.progress = int(fields["percent"])
        task.progress_note = str(fields["text"]).strip()[:5000]
    elif name == "submit":
        task.submitted_at = now
        task.completion_text = str(fields["text"]).strip()[:5000]
        task.evidence = fields["evidence"]
    elif name == "accept":
        task.on_time = task.submitted_at is not None and task.submitted_at <= task.deadline_at
        task.progress = 100
        for req in _pending(db, task.id):
            req.status = "lapsed"
    db.flush()
    return task


def _require_member(db: Session, task: DirectionTask, principal: Principal | None, path: str | None) -> None:
    """Progress comes from the lead or a co-operating agency (or a supervisor holding the permission)."""
    if principal is None or principal.agency_id in agencies_of(db, task):
        return
    if any(g.role in SUPERVISOR_ROLES and g.covers(path, task.domain) for g in principal.grants_for(ACT)):
        return
    raise Forbidden(
        "Chỉ cơ quan chủ trì hoặc phối hợp mới được báo cáo tiến độ nhiệm vụ này",
        "Only the lead or a co-operating agency may report progress on this task",
        details={"transition": "report_progress"},
    )


def _pending(db: Session, task_id: int) -> list[ExtensionRequest]:
    stmt = select(ExtensionRequest).where(
        ExtensionRequest.task_id == task_id, ExtensionRequest.status == "pending"
    )
    return list(db.scalars(stmt))


def _requested_deadline(engine: WorkflowEngine, value: Any, now: datetime) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise BadRequest("Hạn mới cần có múi giờ", "The new deadline needs a time zone")
        return value
    if isinstance(value, date):
        return due_on(engine, value, now)
    try:
        return _requested_deadline(engine, date.fromisoformat(str(value)), now)
    except ValueError:
        raise BadRequest("Hạn mới không hợp lệ", "Invalid new deadline") from None


def _request_extension(
    db: Session,
    engine: WorkflowEngine,
    task: DirectionTask,
    principal: Principal | None,
    fields: dict[str, Any],
    now: datetime,
) -> DirectionTask:
    requested = _requested_deadline(engine, fields.get("new_deadline") or "", now)
    if requested <= task.deadline_at:
        raise BadRequest(
            "Hạn mới phải sau hạn hiện tại", "The new deadline must be later than the current one"
        )
    if _pending(db, task.id):
        raise Conflict(
            "Nhiệm vụ đã có một đề nghị gia hạn đang chờ quyết định",
            "This task already has an extension request waiting for a decision",
        )
    req = ExtensionRequest(
        task_id=task.id,
        reason=str(fields.get("reason", "")).strip()[:2000],
        previous_deadline=task.deadline_at,
        requested_deadline=requested,
        requested_by_id=principal.user_id if principal else None,
        requested_by=principal.username if principal else "system",
        created_at=now,
    )
    db.add(req)
    db.flush()
    fields = {**fields, "new_deadline": requested.isoformat(), "request_id": req.id}
    try:
        engine.transition(db, DIRECTION_TASK, task, "request_extension", principal, fields, now=now)
    except BaseException:
        db.delete(req)
        db.flush()
        raise
    return task


def _decide_extension(
    db: Session,
    engine: WorkflowEngine,
    task: DirectionTask,
    name: str,
    principal: Principal | None,
    fields: dict[str, Any],
    now: datetime,
) -> DirectionTask:
    req = db.get(ExtensionRequest, fields.get("request_id") or 0)
    if req is None or req.task_id != task.id:
        raise NotFound("Không có đề nghị gia hạn này", "No such extension request")
    if req.status != "pending":
        raise Conflict("Đề nghị gia hạn đã được quyết định", "The extension request was already decided")
    before = (task.deadline_at, task.due_at, task.sla_status)
    approve = name == "approve_extension"
    if approve:
        # set before the engine records the step, so that its history row and event carry the new deadline
        task.deadline_at = req.requested_deadline
        if task.state in HOLDING_STATES:
            task.due_at = req.requested_deadline
            if req.requested_deadline > now:
                task.sla_status = "ok"
        fields = {**fields, "previous_deadline": req.previous_deadline.isoformat()}
        fields["new_deadline"] = req.requested_deadline.isoformat()
    try:
        engine.transition(db, DIRECTION_TASK, task, name, principal, fields, now=now)
    except BaseException:
        task.deadline_at, task.due_at, task.sla_status = before
        raise
    req.status = "approved" if approve else "refused"
    req.decided_by_id = principal.user_id if principal else None
    req.decided_by = principal.username if principal else "system"
    req.decided_at = now
    req.decision_note = str(fields.get("reason") or fields.get("comment") or "")[:2000]
    db.flush()
    return task


def extension_requests(db: Session, task_id: int) -> list[ExtensionRequest]:
    stmt = select(ExtensionRequest).where(ExtensionRequest.task_id == task_id).order_by(ExtensionRequest.id)
    return list(db.scalars(stmt))


# ------------------------------------------------------------------------------------------- views


def list_tasks(
    db: Session,
    principal: Principal,
    *,
    agency_id: int | None = None,
    leader_id: int | None = None,
    source_kind: str | None = None,
    states: Sequence[str] = (),
    directive_id: int | None = None,
    unit_id: int | None = None,
    overdue: bool | None = None,
    order: str = "overdue",
    limit: int = 100,
    offset: int = 0,
    now: datetime | None = None,
) -> list[DirectionTask]:
    """The tracking list, scoped: by agency (lead or co-operating), leader, source, state; overdue first."""
    now = now or utcnow()
    stmt = scoped_tasks(principal)
    if agency_id is not None:
        stmt = stmt.where(_agency_condition(agency_id))
    if leader_id is not None:
        stmt = stmt.where(DirectionTask.issued_by_id == leader_id)
    if source_kind:
        stmt = stmt.where(DirectionTask.source_kind == source_kind)
    if states:
        stmt = stmt.where(DirectionTask.state.in_(list(states)))
    if directive_id is not None:
        stmt = stmt.where(DirectionTask.directive_id == directive_id)
    if unit_id is not None:
        unit = db.get(Unit, unit_id)
        prefix = unit.path if unit else "/none/"
        stmt = stmt.where(DirectionTask.unit_id.in_(select(Unit.id).where(Unit.path.startswith(prefix))))
    if overdue is not None:
        stmt = stmt.where(overdue_condition(now) if overdue else ~overdue_condition(now))
    if order == "overdue":
        stmt = stmt.order_by(*overdue_first(now))
    elif order == "deadline":
        stmt = stmt.order_by(DirectionTask.deadline_at, DirectionTask.id)
    else:
        stmt = stmt.order_by(DirectionTask.id.desc())
    return list(db.scalars(stmt.limit(limit).offset(offset)))


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """An open task past its deadline while the agency holds it (marked by the SLA clock, or not yet)."""
    return and_(
        DirectionTask.state.in_(HOLDING_STATES),
        or_(DirectionTask.sla_status == SLA_OVERDUE, DirectionTask.due_at < now),
    )


def overdue_first(now: datetime) -> list[Any]:
    """Open before done; overdue, then nearly due, then the rest; the earliest deadline first."""
    flag = case(
        (DirectionTask.state == "done", 3),
        (overdue_condition(now), 0),
        (DirectionTask.sla_status == "warning", 1),
        else_=2,
    )
    return [flag, DirectionTask.deadline_at, DirectionTask.id]


def flag_of(task: DirectionTask, now: datetime) -> str:
    """ "overdue", "warning" (nearly due) or "ok"; "done" tasks keep no flag ("ok")."""
    if task.state in HOLDING_STATES and (
        task.sla_status == SLA_OVERDUE or (task.due_at is not None and task.due_at < now)
    ):
        return "overdue"
    if task.state in HOLDING_STATES and task.sla_status == "warning":
        return "warning"
    return "ok"


# ------------------------------------------------------------------------------------------- figures


def _figures_columns(now: datetime) -> list[Any]:
    done = DirectionTask.state == "done"
    return [
        func.count().label("received"),
        func.sum(case((and_(done, DirectionTask.on_time.is_(True)), 1), else_=0)).label("done_on_time"),
        func.sum(case((and_(done, DirectionTask.on_time.is_(False)), 1), else_=0)).label("done_late"),
        func.sum(case((overdue_condition(now), 1), else_=0)).label("overdue"),
        func.sum(case((DirectionTask.state != "done", 1), else_=0)).label("open"),
    ]


def _rate(on_time: int, late: int, overdue: int) -> float | None:
    """On-time completion rate: done on time among the tasks whose outcome is known (done, or overdue)."""
    known = on_time + late + overdue
    return round(on_time / known, 4) if known else None


def task_figures(
    db: Session,
    unit_id: int | None = None,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Tasks received, done on time, done late, overdue and open in a unit subtree (None: everywhere),
    of the tasks opened in [since, until): the figures the indicators module reads. Not scoped: the caller
    decides who may see them."""
    stmt = select(*_figures_columns(now or utcnow()))
    if unit_id is not None:
        path = unit_path_of(db, unit_id)
        if path is None:
            raise NotFound("Không có đơn vị này", "No such unit")
        stmt = stmt.where(DirectionTask.unit_id.in_(select(Unit.id).where(Unit.path.startswith(path))))
    if since is not None:
        stmt = stmt.where(DirectionTask.opened_at >= since)
    if until is not None:
        stmt = stmt.where(DirectionTask.opened_at < until)
    return _figures_dict(db.execute(stmt).one())


def _figures_dict(row: Any) -> dict[str, Any]:
    received, on_time, late, overdue, open_ = (int(v or 0) for v in row)
    return {
        "received": received,
        "done_on_time": on_time,
        "done_late": late,
        "overdue": overdue,
        "open": open_,
        "on_time_rate": _rate(on_time, late, overdue),
    }


def stats(
    db: Session, principal: Principal, unit_id: int | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """Counts per state and per flag, and the headline figures, of the tasks the caller may read in a
    unit subtree."""
    now = now or utcnow()
    base = scoped_tasks(principal)
    if unit_id is not None:
        unit = get_unit(db, unit_id)
        base = base.where(DirectionTask.unit_id.in_(select(Unit.id).where(Unit.path.startswith(unit.path))))
    ids = base.with_only_columns(DirectionTask.id).scalar_subquery()
    scope = DirectionTask.id.in_(ids)
    by_state = dict.fromkeys(DIRECTION_TASK.states, 0)
    rows = db.execute(
        select(DirectionTask.state, func.count()).where(scope).group_by(DirectionTask.state)
    ).tuples()
    by_state.update({state: int(n) for state, n in rows})
    figures = _figures_dict(db.execute(select(*_figures_columns(now)).where(scope)).one())
    warning = db.scalar(
        select(func.count()).where(
            scope,
            DirectionTask.state.in_(HOLDING_STATES),
            DirectionTask.sla_status == "warning",
            ~overdue_condition(now),
        )
    )
    flags = {"overdue": figures["overdue"], "warning": int(warning or 0)}
    flags["ok"] = figures["open"] - flags["overdue"] - flags["warning"]
    return {"unit_id": unit_id, "by_state": by_state, "flags": flags, **figures}


def agency_ranking(
    db: Session, principal: Principal | None, unit_id: int | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Lead agencies ranked by on-time completion rate (ties: more tasks first, then name).

    With a principal, only the tasks they may read count (agency staff: their own agency's row).
    """
    now = now or utcnow()
    stmt = select(DirectionTask.assignee_agency_id, *_figures_columns(now)).where(
        DirectionTask.assignee_agency_id.is_not(None)
    )
    if principal is not None:
        stmt = stmt.where(DirectionTask.id.in_(scoped_tasks(principal).with_only_columns(DirectionTask.id)))
        if only_own_agency(principal):
            stmt = stmt.where(DirectionTask.assignee_agency_id == (principal.agency_id or -1))
    if unit_id is not None:
        unit = get_unit(db, unit_id)
        stmt = stmt.where(DirectionTask.unit_id.in_(select(Unit.id).where(Unit.path.startswith(unit.path))))
    rows = db.execute(stmt.group_by(DirectionTask.assignee_agency_id)).all()
    names = dict(
        db.execute(select(Agency.id, Agency.name).where(Agency.id.in_([r[0] for r in rows]))).tuples().all()
    )
    out = [{"agency_id": r[0], "agency": names.get(r[0], ""), **_figures_dict(r[1:])} for r in rows]
    out.sort(
        key=lambda x: (
            -(x["on_time_rate"] if x["on_time_rate"] is not None else -1),
            -x["received"],
            x["agency"],
        )
    )
    for rank, row in enumerate(out, 1):
        row["rank"] = rank
    return out


def edocument_figures(
    db: Session,
    unit_id: int | None = None,
    *,
    since: date | None = None,
    until: date | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The e-documents register's figures in a unit subtree (None: everywhere), of the documents dated in
    [since, until]: incoming, outgoing, in process on time / overdue, finished on time / late, % digitally
    signed, % sent electronically. Not scoped: the caller decides who may see them."""
    return edocuments.metrics(db, None, unit_id, since=since, until=until, now=now)
