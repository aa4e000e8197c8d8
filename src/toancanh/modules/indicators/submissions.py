"""Submissions (nộp báo cáo) and their approval: a case on the workflow engine per dataset, unit and period.

    draft --submit--> submitted --approve--> approved (locked)
    returned <--return-- submitted;  returned --submit--> submitted

The values of a report follow its state (draft, submitted, approved, returned). Completeness and timeliness
(đủ, đúng hạn) per unit, and reminders to units that have not submitted by the deadline (an outbox event the
notifications module can route).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.orm import Session, aliased

from toancanh.core.auth.scope import Principal, scope_condition
from toancanh.core.db import utcnow
from toancanh.core.errors import Unprocessable
from toancanh.core.outbox import emit
from toancanh.core.units import Unit
from toancanh.core.workflow import CaseType, Transition, WorkflowEngine
from toancanh.core.worktime import VN_TZ
from toancanh.modules.indicators.models import Dataset, DataValue, Submission
from toancanh.modules.indicators.periods import Period, parse_period

SUBMIT, APPROVE, READ = "indicators.submit", "indicators.approve", "indicators.read"
LOCKED = ("submitted", "approved")

SUBMISSION = CaseType(
    name="indicator_submission",
    states=("draft", "submitted", "approved", "returned"),
    initial="draft",
    final=("approved",),
    transitions=(
        Transition("submit", ("draft", "returned"), "submitted", SUBMIT, label_vi="Nộp", label_en="Submit"),
        Transition("approve", ("submitted",), "approved", APPROVE, label_vi="Duyệt", label_en="Approve"),
        Transition(
            "return",
            ("submitted",),
            "returned",
            APPROVE,
            required=("comment",),
            label_vi="Trả lại",
            label_en="Return",
        ),
    ),
    subject_prefix="toancanh.indicators.submission",
    labels_vi={"draft": "Đang nhập", "submitted": "Đã nộp", "approved": "Đã duyệt", "returned": "Bị trả lại"},
    labels_en={"draft": "Draft", "submitted": "Submitted", "approved": "Approved", "returned": "Returned"},
    title_vi="Báo cáo số liệu",
    title_en="Data report",
)
_VALUE_STATUS = {"submitted": "submitted", "approved": "approved", "returned": "returned"}


def deadline(dataset: Dataset, period: Period) -> datetime:
    """The moment a unit's report is due: days after the period's last day, at the local time."""
    hh, mm = (int(x) for x in dataset.deadline_time.split(":"))
    day = period.end + timedelta(days=dataset.deadline_days)
    return datetime.combine(day, time(hh, mm), VN_TZ)


def locked_keys(
    db: Session, dataset: Dataset, unit_ids: list[int], periods: Iterable[str]
) -> set[tuple[int, str]]:
    periods = sorted(set(periods))
    if not unit_ids or not periods:
        return set()
    rows = db.execute(
        select(Submission.unit_id, Submission.period).where(
            Submission.dataset_id == dataset.id,
            Submission.unit_id.in_(unit_ids),
            Submission.period.in_(periods),
            Submission.state.in_(LOCKED),
        )
    )
    return {(u, p) for u, p in rows}


def ensure(
    db: Session, dataset: Dataset, keys: set[tuple[int, str]], now: datetime
) -> dict[tuple[int, str], Submission]:
    """The submissions of (unit id, period) pairs, drafts created in bulk where missing (no event: the import
    that creates them records one)."""
    unit_ids = sorted({u for u, _ in keys})
    periods = sorted({p for _, p in keys})
    stmt = select(Submission).where(
        Submission.dataset_id == dataset.id, Submission.unit_id.in_(unit_ids), Submission.period.in_(periods)
    )
    found = {(s.unit_id, s.period): s for s in db.scalars(stmt)}
    missing = keys - set(found)
    if missing:
        rows = [
            {
                "dataset_id": dataset.id,
                "unit_id": u,
                "domain": dataset.domain,
                "period": p,
                "state": SUBMISSION.initial,
                "opened_at": now,
                "state_since": now,
                "deadline_at": deadline(dataset, parse_period(p)),
            }
            for u, p in sorted(missing)
        ]
        db.execute(insert(Submission), rows)  # bulk: an import may open thousands at once
        created = {(u, p) for u, p in missing}
        periods_new = sorted({p for _, p in missing})
        for sub in db.scalars(
            select(Submission).where(
                Submission.dataset_id == dataset.id,
                Submission.unit_id.in_(sorted({u for u, _ in missing})),
                Submission.period.in_(periods_new),
            )
        ):
            if (sub.unit_id, sub.period) in created:
                found[(sub.unit_id, sub.period)] = sub
    return {k: found[k] for k in keys}


def refresh_counts(db: Session, ids: list[int]) -> None:
    """Recount the values of reports (one UPDATE with a correlated count)."""
    count = (
        select(func.count())
        .select_from(DataValue)
        .where(DataValue.submission_id == Submission.id)
        .scalar_subquery()
    )
    for i in range(0, len(ids), 5000):
        db.execute(
            update(Submission).where(Submission.id.in_(ids[i : i + 5000])).values(values_count=count),
            execution_options={"synchronize_session": False},
        )


def act(
    db: Session,
    engine: WorkflowEngine,
    sub: Submission,
    name: str,
    actor: Principal,
    comment: str = "",
    now: datetime | None = None,
) -> Submission:
    """Run submit / approve / return on a report, and move its values along."""
    now = now or utcnow()
    if name == "submit":
        dataset = db.get(Dataset, sub.dataset_id)
        assert dataset is not None
        have = set(db.scalars(select(DataValue.data_element_id).where(DataValue.submission_id == sub.id)))
        from toancanh.modules.indicators.catalogue import elements_by_code

        expected = elements_by_code(db, set(dataset.element_codes))
        missing = sorted(code for code, e in expected.items() if e.id not in have)
        if missing:
            raise Unprocessable(
                f"Báo cáo chưa đủ số liệu: thiếu {', '.join(missing)}",
                f"The report is incomplete: missing {', '.join(missing)}",
                details={"missing": missing},
                code="incomplete",
            )
    fields: dict[str, Any] = {"comment": comment} if comment else {}
    engine.transition(db, SUBMISSION, sub, name, actor, fields, now=now)
    if name == "submit":
        sub.submitted_at, sub.submitted_by = now, actor.username
    elif name == "approve":
        sub.approved_at, sub.approved_by = now, actor.username
    if comment:
        sub.comment = comment
    db.execute(
        update(DataValue).where(DataValue.submission_id == sub.id).values(status=_VALUE_STATUS[sub.state])
    )
    db.flush()
    return sub


def summary(sub: Submission, dataset: Dataset, unit: Unit | None, lang: str = "vi") -> dict[str, Any]:
    on_time = None
    if sub.submitted_at is not None:
        on_time = sub.submitted_at <= sub.deadline_at
    return {
        "id": sub.id,
        "dataset": dataset.code,
        "dataset_name": dataset.name,
        "unit_id": sub.unit_id,
        "unit_code": unit.code if unit else None,
        "unit_name": unit.name if unit else None,
        "domain": sub.domain,
        "period": sub.period,
        "state": sub.state,
        "state_label": SUBMISSION.label(sub.state, lang),
        "deadline_at": sub.deadline_at.isoformat(),
        "submitted_at": sub.submitted_at.isoformat() if sub.submitted_at else None,
        "submitted_by": sub.submitted_by,
        "approved_at": sub.approved_at.isoformat() if sub.approved_at else None,
        "approved_by": sub.approved_by,
        "comment": sub.comment,
        "values_count": sub.values_count,
        "expected_values": len(dataset.element_codes),
        "on_time": on_time,
    }


# ------------------------------------------------------------------------------------ completeness


def reporting_units(
    db: Session, principal: Principal, dataset: Dataset, permission: str = READ
) -> list[Unit]:
    """The units expected to report the dataset within the caller's scope: those of its levels, or else
    the leaves of the tree (units without sub-units), so that no figure is reported twice."""
    stmt = select(Unit).where(scope_condition(principal, Unit, permission))
    if dataset.unit_levels:
        stmt = stmt.where(Unit.level.in_(list(dataset.unit_levels)))
    else:
        child = aliased(Unit)
        stmt = stmt.where(~exists().where(child.parent_id == Unit.id), Unit.level > 1)
    return list(db.scalars(stmt.order_by(Unit.path)))


def completeness(
    db: Session, principal: Principal, dataset: Dataset, period: Period, now: datetime | None = None
) -> dict[str, Any]:
    """Per unit: state, on time or late, complete or not; and the totals. One query for the reports."""
    now = now or utcnow()
    due = deadline(dataset, period)
    units = reporting_units(db, principal, dataset)
    subs = {
        s.unit_id: s
        for s in db.scalars(
            select(Submission).where(
                and_(
                    Submission.dataset_id == dataset.id,
                    Submission.period == period.code,
                    Submission.unit_id.in_([u.id for u in units]),
                )
            )
        )
    }
    rows, submitted, on_time, late, overdue = [], 0, 0, 0, []
    for u in units:
        s = subs.get(u.id)
        done = s is not None and s.state in LOCKED
        row: dict[str, Any] = {
            "unit_id": u.id,
            "unit_code": u.code,
            "unit_name": u.name,
            "state": s.state if s else "missing",
            "submission_id": s.id if s else None,
            "submitted_at": s.submitted_at.isoformat() if s and s.submitted_at else None,
            "values_count": s.values_count if s else 0,
            "complete": bool(s and s.values_count >= len(dataset.element_codes)),
            "on_time": None,
        }
        if done and s is not None and s.submitted_at is not None:
            submitted += 1
            row["on_time"] = s.submitted_at <= due
            on_time += row["on_time"]
            late += not row["on_time"]
        elif now > due:
            overdue.append(row)
        rows.append(row)
    n = len(units)
    return {
        "dataset": dataset.code,
        "period": period.code,
        "deadline_at": due.isoformat(),
        "expected": n,
        "submitted": submitted,
        "on_time": on_time,
        "late": late,
        "missing": n - submitted,
        "completeness": round(submitted / n * 100, 1) if n else None,
        "timeliness": round(on_time / n * 100, 1) if n else None,
        "overdue": overdue,
        "units": rows,
    }


def remind_overdue(
    db: Session, principal: Principal, dataset: Dataset, period: Period, now: datetime | None = None
) -> list[dict[str, Any]]:
    """An event per unit that has not submitted by the deadline (the notifications module routes it)."""
    report = completeness(db, principal, dataset, period, now)
    for row in report["overdue"]:
        emit(
            db,
            "toancanh.indicators.submission.overdue",
            {
                "dataset": dataset.code,
                "period": period.code,
                "deadline_at": report["deadline_at"],
                "unit_code": row["unit_code"],
                "severity": "minor",
                "title_vi": f"{row['unit_name']} chưa nộp {dataset.name} kỳ {period.code}",
                "title_en": (
                    f"{row['unit_name']} has not submitted {dataset.name_en or dataset.code} "
                    f"for {period.code}"
                ),
            },
            unit_id=row["unit_id"],
            domain=dataset.domain,
        )
    return list(report["overdue"])


def today_local(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(VN_TZ).date()
