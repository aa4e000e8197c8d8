"""The `WorkflowEngine`: opens cases, runs transitions, moves SLA clocks and escalates, recording each
step as a history row, an audit entry and an outbox event."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time
from typing import Any, TypeVar

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, object_session

from toancanh.core import audit, outbox
from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal, unit_path_of
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, Conflict, Forbidden, Unprocessable
from toancanh.core.units import Agency
from toancanh.core.workflow.definitions import (
    ANY_STATE,
    SLA_OK,
    SLA_OVERDUE,
    SLA_WARNING,
    SUPERVISOR_ROLES,
    CaseType,
    EscalationHook,
    StateSLA,
    Transition,
)
from toancanh.core.workflow.models import CaseHistory, CaseMixin
from toancanh.core.worktime import WorkCalendar

log = logging.getLogger("toancanh.workflow")

_SLA_RANK = {SLA_OK: 0, SLA_WARNING: 1, SLA_OVERDUE: 2}

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

    def deadline(
        self, case_type: CaseType | str, state: str, start: datetime, case: Any = None
    ) -> datetime | None:
        """When a case entering `state` at `start` is due, or None when the state has no SLA."""
        sla = self._resolve(case_type).sla_of(case, state)
        return sla.deadline(self.calendar, start) if sla else None

    def sla_remaining(
        self, case: CaseMixin, now: datetime | None = None, case_type: CaseType | str | None = None
    ) -> float | None:
        """Seconds left until `due_at` (negative when overdue), or None without a deadline: working seconds,
        or wall-clock ones when `case_type` says the case's current deadline runs around the clock."""
        now = _aware(now)
        due = case.due_at
        if due is None:
            return None
        sla = self._resolve(case_type).sla_of(case, case.state) if case_type is not None else None
        between = (sla or _WORKING_CLOCK).seconds_between
        if now <= due:
            return between(self.calendar, now, due)
        return -between(self.calendar, due, now)

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
        case.due_at = self.deadline(ct, ct.initial, now, case)
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
            case.due_at = self.deadline(ct, t.target, now, case)
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
        sla = ct.sla_of(case, case.state)
        ratio = sla.warn_ratio if sla else StateSLA.warn_ratio
        between = (sla or _WORKING_CLOCK).seconds_between
        window = between(self.calendar, case.state_since, due)
        elapsed = between(self.calendar, case.state_since, now)
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
                **_titles(ct, case, name),
                **(ct.event_facts(case, name) if ct.event_facts else {}),
            },
            unit_id=case.unit_id,
            domain=getattr(case, "domain", None),
            unit_path=unit_path,
        )
        return row


# --------------------------------------------------------------------------------------------- helpers


_WORKING_CLOCK = StateSLA(hours=1)  # how a case without an SLA rule counts time: the working calendar
_SLA_WORDS = {"sla_warning": ("sắp đến hạn", "due soon"), "sla_overdue": ("quá hạn", "overdue")}


def _titles(ct: CaseType, case: Any, step: str) -> dict[str, str]:
    """Readable event titles for the live ticker, e.g. "Phản ánh #41: Đang xử lý"."""
    out = {}
    for lang, title in (("vi", ct.title_vi or ct.name), ("en", ct.title_en or ct.title_vi or ct.name)):
        text = f"{title} #{case.id}: {ct.label(case.state, lang)}"
        if step in _SLA_WORDS:
            text += f" — {_SLA_WORDS[step][0 if lang == 'vi' else 1]}"
        out[f"title_{lang}"] = text
    out["severity"] = {"sla_overdue": "high", "sla_warning": "medium"}.get(step, "low")
    return out


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
    if not isinstance(value, bool) and str(value).strip().isdecimal():
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
