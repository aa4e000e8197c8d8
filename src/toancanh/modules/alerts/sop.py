"""Standard operating procedures (quy trình ứng phó, SOP): templates, runs, steps, and steps past due.

A `SopTemplate` lists the steps for one incident type: who is responsible (a role) and how many minutes
from the start they have. Starting a run copies the steps with their deadlines, so a template changed later
never changes a run already under way (the run keeps its `template_version`). Steps may be done out of
order (the field decides), but that is recorded. A step past due is escalated once to the unit's leaders.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core import audit, outbox
from toancanh.core.api.schemas import Strict
from toancanh.core.auth.scope import Principal, unit_path_of
from toancanh.core.auth.service import role_holders
from toancanh.core.db import Database, utcnow
from toancanh.core.errors import BadRequest, Conflict, Forbidden, Unprocessable
from toancanh.core.tasks import run_every, spawn_leased
from toancanh.core.workflow import WorkflowEngine
from toancanh.modules.alerts.models import Incident, SopRun, SopStep, SopTemplate
from toancanh.modules.alerts.workflow import INCIDENT

# The leaders over a unit and domain, as the reports' escalation finds them (it reads only
# `.unit_id` and `.domain`, which an incident has too).

log = logging.getLogger("toancanh.alerts.sop")

StepRole = Literal["operator", "leader", "agency_staff", "admin"]
StepAction = Literal["check", "call", "notify", "dispatch", "inform_public", "other"]
SUPERVISORS = frozenset({"operator", "admin"})
"""Roles that may record any step of a run in their area, whoever the step's role is."""
CHECK_EVERY_S = 30.0
FIRST_CHECK_AFTER_S = 5.0
STEP_DONE = "toancanh.alerts.sop.step_done"
STEP_OVERDUE = "toancanh.alerts.sop.step_overdue"
OVERDUE_BATCH = 500


class SopStepSpec(Strict):
    """One step of a template as an administrator writes it."""

    key: str = Field(pattern=r"^[a-z0-9_]{1,40}$")
    title_vi: str = Field(min_length=1, max_length=300)
    title_en: str = Field(default="", max_length=300)
    role: StepRole
    minutes: int = Field(ge=1, le=10080, description="time allowed from the start of the run (max 7 days)")
    action: StepAction = "check"


class SopTemplateSpec(Strict):
    """A whole template: what `create_template` and `update_template` accept."""

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    name_en: str = Field(default="", max_length=200)
    incident_type: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    auto_start: bool = True
    active: bool = True
    steps: list[SopStepSpec] = Field(min_length=1, max_length=50)

    @field_validator("steps")
    @classmethod
    def _unique_keys(cls, steps: list[SopStepSpec]) -> list[SopStepSpec]:
        keys = [s.key for s in steps]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"step keys must be unique; repeated: {', '.join(dupes)}")
        return steps


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


# ------------------------------------------------------------------------------------------- templates


def validate_template(data: Mapping[str, Any] | SopTemplateSpec) -> SopTemplateSpec:
    """The template checked, or Unprocessable with one entry per problem (same shape as request errors)."""
    if isinstance(data, SopTemplateSpec):
        return data
    try:
        return SopTemplateSpec.model_validate(data)
    except ValidationError as exc:
        details = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        raise Unprocessable("Quy trình không hợp lệ", "Invalid procedure", details=details) from None


def _require_configure(actor: Principal | None) -> None:
    if actor is not None and not actor.has("sops.configure"):
        raise Forbidden(
            "Bạn không có quyền cấu hình quy trình ứng phó",
            "You may not configure response procedures",
            details={"permission": "sops.configure"},
        )


def _check_unique(db: Session, spec: SopTemplateSpec, template_id: int | None) -> None:
    """One code per template, and one active template per incident type (the one auto-start runs)."""
    same_code = db.scalar(select(SopTemplate.id).where(SopTemplate.code == spec.code))
    if same_code is not None and same_code != template_id:
        raise Conflict(f"Đã có quy trình mã '{spec.code}'", f"A procedure with code '{spec.code}' exists")
    if not spec.active:
        return
    other = db.scalar(
        select(SopTemplate).where(
            SopTemplate.incident_type == spec.incident_type,
            SopTemplate.active.is_(True),
            SopTemplate.id != (template_id or -1),
        )
    )
    if other is not None:
        raise Conflict(
            f"Loại sự cố '{spec.incident_type}' đã có quy trình đang dùng ({other.code}); "
            "hãy sửa quy trình đó hoặc ngừng dùng nó trước",
            f"Incident type '{spec.incident_type}' already has an active procedure ({other.code}); "
            "edit it or deactivate it first",
            details={"active_template_id": other.id},
        )


