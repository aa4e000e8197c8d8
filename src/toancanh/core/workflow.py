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
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import JSON, ForeignKey, Index, String, Text, and_, or_, select
from sqlalchemy.orm import Mapped, Session, declared_attr, mapped_column, object_session

from toancanh.core import audit, outbox
from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal, unit_path_of
from toancanh.core.db import Base, BigId, IdMixin, utcnow
from toancanh.core.errors import BadRequest, Conflict, Forbidden, Unprocessable
from toancanh.core.units import Agency
from toancanh.core.worktime import WorkCalendar

__all__ = [
    "ANY_STATE",
    "SLA_OK",
    "SLA_OVERDUE",
    "SLA_WARNING",
    "SUPERVISOR_ROLES",
    "CaseHistory",
    "CaseMixin",
    "CaseType",
    "EscalationHook",
    "Guard",
    "StateSLA",
    "Transition",
    "WorkflowEngine",
]

log = logging.getLogger("toancanh.workflow")

ANY_STATE = "*"
SLA_OK, SLA_WARNING, SLA_OVERDUE = "ok", "warning", "overdue"
_SLA_RANK = {SLA_OK: 0, SLA_WARNING: 1, SLA_OVERDUE: 2}
SUPERVISOR_ROLES = frozenset({"operator", "leader", "admin"})
"""Roles that may run an `assignee_only` transition without belonging to the assigned agency."""
# Names the engine uses for its own history rows and events.
_RESERVED = frozenset({"open", "opened", "sla_warning", "sla_overdue"})
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")

GuardResult = str | tuple[str, str] | None
Guard = Callable[[Any, Mapping[str, Any]], GuardResult]
"""guard(case, fields) -> None to allow, or a Vietnamese message (or a (vi, en) pair) to refuse."""
EscalationHook = Callable[[Session, Any, int], None]
"""hook(db, case, escalation_level), called when a case falls overdue."""


def _check_token(what: str, value: str, max_len: int) -> None:
    if not _TOKEN.fullmatch(value) or len(value) > max_len:
        raise ValueError(f"{what} {value!r} must be 1-{max_len} characters of [A-Za-z0-9_-]")


# --------------------------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Transition:
    """A named move between states, e.g. "assign", "accept", "resolve", "reopen"."""

    name: str
    sources: tuple[str, ...]
    """States it may start from; "*" means any non-final state. Final states must be listed by name."""
    target: str
    """The state it leads to; "*" stays in the current state, clocks untouched (a note, a transfer)."""
    permission: str
    """Checked with `principal.can(permission, case unit path, case domain)`."""
    required: tuple[str, ...] = ()
    """Fields that must be present and non-empty (e.g. "comment", "agency_id", "evidence")."""
    guard: Guard | None = None
    assignee_only: bool = False
    """Only staff of the assigned agency, or a holder of the permission with a `SUPERVISOR_ROLES` role."""
    label_vi: str = ""
    label_en: str = ""

    def __post_init__(self) -> None:
        _check_token("transition name", self.name, 32)
        if self.name in _RESERVED:
            raise ValueError(f"transition name {self.name!r} is reserved by the engine")
        object.__setattr__(self, "sources", tuple(self.sources))
        object.__setattr__(self, "required", tuple(self.required))
        if not self.sources:
            raise ValueError(f"transition {self.name!r} has no source state")
        if not self.permission:
            raise ValueError(f"transition {self.name!r} has no permission")

    def label(self, lang: str = "vi") -> str:
        return (self.label_en if lang == "en" else self.label_vi) or self.name


@dataclass(frozen=True)
class StateSLA:
    """The time allowed in a state, in WORKING time from entering it; "warning" at `warn_ratio` of it."""

    hours: float | None = None
    days: int | None = None
    warn_ratio: float = 0.75

    def __post_init__(self) -> None:
        if self.hours is None and self.days is None:
            raise ValueError("StateSLA needs hours or days")
        if (self.hours or 0) < 0 or (self.days or 0) < 0 or not (self.hours or self.days):
            raise ValueError("StateSLA hours/days must be >= 0 and not both zero")
        if not 0 < self.warn_ratio <= 1:
            raise ValueError("warn_ratio must be in (0, 1]")

    def deadline(self, calendar: WorkCalendar, start: datetime) -> datetime:
        """The moment this much working time after `start`."""
        due = start
        if self.days:
            due = calendar.add_working_days(due, self.days)
        if self.hours:
            due = calendar.add_working_hours(due, self.hours)
        return due


