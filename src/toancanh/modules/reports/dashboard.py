"""The statistics page of field reports (thống kê): totals, the QĐ 766 rates, breakdowns, and the export."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from toancanh.core.api.deps import SessionDep
from toancanh.modules.reports.stats import Period, filtered, report_stats, stats_window
from toancanh.web import render
from toancanh.web.pages import page_principal

router = APIRouter()


@router.get("/reports/stats")
def stats_page(
    request: Request,
    db: SessionDep,
    start: date | None = None,
    end: date | None = None,
    period: Period = "week",
    by: str = Query(default="category", pattern="^(category|unit|agency)$"),
) -> Any:
    """The same figures as GET /api/v1/reports/stats, scoped the same way, for leaders and operators."""
    principal = page_principal(request, db, "reports.read")
    if isinstance(principal, Response):
        return principal
    data = report_stats(db, filtered(db, principal), stats_window(start, end, period))
    return render(request, "reports/stats.html", {"s": data, "by": by, "rows": data[f"by_{by}"]})
