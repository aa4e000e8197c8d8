"""The public weekly schedule (lịch công tác tuần công khai): `/lich-cong-tac` lists the units that publish
one, `/lich-cong-tac/{unit code}?week=2026-W49` shows a unit's published entries (no login, no internal
notes) and `/lich-cong-tac/{unit code}.pdf` prints it, as a People's Committee posts its leaders' week on its
portal."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from toancanh.core.api.deps import SessionDep
from toancanh.core.errors import AppError
from toancanh.core.units import unit_by_code
from toancanh.core.worktime import VN_TZ
from toancanh.modules.direction import calendar_pdf, calendar_week
from toancanh.modules.direction.calendar_pdf import WEEKDAYS
from toancanh.modules.direction.web import _t, vn
from toancanh.web import render
from toancanh.web.pages import locale_of

router = APIRouter(prefix="/lich-cong-tac")
WEEK = r"^\d{4}-W\d{2}$"
CODE = r"^[0-9A-Za-z]{1,16}$"


def _data(db: Any, code: str, week: str | None) -> dict[str, Any]:
    unit = unit_by_code(db, code)
    monday = calendar_week.parse_week(week, datetime.now(VN_TZ).date())
    return calendar_week.public_week(db, unit.id, monday)


@router.get("")
def units_page(request: Request, db: SessionDep) -> Response:
    ctx = {"t": _t(locale_of(request)), "units": calendar_week.public_units(db), "w": None}
    return render(request, "direction/public_calendar.html", ctx)  # type: ignore[no-any-return]


@router.get("/{code}.pdf")
def week_pdf(
    code: str, request: Request, db: SessionDep, week: str | None = Query(default=None, pattern=WEEK)
) -> Response:
    try:
        data = _data(db, code, week)
    except AppError as exc:
        return render(request, "error.html", {"title": str(exc.status)}, exc.status)  # type: ignore[no-any-return]
    pdf = calendar_pdf.week_pdf(data, locale_of(request))
    disposition = f'inline; filename="lich_cong_tac_{data["unit"]["code"]}_{data["week"]}.pdf"'
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})


@router.get("/{code}")
def week_page(
    code: str, request: Request, db: SessionDep, week: str | None = Query(default=None, pattern=WEEK)
) -> Response:
    locale = locale_of(request)
    try:
        data = _data(db, code, week)
    except AppError as exc:
        msg = exc.message if locale == "vi" else exc.message_en
        return render(request, "error.html", {"title": str(exc.status), "message": msg}, exc.status)  # type: ignore[no-any-return]
    i = 0 if locale == "vi" else 1
    days = [(d, WEEKDAYS[n][i], date.fromisoformat(d).strftime("%d/%m")) for n, d in enumerate(data["days"])]
    ctx = {"t": _t(locale), "vn": vn, "w": data, "days": days, "public": True, "units": []}
    return render(request, "direction/public_calendar.html", ctx)  # type: ignore[no-any-return]