@dataclass(frozen=True, kw_only=True)
class CaseType:
    """The declaration of one kind of case: its states, transitions, deadlines and event subjects.

    Validated at construction; a mistake raises ValueError when the module is imported, not at run time.
    """

    name: str
    """e.g. "field_report"; also the audit entity type and the history `case_type`."""
    states: tuple[str, ...]
    initial: str
    final: tuple[str, ...]
    transitions: tuple[Transition, ...]
    sla: Mapping[str, StateSLA] = field(default_factory=dict)
    subject_prefix: str
    """Events go to f"{subject_prefix}.{transition}", e.g. "toancanh.reports.report.assign"."""
    labels_vi: Mapping[str, str] = field(default_factory=dict)
    labels_en: Mapping[str, str] = field(default_factory=dict)

    _by_name: Mapping[str, Transition] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_token("case type name", self.name, 40)
        for token in self.subject_prefix.split("."):
            _check_token(f"subject prefix {self.subject_prefix!r} token", token, 64)
        for attr in ("states", "final", "transitions"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))
        for attr in ("sla", "labels_vi", "labels_en"):
            object.__setattr__(self, attr, MappingProxyType(dict(getattr(self, attr))))
        states = set(self.states)
        if len(states) != len(self.states):
            raise ValueError(f"{self.name}: duplicate states")
        for s in self.states:
            if not s or s == ANY_STATE or len(s) > 32:
                raise ValueError(f"{self.name}: invalid state name {s!r}")
        if self.initial not in states:
            raise ValueError(f"{self.name}: initial state {self.initial!r} is not declared")
        if not self.final or not set(self.final) <= states:
            raise ValueError(
                f"{self.name}: final states {self.final!r} must be declared states (at least one)"
            )
        if self.initial in self.final:
            raise ValueError(f"{self.name}: the initial state cannot be final")
        by_name: dict[str, Transition] = {}
        for t in self.transitions:
            if t.name in by_name:
                raise ValueError(f"{self.name}: duplicate transition {t.name!r}")
            by_name[t.name] = t
            if t.target != ANY_STATE and t.target not in states:
                raise ValueError(f"{self.name}: transition {t.name!r} targets undeclared state {t.target!r}")
            unknown = [s for s in t.sources if s != ANY_STATE and s not in states]
            if unknown:
                raise ValueError(f"{self.name}: transition {t.name!r} starts from undeclared {unknown!r}")
        for where, keys in (("sla", self.sla), ("labels_vi", self.labels_vi), ("labels_en", self.labels_en)):
            if not set(keys) <= states:
                raise ValueError(
                    f"{self.name}: {where} names undeclared states {sorted(set(keys) - states)!r}"
                )
        if set(self.sla) & set(self.final):
            raise ValueError(f"{self.name}: final states cannot have an SLA")
        object.__setattr__(self, "_by_name", MappingProxyType(by_name))

    def find(self, name: str) -> Transition | None:
        return self._by_name.get(name)

    def is_final(self, state: str) -> bool:
        return state in self.final

    def starts_from(self, t: Transition, state: str) -> bool:
        """Whether `t` may start from `state` ("*" covers every non-final state)."""
        return state in t.sources or (ANY_STATE in t.sources and not self.is_final(state))

    def from_state(self, state: str) -> list[Transition]:
        """The transitions that may start from `state`, in declaration order."""
        return [t for t in self.transitions if self.starts_from(t, state)]

    def label(self, state: str, lang: str = "vi") -> str:
        return (self.labels_en if lang == "en" else self.labels_vi).get(state, state)


# --------------------------------------------------------------------------------------------- tables


