"""Figures of direction and operation (số liệu chỉ đạo điều hành): tasks received, done on time, done late,
overdue and open; the ranking of agencies; the e-documents register's figures; and their feed into the
indicators module, as values per unit and month.

Other modules call the figures here (`task_figures`, `agency_ranking`, `edocument_figures`, also reachable
through `service`). The indicators module gets them as data element values (TASK_*, EDOC_* in its catalogue)
through its own service, never through this module's tables:

    tasks       the cohort of tasks opened in the month (Vietnam time) at the unit, as they stand now:
                received, done on time, done late, overdue, open (TASK_ONTIME_RATE is the same on-time
                rate as the ranking's: done on time among the tasks whose outcome is known)
    e-documents the documents dated in the month at the unit, as they stand now (the register's figures)

Each month's values are recomputed whenever a task or a document of that cohort changes (in the same
transaction), every few minutes for the current and the previous month (overdue is a matter of time), and on
demand for any months (`toancanh direction feed-indicators`).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from toancanh.core.auth.scope import Principal, unit_path_of
from toancanh.core.db import Database, utcnow
from toancanh.core.errors import BadRequest, NotFound
from toancanh.core.tasks import run_every, spawn_leased
from toancanh.core.units import Agency, Unit, get_unit
from toancanh.core.worktime import VN_TZ
from toancanh.modules.direction import edocuments
from toancanh.modules.direction.models import DirectionTask, EDocument
from toancanh.modules.direction.tasks import only_own_agency, overdue_condition, scoped_tasks
from toancanh.modules.direction.workflow import DIRECTION_TASK, HOLDING_STATES
from toancanh.modules.indicators import service as indicators

log = logging.getLogger("toancanh.direction.figures")

TASK_ELEMENTS = ("TASK_RECEIVED", "TASK_DONE_ONTIME", "TASK_DONE_LATE", "TASK_OVERDUE", "TASK_OPEN")
"""Data element codes, in the order of `_figures_columns`."""
EDOC_ELEMENTS = (
    "EDOC_INCOMING",
    "EDOC_OUTGOING",
    "EDOC_IN_PROCESS_ONTIME",
    "EDOC_IN_PROCESS_OVERDUE",
    "EDOC_FINISHED_ONTIME",
    "EDOC_FINISHED_LATE",
    "EDOC_NO_ACTION",
    "EDOC_SIGNABLE",
    "EDOC_SIGNED",
    "EDOC_SENT",
    "EDOC_SENT_ELECTRONIC",
)
"""Data element codes, in the order of `edocuments.metric_columns`."""
FEED_EVERY_S = 600.0
FEED_FIRST_AFTER_S = 90.0
MAX_MONTHS = 120


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


# ------------------------------------------------------------------------------ feeding the indicators


def month_of(at: datetime | date) -> str:
    """The month code (2026-11) of a moment in Vietnam time, or of a day."""
    day = at.astimezone(VN_TZ).date() if isinstance(at, datetime) else at
    return f"{day.year:04d}-{day.month:02d}"


def month_days(code: str) -> tuple[date, date]:
    """The first and last day of a month code; BadRequest for anything else."""
    try:
        year, month = (int(x) for x in code.split("-"))
        first = date(year, month, 1)
    except ValueError as exc:
        raise BadRequest(
            f"Tháng không hợp lệ: '{code[:20]}' (ví dụ 2026-11)", f"Invalid month: '{code[:20]}'"
        ) from exc
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    return first, nxt - timedelta(days=1)


def months_between(first: str, last: str) -> list[str]:
    """The month codes from `first` to `last`, both included (at most MAX_MONTHS)."""
    lo, _ = month_days(first)
    hi, _ = month_days(last)
    if hi < lo:
        raise BadRequest("Tháng cuối trước tháng đầu", "The last month is before the first")
    out, day = [], lo
    while day <= hi:
        out.append(month_of(day))
        if len(out) > MAX_MONTHS:
            raise BadRequest(f"Tối đa {MAX_MONTHS} tháng một lần", f"At most {MAX_MONTHS} months at a time")
        day = month_days(out[-1])[1] + timedelta(days=1)
    return out


def _fill(
    month: str, elements: Sequence[str], rows: Iterable[Sequence[Any]], unit_ids: Collection[int] | None
) -> list[indicators.SystemValue]:
    """(unit, month, {element: value}) per grouped row, and zeros for the asked units without a row."""
    out: dict[int, dict[str, float]] = {}
    for unit_id, *values in rows:
        out[int(unit_id)] = {code: float(v or 0) for code, v in zip(elements, values, strict=True)}
    for unit_id in unit_ids or ():
        out.setdefault(unit_id, dict.fromkeys(elements, 0.0))
    return [(u, month, v) for u, v in sorted(out.items())]


def task_values(
    db: Session, month: str, unit_ids: Collection[int] | None = None, *, now: datetime | None = None
) -> list[indicators.SystemValue]:
    """The month's task figures per unit (of the tasks opened at that very unit, not its subtree: the
    indicators module adds the subtree up), in one grouped query."""
    first, last = month_days(month)
    stmt = (
        select(DirectionTask.unit_id, *_figures_columns(now or utcnow()))
        .where(
            DirectionTask.opened_at >= datetime.combine(first, time(0), VN_TZ),
            DirectionTask.opened_at < datetime.combine(last + timedelta(days=1), time(0), VN_TZ),
        )
        .group_by(DirectionTask.unit_id)
    )
    if unit_ids is not None:
        stmt = stmt.where(DirectionTask.unit_id.in_(sorted(unit_ids)))
    return _fill(month, TASK_ELEMENTS, db.execute(stmt), unit_ids)


def edocument_values(
    db: Session, month: str, unit_ids: Collection[int] | None = None, *, now: datetime | None = None
) -> list[indicators.SystemValue]:
    """The month's register figures per unit (documents dated in the month at that very unit)."""
    first, last = month_days(month)
    stmt = (
        select(EDocument.unit_id, *edocuments.metric_columns(now or utcnow()))
        .where(EDocument.document_date >= first, EDocument.document_date <= last)
        .group_by(EDocument.unit_id)
    )
    if unit_ids is not None:
        stmt = stmt.where(EDocument.unit_id.in_(sorted(unit_ids)))
    return _fill(month, EDOC_ELEMENTS, db.execute(stmt), unit_ids)


