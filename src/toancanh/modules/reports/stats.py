"""Statistics of field reports (thống kê phản ánh) and their Excel export.

Counts by state, deadline and rating, by category, unit, agency and period, over the reports opened in a
window of Vietnam-time days, limited to what the caller may read (the queue's scoping rule). With them the two
public-service metrics of Quyết định 766/QĐ-TTg: the rate handled on time (tỷ lệ xử lý đúng hạn: answered
reports that never fell overdue, over all answered reports) and the rate of satisfaction (tỷ lệ hài lòng:
ratings "satisfied" over all ratings).

"Late" means the report fell overdue at some step (its escalation level is above zero): the deadline loop
marks that within a minute, whichever deadline was missed (acknowledgement or resolution).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session

from toancanh.core import audit
from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.auth.scope import Principal
from toancanh.core.errors import BadRequest
from toancanh.core.units import Agency, Unit
from toancanh.core.worktime import VN_TZ
from toancanh.modules.reports import export, service
from toancanh.modules.reports.models import FieldReport, ReportCategory
from toancanh.modules.reports.workflow import FIELD_REPORT

Period = Literal["day", "week", "month"]
DEFAULT_DAYS = 30
MAX_SPAN_DAYS = 5 * 366
UNRESOLVED = ("received", "assigned", "in_progress", "paused")
ANSWERED = ("resolved", "closed")


@dataclass
class Counts:
    received: int = 0  # opened in the window
    in_process: int = 0  # not answered yet (received, assigned, in progress, paused)
    answered: int = 0  # resolved or closed
    closed: int = 0
    rejected: int = 0
    merged: int = 0
    on_time: int = 0  # answered without ever falling overdue
    late: int = 0  # answered after falling overdue
    overdue: int = 0  # not answered and overdue now
    rated: int = 0
    satisfied: int = 0
    rating_sum: int = 0

    def add(self, other: Counts) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = asdict(self)
        del out["rating_sum"]
        out["on_time_rate"] = _ratio(self.on_time, self.on_time + self.late)
        out["satisfaction_rate"] = _ratio(self.satisfied, self.rated)
        out["mean_rating"] = round(self.rating_sum / self.rated, 2) if self.rated else None
        return out


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass(frozen=True)
class Window:
    """Vietnam-time days `start`..`end` (both included), bucketed by `period`."""

    start: date
    end: date
    period: Period = "day"

    @classmethod
    def of(cls, start: date | None, end: date | None, period: Period, today: date) -> Window:
        """The window asked for, the last 30 days by default; a clear 400 for an impossible one."""
        end = end or today
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        if start.year < 1970 or end.year > 9000:
            raise BadRequest("Khoảng thời gian không hợp lệ", "Invalid date range")
        if start > end:
            raise BadRequest("Ngày bắt đầu sau ngày kết thúc", "The start date is after the end date")
        if (end - start).days >= MAX_SPAN_DAYS:
            raise BadRequest("Khoảng thời gian tối đa 5 năm", "The range may not exceed 5 years")
        return cls(start, end, period)

    def bounds(self) -> tuple[datetime, datetime]:
        """[from, before) as aware datetimes: Vietnam midnights."""
        return (
            datetime.combine(self.start, time(), VN_TZ),
            datetime.combine(self.end + timedelta(days=1), time(), VN_TZ),
        )

    def first_of(self, d: date) -> date:
        if self.period == "week":
            return d - timedelta(days=d.weekday())
        if self.period == "month":
            return d.replace(day=1)
        return d

    def buckets(self) -> list[str]:
        """Every bucket of the window, empty ones included (so that charts have no holes)."""
        out, d = [], self.first_of(self.start)
        while d <= self.end:
            out.append(d.isoformat())
            if self.period == "month":
                d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
            else:
                d += timedelta(days=7 if self.period == "week" else 1)
        return out


def _bucket(db: Session, period: Period) -> ColumnElement[Any]:
    """The first day (YYYY-MM-DD, Vietnam time) of the day, week (Monday) or month a report was opened in."""
    col = FieldReport.opened_at
    if db.get_bind().dialect.name == "postgresql":
        local = func.timezone("Asia/Ho_Chi_Minh", col)
        return func.to_char(func.date_trunc(period, local), "YYYY-MM-DD")
    # SQLite keeps UTC text; Vietnam has kept UTC+7 without daylight saving time since 1975.
    if period == "week":
        return func.date(col, "+7 hours", "weekday 0", "-6 days")
    if period == "month":
        return func.strftime("%Y-%m-01", col, "+7 hours")
    return func.date(col, "+7 hours")


def _count_if(cond: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.sum(case((cond, 1), else_=0))


_R = FieldReport
# The columns of `Counts`, in order, as aggregates over a group of reports.
_COUNTS: tuple[ColumnElement[Any], ...] = (
    func.count(),
    _count_if(_R.state.in_(UNRESOLVED)),
    _count_if(_R.state.in_(ANSWERED)),
    _count_if(_R.state == "closed"),
    _count_if(_R.state == "rejected"),
    _count_if(_R.state == "merged"),
    _count_if(and_(_R.state.in_(ANSWERED), _R.escalation_level == 0)),
    _count_if(and_(_R.state.in_(ANSWERED), _R.escalation_level > 0)),
    _count_if(and_(_R.state.in_(UNRESOLVED), _R.sla_status == "overdue")),
    func.count(_R.rating),
    _count_if(_R.satisfied.is_(True)),
    func.coalesce(func.sum(_R.rating), 0),
)


def filtered(
    db: Session,
    principal: Principal,
    *,
    unit_id: int | None = None,
    category_id: int | None = None,
    agency_id: int | None = None,
) -> Select[tuple[FieldReport]]:
    """The caller's reports (the queue's scope), optionally below one unit, of one category or agency."""
    stmt = service.scoped_reports(principal)
    if unit_id:
        unit = db.get(Unit, unit_id)
        below = select(Unit.id).where(Unit.path.startswith(unit.path if unit else "/none/"))
        stmt = stmt.where(FieldReport.unit_id.in_(below))
    if category_id:
        stmt = stmt.where(FieldReport.category_id == category_id)
    if agency_id:
        stmt = stmt.where(FieldReport.assignee_agency_id == agency_id)
    return stmt


def report_stats(db: Session, base: Select[tuple[FieldReport]], window: Window) -> dict[str, Any]:
    """The figures of the reports of `base` opened in `window`: totals and by category, unit, agency, period.

    One grouped query per breakdown, so that no query has more groups than there are units or days; each
    breakdown partitions the same reports (the totals are the sum of the categories).
    """
    r = FieldReport
    start, before = window.bounds()
    in_window = base.where(r.opened_at >= start, r.opened_at < before)
    keys: dict[str, Any] = {
        "category": r.category_id,
        "unit": r.unit_id,
        "agency": r.assignee_agency_id,
        "period": _bucket(db, window.period),
    }
    dims: dict[str, dict[Any, Counts]] = {}
    for dim, key in keys.items():
        stmt = in_window.with_only_columns(key, *_COUNTS).group_by(key)
        rows = db.execute(stmt).tuples()
        dims[dim] = {k if dim != "period" else str(k): Counts(*(int(n or 0) for n in ns)) for k, *ns in rows}
    total = Counts()
    for counts in dims["category"].values():
        total.add(counts)
    return {
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
        "period": window.period,
        "totals": total.as_dict(),
        "qd766": {
            "on_time_rate": total.as_dict()["on_time_rate"],
            "satisfaction_rate": total.as_dict()["satisfaction_rate"],
            "label_on_time_vi": "Tỷ lệ xử lý đúng hạn",
            "label_on_time_en": "Handled on time",
            "label_satisfaction_vi": "Tỷ lệ hài lòng",
            "label_satisfaction_en": "Satisfaction",
        },
        "by_category": _named(db, dims["category"], ReportCategory),
        "by_unit": _named(db, dims["unit"], Unit),
        "by_agency": _named(db, dims["agency"], Agency),
        "by_period": [{"bucket": b, **dims["period"].get(b, Counts()).as_dict()} for b in window.buckets()],
    }


def _named(db: Session, groups: dict[Any, Counts], model: Any) -> list[dict[str, Any]]:
    """One row per group with the row's code and name, the largest first; None (no agency yet) last."""
    ids = [k for k in groups if k is not None]
    names = {row.id: row for row in db.scalars(select(model).where(model.id.in_(ids)))} if ids else {}
    out = []
    for key, counts in sorted(groups.items(), key=lambda kv: (kv[0] is None, -kv[1].received)):
        row = names.get(key)
        out.append(
            {
                "id": key,
                "code": getattr(row, "code", None),
                "name": getattr(row, "name", None) or ("Chưa giao" if key is None else str(key)),
                **counts.as_dict(),
            }
        )
    return out