class CaseMixin:
    """The workflow columns of a case table; combine with IdMixin and UnitScopedMixin.

    A `domain` column (sector, e.g. "traffic") is optional; when the model has one, grants limited to
    domains are checked against it.
    """

    if TYPE_CHECKING:
        id: Mapped[int]
        unit_id: Mapped[int]

    state: Mapped[str] = mapped_column(String(32), index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    state_since: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    sla_status: Mapped[str] = mapped_column(String(16), default=SLA_OK)
    escalation_level: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None] = mapped_column()

    @declared_attr
    def assignee_agency_id(cls) -> Mapped[int | None]:
        return mapped_column(BigId, ForeignKey("agencies.id"), index=True)

    @declared_attr
    def assignee_user_id(cls) -> Mapped[int | None]:
        return mapped_column(BigId, ForeignKey("users.id"), index=True)


class CaseHistory(IdMixin, Base):
    """One step in a case's life (shared by every case type): who moved it where, when, with what."""

    __tablename__ = "case_history"
    __table_args__ = (Index("ix_case_history_case", "case_type", "case_id"),)

    case_type: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int] = mapped_column(BigId)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(BigId)
    actor: Mapped[str] = mapped_column(String(80), default="system")
    transition: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    assignee_agency_id: Mapped[int | None] = mapped_column(BigId)
    assignee_user_id: Mapped[int | None] = mapped_column(BigId)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "case_type": self.case_type,
            "case_id": self.case_id,
            "at": self.at.isoformat(),
            "actor_id": self.actor_id,
            "actor": self.actor,
            "transition": self.transition,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "comment": self.comment,
            "data": self.data,
            "assignee_agency_id": self.assignee_agency_id,
            "assignee_user_id": self.assignee_user_id,
        }


# --------------------------------------------------------------------------------------------- engine

C = TypeVar("C", bound=CaseMixin)


