"""What a module declares about its cases: `CaseType` (states, deadlines, event subjects) and its
`Transition`s and `StateSLA`s, validated when the module is imported."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy.orm import Session

from toancanh.core.worktime import WorkCalendar

ANY_STATE = "*"
SLA_OK, SLA_WARNING, SLA_OVERDUE = "ok", "warning", "overdue"
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
    """The time allowed in a state from entering it; "warning" at `warn_ratio` of it.

    Working time (the calendar's hours and days) by default, as for field reports and tasks; emergencies
    (incidents) run `around_the_clock`, where `days`, `hours` and `minutes` are wall-clock time.
    """

    hours: float | None = None
    days: int | None = None
    warn_ratio: float = 0.75
    minutes: float | None = None
    around_the_clock: bool = False

    def __post_init__(self) -> None:
        parts = (self.hours, self.days, self.minutes)
        if all(p is None for p in parts):
            raise ValueError("StateSLA needs hours, days or minutes")
        if any((p or 0) < 0 for p in parts) or not any(parts):
            raise ValueError("StateSLA hours/days/minutes must be >= 0 and not all zero")
        if self.minutes and not self.around_the_clock:
            raise ValueError("StateSLA minutes are for around-the-clock deadlines")
        if not 0 < self.warn_ratio <= 1:
            raise ValueError("warn_ratio must be in (0, 1]")

    def deadline(self, calendar: WorkCalendar, start: datetime) -> datetime:
        """The moment this much (working, unless around the clock) time after `start`."""
        if self.around_the_clock:
            return start + timedelta(days=self.days or 0, hours=self.hours or 0, minutes=self.minutes or 0)
        due = start
        if self.days:
            due = calendar.add_working_days(due, self.days)
        if self.hours:
            due = calendar.add_working_hours(due, self.hours)
        return due

    def seconds_between(self, calendar: WorkCalendar, a: datetime, b: datetime) -> float:
        """The time this SLA counts between `a` and `b` (working seconds, or wall-clock seconds)."""
        if self.around_the_clock:
            return (b - a).total_seconds()
        return calendar.working_seconds_between(a, b)


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
    title_vi: str = ""
    """The case type in users' words, e.g. "Phản ánh"; the titles of its events start with it."""
    title_en: str = ""
    sla_for: Callable[[Any, str], StateSLA | None] | None = None
    """Optional per-case deadlines: sla_for(case, state), e.g. by priority or category; else `sla`."""
    event_facts: Callable[[Any, str], Mapping[str, Any]] | None = None
    """Optional facts every event of the case carries: event_facts(case, step) -> e.g. its code, place and a
    title in users' words; merged over the engine's own fields (and its generic titles)."""

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

    def sla_of(self, case: Any, state: str) -> StateSLA | None:
        """The deadline rule for `case` in `state`."""
        if self.is_final(state):
            return None
        if self.sla_for is not None and case is not None:
            return self.sla_for(case, state)
        return self.sla.get(state)

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
