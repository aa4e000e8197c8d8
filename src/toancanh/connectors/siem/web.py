"""The information-security dashboard page (*bảng theo dõi an toàn thông tin*): `/siem`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from toancanh.connectors.siem import dashboard
from toancanh.connectors.siem.const import SEVERITY_LABELS
from toancanh.core.api.deps import SessionDep
from toancanh.core.errors import AppError
from toancanh.core.worktime import VN_TZ
from toancanh.web import render
from toancanh.web.pages import locale_of, page_principal

router = APIRouter()
WINDOW_LABELS = {
    "1h": ("1 giờ qua", "Last hour"),
    "24h": ("24 giờ qua", "Last 24 hours"),
    "7d": ("7 ngày qua", "Last 7 days"),
    "30d": ("30 ngày qua", "Last 30 days"),
}


def _vn(value: str) -> str:
    return datetime.fromisoformat(value).astimezone(VN_TZ).strftime("%H:%M:%S %d/%m/%Y")


@router.get("/siem")
def dashboard_page(
    request: Request,
    db: SessionDep,
    last: str = Query(default="24h", max_length=4),
) -> Any:
    """Infosec alerts by severity, kind, asset and unit, with the latest ones; filter by time window."""
    principal = page_principal(request, db, dashboard.PERMISSION)
    if isinstance(principal, Response):
        return principal
    locale = locale_of(request)
    status = 200
    error = ""
    try:
        start, end = dashboard.window(None, None, last)
    except AppError as exc:
        error = exc.message if locale == "vi" else exc.message_en
        status = 400
        last = "24h"
        start, end = dashboard.window(None, None, last)
    data = dashboard.summary(db, principal, start, end, locale=locale)

    def t(vi: str, en: str) -> str:
        return vi if locale == "vi" else en

    top = max([s["count"] for s in data["by_severity"]] + [1])
    return render(
        request,
        "siem/dashboard.html",
        {
            "t": t,
            "d": data,
            "last": last,
            "windows": [(k, t(*v)) for k, v in WINDOW_LABELS.items()],
            "sev_labels": {k: t(*v) for k, v in SEVERITY_LABELS.items()},
            "top": top,
            "vn": _vn,
            "error": error,
        },
        status,
    )