def _fields(spec: SopTemplateSpec) -> dict[str, Any]:
    return {
        "code": spec.code,
        "name": spec.name,
        "name_en": spec.name_en,
        "incident_type": spec.incident_type,
        "auto_start": spec.auto_start,
        "active": spec.active,
        "steps": [s.model_dump() for s in spec.steps],
    }


def create_template(
    db: Session, actor: Principal | None, data: Mapping[str, Any] | SopTemplateSpec
) -> SopTemplate:
    """A new template (version 1); `actor` None is the system (the built-in procedures)."""
    _require_configure(actor)
    spec = validate_template(data)
    _check_unique(db, spec, None)
    template = SopTemplate(version=1, **_fields(spec))
    db.add(template)
    db.flush()
    audit.record_by(
        db,
        actor,
        "sop_template.create",
        entity_type="sop_template",
        entity_id=template.id,
        changes={"code": spec.code, "version": 1, "steps": len(spec.steps)},
    )
    return template


def update_template(
    db: Session, actor: Principal | None, template: SopTemplate, data: Mapping[str, Any] | SopTemplateSpec
) -> SopTemplate:
    """Replace a template's content; every save is a new version. Runs already started are unchanged."""
    _require_configure(actor)
    spec = validate_template(data)
    db.refresh(template, with_for_update=True)  # two saves at once must not both become version n + 1
    _check_unique(db, spec, template.id)
    before = {k: getattr(template, k) for k in _fields(spec)}
    after = _fields(spec)
    for key, value in after.items():
        setattr(template, key, value)
    template.version += 1
    db.flush()
    audit.record_by(
        db,
        actor,
        "sop_template.update",
        entity_type="sop_template",
        entity_id=template.id,
        changes={**audit.diff(before, after), "version": [template.version - 1, template.version]},
    )
    return template


def active_template(db: Session, incident_type: str) -> SopTemplate | None:
    """The procedure in use for an incident type, if any."""
    stmt = (
        select(SopTemplate)
        .where(SopTemplate.incident_type == incident_type, SopTemplate.active.is_(True))
        .order_by(SopTemplate.id.desc())
        .limit(1)
    )
    return db.scalar(stmt)


def template_row(template: SopTemplate) -> dict[str, Any]:
    return {
        "id": template.id,
        "code": template.code,
        "name": template.name,
        "name_en": template.name_en,
        "incident_type": template.incident_type,
        "auto_start": template.auto_start,
        "active": template.active,
        "version": template.version,
        "steps": template.steps,
        "updated_at": _iso(template.updated_at),
    }


# ------------------------------------------------------------------------------------------- runs


def start_run(
    db: Session,
    incident: Incident,
    template: SopTemplate,
    actor: Principal | None,
    now: datetime | None = None,
) -> SopRun:
    """Start `template` for `incident`: its steps are copied, each due `minutes` after `now`.

    `actor` None is the system (auto-start when the incident opens); a person needs sops.run there.
    """
    now = now or utcnow()
    if actor is not None:
        path = unit_path_of(db, incident.unit_id)
        if not actor.can("sops.run", path, incident.domain):
            raise Forbidden(
                "Bạn không có quyền chạy quy trình ứng phó cho sự cố này",
                "You may not run response procedures for this incident",
                details={"permission": "sops.run"},
            )
    if INCIDENT.is_final(incident.state):
        raise Conflict("Sự cố đã kết thúc", "The incident is over", details={"state": incident.state})
    if not template.active:
        raise BadRequest("Quy trình này đã ngừng sử dụng", "This procedure is no longer in use")
    running = db.scalar(
        select(SopRun.id).where(
            SopRun.incident_id == incident.id,
            SopRun.template_id == template.id,
            SopRun.completed_at.is_(None),
        )
    )
    if running is not None:
        raise Conflict(
            "Quy trình này đang được thực hiện cho sự cố",
            "This procedure is already running for the incident",
            details={"run_id": running},
        )
    run = SopRun(
        incident_id=incident.id,
        template_id=template.id,
        template_version=template.version,
        started_at=now,
        started_by_id=actor.user_id if actor else None,
        started_by=actor.username if actor else "system",
    )
    db.add(run)
    db.flush()
    for position, step in enumerate(template.steps):
        db.add(
            SopStep(
                run_id=run.id,
                position=position,
                key=step["key"],
                title=step["title_vi"],
                title_en=step.get("title_en", ""),
                role=step["role"],
                action=step.get("action", "check"),
                due_at=now + timedelta(minutes=int(step["minutes"])),
                status="pending",
            )
        )
    audit.record_by(
        db,
        actor,
        "sop_run.start",
        entity_type=INCIDENT.name,
        entity_id=incident.id,
        unit_id=incident.unit_id,
        changes={"run_id": run.id, "template": template.code, "version": template.version},
    )
    db.flush()
    return run