def _by_month(keys: Iterable[tuple[int, str]]) -> dict[str, set[int]]:
    months: dict[str, set[int]] = defaultdict(set)
    for unit_id, month in keys:
        months[month].add(unit_id)
    return months


def feed_tasks(db: Session, tasks: Iterable[DirectionTask], *, now: datetime | None = None) -> int:
    """Recompute the indicator values of the units and months these tasks belong to."""
    now = now or utcnow()
    rows = [
        row
        for month, units in _by_month((t.unit_id, month_of(t.opened_at or now)) for t in tasks).items()
        for row in task_values(db, month, units, now=now)
    ]
    return indicators.record_system_values(db, rows, actor="direction", now=now)


def feed_edocuments(db: Session, docs: Iterable[tuple[int, date]], *, now: datetime | None = None) -> int:
    """Recompute the indicator values of these (unit id, document date) pairs' units and months."""
    now = now or utcnow()
    rows = [
        row
        for month, units in _by_month((u, month_of(d)) for u, d in docs).items()
        for row in edocument_values(db, month, units, now=now)
    ]
    return indicators.record_system_values(db, rows, actor="direction", now=now)


def feed_months(db: Session, months: Sequence[str], *, now: datetime | None = None) -> dict[str, int]:
    """Recompute every unit's task and register values of these months (grouped queries per month)."""
    now = now or utcnow()
    tasks = [row for m in months for row in task_values(db, m, now=now)]
    docs = [row for m in months for row in edocument_values(db, m, now=now)]
    return {
        "months": len(months),
        "task_values": indicators.record_system_values(db, tasks, actor="direction", now=now),
        "edocument_values": indicators.record_system_values(db, docs, actor="direction", now=now),
    }


def recent_months(now: datetime) -> list[str]:
    """The previous and the current month (a task opened on the 31st may be overdue on the 2nd)."""
    this = month_of(now)
    first, _ = month_days(this)
    return [month_of(first - timedelta(days=1)), this]


def refresh_recent(db: Database, now: datetime | None = None) -> dict[str, int]:
    now = now or utcnow()
    with db.session() as s:
        counts = feed_months(s, recent_months(now), now=now)
    log.debug("indicator feed: %s", counts)
    return counts


async def start(app: Any) -> None:
    """Startup hook: the feed of the recent months, tied to the app's lifetime."""
    database: Database = app.state.db
    spawn_leased(
        app,
        lambda: run_every(
            FEED_EVERY_S,
            lambda: refresh_recent(database),
            "direction-indicators",
            first_after_s=FEED_FIRST_AFTER_S,
        ),
        "direction-indicators",
    )
