"""Direction and operation (chỉ đạo điều hành): issuing directives with tasks and the agencies' and leaders'
steps on a task. What each user may see lives in `tasks`, the figures in `figures`; both are re-exported here
for the pages and for other modules, which call this module through its service.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core import audit, outbox
from toancanh.core.assets import DOMAINS
from toancanh.core.auth.scope import Principal, unit_path_of
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, Conflict, Forbidden, NotFound
from toancanh.core.files import Blob, BlobStore
from toancanh.core.units import Agency, Unit, get_unit
from toancanh.core.workflow import SUPERVISOR_ROLES, WorkflowEngine
from toancanh.core.worktime import VN_TZ
from toancanh.modules.direction import figures
from toancanh.modules.direction.deadlines import after_working_days, end_of_day
from toancanh.modules.direction.figures import agency_ranking, edocument_figures, stats, task_figures
from toancanh.modules.direction.models import (
    DirectionTask,
    DirectionTaskAgency,
    Directive,
    ExtensionRequest,
)
from toancanh.modules.direction.schemas import DirectiveIn, TaskIn
from toancanh.modules.direction.tasks import (
    ACT,
    ISSUE,
    OPEN_STATES,
    READ,
    agencies_of,
    cooperating_ids,
    flag_of,
    get_directive,
    get_task,
    list_tasks,
    only_own_agency,
    overdue_condition,
    overdue_first,
    scoped_directives,
    scoped_tasks,
)
from toancanh.modules.direction.workflow import DIRECTION_TASK, HOLDING_STATES

__all__ = [
    "ACT",
    "ATTACHMENT_TYPES",
    "ISSUE",
    "ISSUED",
    "OPEN_STATES",
    "READ",
    "act",
    "agencies_of",
    "agency_ranking",
    "check_files",
    "cooperating_ids",
    "create_directive",
    "edocument_figures",
    "extension_requests",
    "flag_of",
    "get_directive",
    "get_task",
    "list_tasks",
    "only_own_agency",
    "overdue_condition",
    "overdue_first",
    "scoped_directives",
    "scoped_tasks",
    "stats",
    "task_figures",
]

ATTACHMENT_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png", "image/webp"})
ISSUED = "toancanh.direction.directive.issued"


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
    tasks = [
        open_task(db, engine, principal, directive, spec, due, now=now)
        for spec, due in zip(body.tasks, deadlines, strict=True)
    ]
    figures.feed_tasks(db, tasks, now=now)
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
    """Run one step on a task, with its effects (the indicator values of its month included); refused steps
    change nothing."""
    now = now or utcnow()
    task = _step(db, engine, blobs, task, name, principal, fields, now)
    figures.feed_tasks(db, [task], now=now)
    return task


def _step(
    db: Session,
    engine: WorkflowEngine,
    blobs: BlobStore | None,
    task: DirectionTask,
    name: str,
    principal: Principal | None,
    fields: dict[str, Any],
    now: datetime,
) -> DirectionTask:
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