def run_steps(db: Session, run_id: int) -> list[SopStep]:
    return list(db.scalars(select(SopStep).where(SopStep.run_id == run_id).order_by(SopStep.position)))


def may_complete(actor: Principal, role: str, unit_path: str | None, domain: str | None) -> bool:
    """sops.run over the place, and the step's role there (or a supervisor's: operator, admin)."""
    if not actor.can("sops.run", unit_path, domain):
        return False
    return any(
        (g.role == role or g.role in SUPERVISORS) and g.covers(unit_path, domain) for g in actor.grants
    )


def complete_step(
    db: Session,
    step: SopStep,
    actor: Principal,
    note: str = "",
    skip: bool = False,
    now: datetime | None = None,
) -> SopStep:
    """Record a step as done (or skipped, with a reason): who and when, late or out of order."""
    now = now or utcnow()
    db.refresh(step, with_for_update=True)  # the same step recorded twice at once: the second one waits
    run = db.get(SopRun, step.run_id)
    incident = db.get(Incident, run.incident_id) if run else None
    if run is None or incident is None:
        raise RuntimeError(f"SOP step {step.id} has no run or incident")
    path = unit_path_of(db, incident.unit_id)
    if not may_complete(actor, step.role, path, incident.domain):
        raise Forbidden(
            "Bạn không có vai trò thực hiện bước này",
            "Your role may not record this step",
            details={"step_role": step.role, "permission": "sops.run"},
        )
    if incident.state == "merged":
        raise Conflict(
            "Sự cố đã được gộp; hãy thực hiện quy trình ở sự cố gộp vào",
            "The incident was merged; follow the procedure of the incident it was merged into",
        )
    if step.status != "pending":
        raise Conflict(
            f"Bước này đã được ghi nhận bởi {step.done_by}",
            f"This step was already recorded by {step.done_by}",
            details={"status": step.status, "done_at": _iso(step.done_at), "done_by": step.done_by},
        )
    note = note.strip()[:2000]
    if skip and not note:
        raise Unprocessable(
            "Cần ghi lý do bỏ qua bước", "A reason is needed to skip a step", details={"missing": ["note"]}
        )
    steps = run_steps(db, run.id)
    skipped_before = [s.key for s in steps if s.position < step.position and s.status == "pending"]
    late = now > step.due_at
    step.status = "skipped" if skip else "done"
    step.done_at = now
    step.done_by_id = actor.user_id
    step.done_by = actor.username
    step.note = note
    if all(s.status != "pending" for s in steps):
        run.completed_at = now
    facts = {
        "incident_id": incident.id,
        "run_id": run.id,
        "step_id": step.id,
        "key": step.key,
        "status": step.status,
        "late": late,
        "out_of_order": bool(skipped_before),
        "pending_before": skipped_before,
    }
    audit.record_by(
        db,
        actor,
        f"sop_step.{'skip' if skip else 'done'}",
        entity_type=INCIDENT.name,
        entity_id=incident.id,
        unit_id=incident.unit_id,
        changes={**facts, "note": note},
    )
    verb_vi, verb_en = ("bỏ qua", "skipped") if skip else ("hoàn thành", "done")
    outbox.emit(
        db,
        STEP_DONE,
        {
            **facts,
            "code": incident.code,
            "actor": actor.username,
            "actor_id": actor.user_id,
            "run_completed": run.completed_at is not None,
            "severity": "low",
            "title_vi": f'Sự cố {incident.code}: {verb_vi} bước "{step.title}"',
            "title_en": f'Incident {incident.code}: step "{step.title_en or step.title}" {verb_en}',
        },
        unit_id=incident.unit_id,
        domain=incident.domain,
    )
    db.flush()
    return step


