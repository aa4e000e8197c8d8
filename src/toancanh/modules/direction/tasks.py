"""The directed tasks a user may see (nhiệm vụ): scope (units, domains; agency staff only their agency's
tasks), the tracking list and the overdue flag, shared by the steps (`service`) and the figures (`figures`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, false, or_, select
from sqlalchemy.orm import Session

from toancanh.core.auth.scope import Principal, get_scoped, scope_condition, scoped
from toancanh.core.db import utcnow
from toancanh.core.errors import NotFound
from toancanh.core.units import Unit
from toancanh.core.workflow import SLA_OVERDUE
from toancanh.modules.direction.models import DirectionTask, DirectionTaskAgency, Directive
from toancanh.modules.direction.workflow import HOLDING_STATES

READ, ISSUE, ACT = "direction.read", "direction.issue", "direction.act"
OPEN_STATES = ("assigned", "in_progress", "submitted", "returned")

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