class WorkflowEngine:
    """Runs every case type of the process on one working-time calendar. One per process."""

    def __init__(self, calendar: WorkCalendar | None = None) -> None:
        self.calendar = calendar or WorkCalendar.default()
        self._types: dict[str, CaseType] = {}
        self._hooks: dict[str, list[EscalationHook]] = {}

    # ----------------------------------------------------------------------------------------- registry

    def register(self, case_type: CaseType) -> CaseType:
        """Add a case type (registering the same declaration again is a no-op)."""
        known = self._types.get(case_type.name)
        if known is not None and known != case_type:
            raise ValueError(f"another case type is already registered as {case_type.name!r}")
        self._types[case_type.name] = case_type
        return case_type

    def get(self, name: str) -> CaseType:
        try:
            return self._types[name]
        except KeyError:
            raise KeyError(f"unknown case type {name!r}") from None

    def case_types(self) -> list[CaseType]:
        return list(self._types.values())

    def on_escalate(self, case_type_name: str, hook: EscalationHook) -> None:
        """Call `hook(db, case, level)` each time a case of that type falls overdue."""
        self._hooks.setdefault(case_type_name, []).append(hook)

    def _resolve(self, case_type: CaseType | str) -> CaseType:
        return self.get(case_type) if isinstance(case_type, str) else case_type

    # ----------------------------------------------------------------------------------------- deadlines

    def deadline(self, case_type: CaseType | str, state: str, start: datetime) -> datetime | None:
        """When a case entering `state` at `start` is due, or None when the state has no SLA."""
        sla = self._resolve(case_type).sla.get(state)
        return sla.deadline(self.calendar, start) if sla else None

    def sla_remaining(self, case: CaseMixin, now: datetime | None = None) -> float | None:
        """Working seconds left until `due_at` (negative when overdue), or None without a deadline."""
        now = _aware(now)
        due = case.due_at
        if due is None:
            return None
        if now <= due:
            return self.calendar.working_seconds_between(now, due)
        return -self.calendar.working_seconds_between(due, now)

    # ----------------------------------------------------------------------------------------- actions

    def open(
        self,
        db: Session,
        case_type: CaseType | str,
        case: C,
        actor: Principal | None,
        *,
        comment: str = "",
        now: datetime | None = None,
    ) -> CaseHistory:
        """Start a new case in the initial state: sets its clocks, adds it to `db` and records "open".

        Who may open a case is the module's decision (citizens open field reports); nothing is checked here.
        """
        ct = self._resolve(case_type)
        now = _aware(now)
        case.state = ct.initial
        case.opened_at = now
        case.state_since = now
        case.due_at = self.deadline(ct, ct.initial, now)
        case.sla_status = SLA_OK
        case.escalation_level = 0
        case.closed_at = None
        db.add(case)
        db.flush()  # the case id goes into the history row and the event
        fields = {"comment": comment} if comment else {}
        return self._record(
            db,
            ct,
            case,
            "open",
            None,
            actor,
            fields,
            now,
            subject=f"{ct.subject_prefix}.opened",
            audited=True,
        )

    def transition(
        self,
        db: Session,
        case_type: CaseType | str,
        case: C,
        name: str,
        actor: Principal | None,
        fields: Mapping[str, Any] | None = None,
        *,
        now: datetime | None = None,
    ) -> CaseHistory:
        """Run transition `name` on `case`. `actor` None is the system (rules, escalation): always allowed.

        Raises BadRequest (unknown transition, guard refusal), Conflict (not allowed from the current
        state), Forbidden (permission, assignee) or Unprocessable (missing fields, unknown assignee), all
        before anything is changed. Entering a state restarts its clock (state_since, due_at, sla_status
        "ok"); a "*" target keeps state and clocks. "agency_id" / "user_id" in `fields` assign the case; a
        new agency without a "user_id" clears the assigned user.
        """
        ct = self._resolve(case_type)
        fields = dict(fields or {})
        now = _aware(now)
        state = case.state
        t = ct.find(name)
        allowed = [x.name for x in ct.from_state(state)]
        if t is None:
            raise BadRequest(
                f"Không có thao tác '{name}'. Các thao tác được phép ở trạng thái "
                f"'{ct.label(state)}': {', '.join(allowed) or 'không có'}",
                f"Unknown transition '{name}'. Allowed from state '{ct.label(state, 'en')}': "
                f"{', '.join(allowed) or 'none'}",
                details={"transition": name, "state": state, "allowed": allowed},
            )
        if not ct.starts_from(t, state):
            raise Conflict(
                f"Không thể '{t.label()}' khi hồ sơ đang ở trạng thái '{ct.label(state)}'",
                f"Cannot '{t.label('en')}' a case in state '{ct.label(state, 'en')}'",
                details={"transition": name, "state": state, "allowed": allowed},
            )
        unit_path = unit_path_of(db, case.unit_id)
        if actor is not None:
            refusal = self._refusal(t, case, actor, unit_path)
            if refusal is not None:
                raise refusal
        missing = [f for f in t.required if _blank(fields.get(f))]
        if missing:
            raise Unprocessable(
                f"Thiếu thông tin bắt buộc: {', '.join(missing)}",
                f"Missing required fields: {', '.join(missing)}",
                details={"missing": missing},
            )
        agency_id = _assignee(db, fields, "agency_id", Agency)
        user_id = _assignee(db, fields, "user_id", User)
        if t.guard is not None:
            result = t.guard(case, fields)
            if result:
                vi, en = result if isinstance(result, tuple) else (result, f"Transition refused: {result}")
                raise BadRequest(
                    vi, en, details={"transition": name, "reason": vi}, code="transition_refused"
                )

        if agency_id is not None:
            if agency_id != case.assignee_agency_id and user_id is None:
                case.assignee_user_id = None
            case.assignee_agency_id = agency_id
        if user_id is not None:
            case.assignee_user_id = user_id
        if t.target != ANY_STATE:
            case.state = t.target
            case.state_since = now
            case.due_at = self.deadline(ct, t.target, now)
            case.sla_status = SLA_OK
            case.closed_at = now if ct.is_final(t.target) else None
        return self._record(
            db,
            ct,
            case,
            t.name,
            state,
            actor,
            fields,
            now,
            subject=f"{ct.subject_prefix}.{t.name}",
            audited=True,
            unit_path=unit_path,
        )

    def available(
        self,
        case_type: CaseType | str,
        case: CaseMixin,
        principal: Principal | None,
        *,
        unit_path: str | None = None,
    ) -> list[Transition]:
        """The transitions `principal` may try now (buttons for the UI); guards are not evaluated.

        The case's unit path is looked up through the case's session unless `unit_path` is given.
        """
        ct = self._resolve(case_type)
        candidates = ct.from_state(case.state)
        if principal is None:
            return candidates
        if unit_path is None:
            session = object_session(case)
            unit_path = unit_path_of(session, case.unit_id) if session is not None else None
        return [t for t in candidates if self._refusal(t, case, principal, unit_path) is None]

    def check_deadlines(
        self, db: Session, case_type: CaseType | str, model: type[C], now: datetime | None = None
    ) -> list[tuple[C, str, str]]:
        """Move open cases' `sla_status` forward ("ok" -> "warning" -> "overdue") as of `now`.

        Each change adds a history row ("sla_warning" / "sla_overdue", state unchanged) and an event; a case
        falling overdue climbs one escalation level and the escalation hooks run. Returns (case, old, new)
        per change. Idempotent: a second call with the same `now` changes nothing.
        """
        ct = self._resolve(case_type)
        now = _aware(now)
        stmt = (
            select(model)
            .where(
                model.state.not_in(ct.final),
                model.due_at.is_not(None),
                # cases that can change now: not yet warned, or past due and not yet marked overdue
                or_(model.sla_status == SLA_OK, and_(model.sla_status != SLA_OVERDUE, model.due_at < now)),
            )
            .order_by(model.id)
            .with_for_update(skip_locked=True)  # several workers on PostgreSQL; SQLite ignores it
        )
        changed: list[tuple[C, str, str]] = []
        for case in db.scalars(stmt).all():
            old = case.sla_status
            new = self._sla_status(ct, case, now)
            if _SLA_RANK[new] <= _SLA_RANK.get(old, 0):
                continue
            case.sla_status = new
            if new == SLA_OVERDUE:
                case.escalation_level += 1
            due = case.due_at
            data = {"due_at": due.isoformat() if due else None, "escalation_level": case.escalation_level}
            self._record(db, ct, case, f"sla_{new}", case.state, None, data, now, subject=None, audited=False)
            changed.append((case, old, new))
            if new == SLA_OVERDUE:
                for hook in self._hooks.get(ct.name, ()):
                    log.info("escalating %s %s to level %d", ct.name, case.id, case.escalation_level)
                    hook(db, case, case.escalation_level)
        return changed

    def history(self, db: Session, case_type: CaseType | str, case_id: int) -> list[CaseHistory]:
        """The case's history rows, oldest first."""
        name = case_type if isinstance(case_type, str) else case_type.name
        stmt = (
            select(CaseHistory)
            .where(CaseHistory.case_type == name, CaseHistory.case_id == case_id)
            .order_by(CaseHistory.id)
        )
        return list(db.scalars(stmt))

    # ----------------------------------------------------------------------------------------- internals

    def _sla_status(self, ct: CaseType, case: CaseMixin, now: datetime) -> str:
        due = case.due_at
        if due is None:
            return SLA_OK
        if now > due:
            return SLA_OVERDUE
        sla = ct.sla.get(case.state)
        ratio = sla.warn_ratio if sla else StateSLA.warn_ratio
        window = self.calendar.working_seconds_between(case.state_since, due)
        elapsed = self.calendar.working_seconds_between(case.state_since, now)
        return SLA_WARNING if window > 0 and elapsed >= ratio * window else SLA_OK

    @staticmethod
    def _refusal(t: Transition, case: CaseMixin, actor: Principal, unit_path: str | None) -> Forbidden | None:
        domain = getattr(case, "domain", None)
        if not actor.can(t.permission, unit_path, domain):
            return Forbidden(
                f"Bạn không có quyền '{t.label()}' hồ sơ này",
                f"You may not '{t.label('en')}' this case",
                details={"transition": t.name, "permission": t.permission},
            )
        if not t.assignee_only:
            return None
        if actor.agency_id is not None and actor.agency_id == case.assignee_agency_id:
            return None
        if any(
            g.role in SUPERVISOR_ROLES and g.covers(unit_path, domain) for g in actor.grants_for(t.permission)
        ):
            return None
        return Forbidden(
            f"Chỉ cơ quan được giao xử lý mới được '{t.label()}' hồ sơ này",
            f"Only the assigned agency may '{t.label('en')}' this case",
            details={"transition": t.name, "assignee_agency_id": case.assignee_agency_id},
        )

    def _record(
        self,
        db: Session,
        ct: CaseType,
        case: CaseMixin,
        name: str,
        from_state: str | None,
        actor: Principal | None,
        fields: Mapping[str, Any],
        now: datetime,
        *,
        subject: str | None,
        audited: bool,
        unit_path: str | None = None,
    ) -> CaseHistory:
        """Append the history row, the audit entry (when `audited`) and the event of one step."""
        actor_id = actor.user_id if actor else None
        actor_name = actor.username if actor else "system"
        data = _jsonable(fields)
        comment = fields.get("comment")
        row = CaseHistory(
            case_type=ct.name,
            case_id=case.id,
            at=now,
            actor_id=actor_id,
            actor=actor_name,
            transition=name,
            from_state=from_state,
            to_state=case.state,
            comment="" if comment is None else str(comment),
            data=data,
            assignee_agency_id=case.assignee_agency_id,
            assignee_user_id=case.assignee_user_id,
        )
        db.add(row)
        if audited:
            audit.record(
                db,
                f"{ct.name}.{name}",
                actor_id=actor_id,
                actor=actor_name,
                entity_type=ct.name,
                entity_id=case.id,
                unit_id=case.unit_id,
                changes={"state": [from_state, case.state], "fields": data},
            )
        outbox.emit(
            db,
            subject or f"{ct.subject_prefix}.{name}",
            {
                "case_type": ct.name,
                "case_id": case.id,
                "from": from_state,
                "to": case.state,
                "transition": name,
                "actor": actor_name,
                "actor_id": actor_id,
                "assignee_agency_id": case.assignee_agency_id,
                "assignee_user_id": case.assignee_user_id,
                "due_at": case.due_at.isoformat() if case.due_at else None,
                "sla_status": case.sla_status,
                "escalation_level": case.escalation_level,
            },
            unit_id=case.unit_id,
            domain=getattr(case, "domain", None),
            unit_path=unit_path,
        )
        return row