# ------------------------------------------------------------------------------------------- overdue steps


def check_overdue_steps(db: Session, now: datetime | None = None) -> list[SopStep]:
    """Steps still pending past their deadline, not yet escalated: mark them and tell the unit's leaders.

    Once per step (escalated_at); steps of finished incidents are left alone. Safe with several workers
    on PostgreSQL (rows locked, SKIP LOCKED).
    """
    now = now or utcnow()
    stmt = (
        select(SopStep, SopRun, Incident)
        .join(SopRun, SopRun.id == SopStep.run_id)
        .join(Incident, Incident.id == SopRun.incident_id)
        .where(
            SopStep.status == "pending",
            SopStep.escalated_at.is_(None),
            SopStep.due_at < now,
            SopRun.completed_at.is_(None),
            Incident.state.not_in(INCIDENT.final),
        )
        .order_by(SopStep.due_at, SopStep.id)
        .limit(OVERDUE_BATCH)
        .with_for_update(skip_locked=True, of=SopStep)
    )
    leaders: dict[int, list[int]] = {}
    out: list[SopStep] = []
    for step, run, incident in db.execute(stmt).tuples().all():
        step.escalated_at = now
        if incident.id not in leaders:
            leaders[incident.id] = [
                u.id for u in role_holders(db, "leader", incident.unit_id, incident.domain)
            ]
        _escalate(db, step, run, incident, leaders[incident.id])
        out.append(step)
    if out:
        db.flush()
        log.info("SOP steps overdue: %d escalated", len(out))
    return out


def _escalate(db: Session, step: SopStep, run: SopRun, incident: Incident, leader_ids: list[int]) -> None:
    agencies = (
        [incident.assignee_agency_id] if step.role == "agency_staff" and incident.assignee_agency_id else []
    )
    outbox.emit(
        db,
        STEP_OVERDUE,
        {
            "id": step.id,
            "step_id": step.id,
            "run_id": run.id,
            "incident_id": incident.id,
            "code": incident.code,
            "key": step.key,
            "role": step.role,
            "due_at": _iso(step.due_at),
            "severity": "severe",
            "lat": incident.lat,
            "lon": incident.lon,
            "leader_ids": leader_ids,
            "notify_user_ids": leader_ids,
            "notify_agency_ids": agencies,
            "link": f"/alerts/incidents/{incident.id}",
            "title_vi": f'Sự cố {incident.code}: quá hạn bước "{step.title}", báo lãnh đạo',
            "title_en": f'Incident {incident.code}: step "{step.title_en or step.title}" is overdue, '
            "leaders notified",
        },
        unit_id=incident.unit_id,
        domain=incident.domain,
    )
    audit.record(
        db,
        "sop_step.overdue",
        entity_type=INCIDENT.name,
        entity_id=incident.id,
        unit_id=incident.unit_id,
        changes={"run_id": run.id, "step_id": step.id, "key": step.key, "leader_ids": leader_ids},
    )


# ------------------------------------------------------------------------------------------- the loop


def check_once(database: Database, engine: WorkflowEngine, now: datetime | None = None) -> dict[str, int]:
    """One pass: the incidents' own deadlines (the engine's SLA clocks), then the SOP steps past due.

    Each runs in its own transaction, so a failure of one is logged and does not hold back the other.
    """
    counts = {"incidents": 0, "steps": 0}
    passes: list[tuple[str, Callable[[Session], int]]] = [
        ("incidents", lambda s: len(engine.check_deadlines(s, INCIDENT, Incident, now))),
        ("steps", lambda s: len(check_overdue_steps(s, now))),
    ]
    for name, run in passes:
        try:
            with database.session() as s:
                counts[name] = run(s)
        except Exception:
            log.exception("alerts deadline pass %r failed", name)
    return counts


async def start(app: Any) -> None:
    """Startup hook: every 30 s, the incidents' deadlines and the SOP steps past due."""
    engine: WorkflowEngine = app.state.workflow
    database: Database = app.state.db
    spawn_leased(
        app,
        lambda: run_every(
            CHECK_EVERY_S,
            lambda: check_once(database, engine),
            "alerts-deadlines",
            first_after_s=FIRST_CHECK_AFTER_S,
        ),
        "alerts-deadlines",
    )
