"""Case workflows (*quy trình xử lý*): state machines, SLA clocks, assignment, escalation, history.

Field reports, incidents, violations and directed tasks are *cases*. A module declares its `CaseType` (states,
transitions with their permission, required fields and guards, and per-state deadlines, *hạn xử lý*), adds
`CaseMixin` to its own table, and lets the one `WorkflowEngine` of the process drive it:

- `open()` and `transition()` check everything first and raise a bilingual `AppError` before changing
  anything; then they change the case and add a `CaseHistory` row, an audit entry and an outbox event, all in
  the caller's transaction.
- Deadlines run on the working-time clock (`core.worktime`). `check_deadlines()` marks open cases "warning",
  then "overdue" (*quá hạn*); a case that falls overdue climbs one escalation level and the escalation hooks
  (*chuyển cấp*) run, e.g. to hand it to the parent unit's agency or to notify a leader.

Two requests acting on the same case at once: load the case with `with_for_update()` (PostgreSQL) before
calling `transition()`, so that the second request sees the first one's state.

Layout: `definitions` (what a module declares: `CaseType`, `Transition`, `StateSLA`), `models` (the
`CaseMixin` columns and the `CaseHistory` table), `engine` (the `WorkflowEngine`) and `watch`
(`DeadlineWatch`, the periodic deadline check of one case type in a running app).
"""

from toancanh.core.workflow.definitions import (
    ANY_STATE,
    SLA_OK,
    SLA_OVERDUE,
    SLA_WARNING,
    SUPERVISOR_ROLES,
    CaseType,
    EscalationHook,
    Guard,
    StateSLA,
    Transition,
)
from toancanh.core.workflow.engine import WorkflowEngine
from toancanh.core.workflow.models import CaseHistory, CaseMixin
from toancanh.core.workflow.watch import DeadlineWatch

__all__ = [
    "ANY_STATE",
    "SLA_OK",
    "SLA_OVERDUE",
    "SLA_WARNING",
    "SUPERVISOR_ROLES",
    "CaseHistory",
    "CaseMixin",
    "CaseType",
    "DeadlineWatch",
    "EscalationHook",
    "Guard",
    "StateSLA",
    "Transition",
    "WorkflowEngine",
]