# ------------------------------------------------------------------------------------------- HTTP

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def stats_window(start: date | None, end: date | None, period: Period) -> Window:
    return Window.of(start, end, period, datetime.now(VN_TZ).date())


@router.get("/stats")
def stats(
    db: SessionDep,
    principal: CurrentPrincipal,
    start: date | None = None,
    end: date | None = None,
    period: Period = "day",
    unit_id: DbId | None = None,
    category: str | None = Query(default=None, max_length=40),
    agency_id: DbId | None = None,
) -> dict[str, Any]:
    """Counts, deadlines and satisfaction of the reports opened from `start` to `end` (Vietnam dates,
    both included; the last 30 days by default), by category, unit, agency and day/week/month."""
    principal.require("reports.read")
    cat_id = service.category_by_code(db, category).id if category else None
    base = filtered(db, principal, unit_id=unit_id, category_id=cat_id, agency_id=agency_id)
    return report_stats(db, base, stats_window(start, end, period))


@router.get(
    "/export.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "An Excel workbook"}},
)
def export_xlsx(
    db: SessionDep,
    principal: CurrentPrincipal,
    start: date | None = None,
    end: date | None = None,
    period: Period = "day",
    state: Annotated[list[str] | None, Query(max_length=10)] = None,
    category: str | None = Query(default=None, max_length=40),
    unit_id: DbId | None = None,
    agency_id: DbId | None = None,
    overdue: bool | None = None,
    priority: str | None = Query(default=None, pattern="^(normal|urgent)$"),
    limit: int = Query(default=10_000, ge=1, le=export.MAX_ROWS),
) -> Response:
    """The queue rows opened in the window (Vietnamese headers) and a sheet of the window's statistics
    (by unit, category and agency filters; the state, overdue and priority filters apply to the rows only).

    The reporter's name and contacts only for callers allowed to see them; every export is audited.
    """
    principal.require("reports.read")
    window = stats_window(start, end, period)
    cat_id = service.category_by_code(db, category).id if category else None
    opened_from, opened_before = window.bounds()
    rows: list[FieldReport] = []
    while len(rows) < limit:
        asked = min(1000, limit - len(rows))
        page = service.staff_queue(
            db,
            principal,
            states=state or (),
            category_id=cat_id,
            unit_id=unit_id,
            agency_id=agency_id,
            overdue=overdue,
            priority=priority,
            limit=asked,
            before_id=rows[-1].id if rows else None,
            opened_from=opened_from,
            opened_before=opened_before,
        )
        rows += page
        if len(page) < asked:
            break
    figures = report_stats(
        db, filtered(db, principal, unit_id=unit_id, category_id=cat_id, agency_id=agency_id), window
    )
    book = export.workbook(db, principal, rows, figures)
    audit.record_by(
        db,
        principal,
        "field_report.export",
        entity_type=FIELD_REPORT.name,
        changes={
            "rows": len(rows),
            "identity_of": book.identity_ids,
            "filters": {
                "start": window.start.isoformat(),
                "end": window.end.isoformat(),
                "state": state,
                "category": category,
                "unit_id": unit_id,
                "agency_id": agency_id,
                "overdue": overdue,
                "priority": priority,
            },
        },
    )
    name = f"phan-anh-{window.start:%Y%m%d}-{window.end:%Y%m%d}.xlsx"
    return Response(
        book.data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