# --------------------------------------------------------------------------------------------- helpers


def _aware(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("naive datetime; use an aware one")
    return now


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Mapping | Sequence | set | frozenset):
        return len(value) == 0
    return False


def _assignee(db: Session, fields: Mapping[str, Any], key: str, model: type[Agency | User]) -> int | None:
    """The id of an active agency/user named by `fields[key]`, None when absent; Unprocessable otherwise."""
    value = fields.get(key)
    if value is None:
        return None
    ident: int | None = None
    if not isinstance(value, bool) and str(value).strip().isdigit():
        try:
            ident = int(value)
        except (TypeError, ValueError):
            ident = None
    row: Agency | User | None = None
    if ident is not None and ident < 2**63:
        row = db.get(Agency, ident) if model is Agency else db.get(User, ident)
    if ident is None or row is None or not row.active:
        what_vi, what_en = ("Cơ quan", "Agency") if model is Agency else ("Người dùng", "User")
        raise Unprocessable(
            f"{what_vi} được giao không tồn tại hoặc đã ngừng hoạt động",
            f"{what_en} to assign does not exist or is inactive",
            details={"field": key, "value": _jsonable(value)},
        )
    return ident


def _jsonable(value: Any) -> Any:
    """`value` made JSON-safe for history rows, audit entries and events."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return [_jsonable(v) for v in sorted(value, key=str)]
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)
