"""Pages of indicators: the leader dashboard (/indicators) and the units' reports (/indicators/submissions).

Pages render server-side from the service; the static scripts draw the sparklines (ECharts) and the
choropleth (Leaflet) and act through the JSON API (the CSP allows no inline script).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import select

from toancanh.core.api.deps import SessionDep
from toancanh.core.auth.scope import scoped
from toancanh.core.errors import AppError, NotFound
from toancanh.core.units import Unit
from toancanh.modules.indicators import catalogue, forecasting, service, submissions
from toancanh.modules.indicators.models import Dataset, Submission
from toancanh.modules.indicators.periods import parse_period, period_of
from toancanh.modules.indicators.service import APPROVE, READ, SUBMIT
from toancanh.web import render
from toancanh.web.pages import locale_of, page_principal

router = APIRouter()
STATIC = Path(__file__).parent / "static"
_STATIC_NAME = re.compile(r"^[a-z0-9_-]+\.(js|css)$")
_MEDIA = {"js": "text/javascript", "css": "text/css"}
DOMAINS = {
    "administration": ("Hành chính công", "Public administration"),
    "economy": ("Kinh tế - xã hội", "Socio-economy"),
    "education": ("Giáo dục", "Education"),
    "health": ("Y tế", "Health"),
    "tourism": ("Du lịch", "Tourism"),
    "land": ("Đất đai", "Land"),
    "environment": ("Môi trường", "Environment"),
    "urban": ("Đô thị", "Urban"),
    "security": ("An ninh trật tự", "Security"),
    "traffic": ("Giao thông", "Traffic"),
}
JS = {
    "error": ("Có lỗi, vui lòng thử lại", "Something went wrong, please try again"),
    "uploading": ("Đang tải lên…", "Uploading…"),
    "imported": ("Đã nhập số liệu", "Values imported"),
    "row": ("Dòng", "Row"),
    "column": ("Cột", "Column"),
    "message": ("Lỗi", "Error"),
    "comment_needed": ("Nhập lý do trả lại", "Enter the reason for returning"),
    "no_data": ("Chưa có số liệu", "No data"),
    "actual": ("Thực tế", "Actual"),
    "forecast": ("Dự báo", "Forecast"),
    "interval": ("Khoảng dự báo", "Forecast interval"),
    "anomaly": ("Bất thường", "Anomaly"),
    "target": ("Kế hoạch", "Target"),
    "model": ("Mô hình", "Model"),
    "backtest": ("Sai số kiểm tra ngược (MAPE)", "Backtest error (MAPE)"),
    "too_short": ("Chuỗi số liệu quá ngắn để dự báo", "The series is too short to forecast"),
    "warning": ("Dự báo không đạt kế hoạch kỳ", "Forecast to miss the target in"),
}


def _lang(request: Request) -> str:
    return "en" if locale_of(request) == "en" else "vi"


@router.get("/indicators")
def dashboard(
    request: Request,
    db: SessionDep,
    domain: str | None = Query(default=None, max_length=40),
    period: str | None = Query(default=None, max_length=10),
    unit: str | None = Query(default=None, max_length=16),
) -> Any:
    """The leader dashboard: KPI tiles (actual vs target, change, trend), ranking and map of units."""
    principal = page_principal(request, db, READ)
    if isinstance(principal, Response):
        return principal
    lang = _lang(request)
    today = submissions.today_local()
    try:
        chosen = service.parse_or_default(period, today)
    except AppError:
        chosen = service.default_period(today)
    home = db.scalar(scoped(select(Unit), principal, Unit, READ).order_by(Unit.level, Unit.path).limit(1))
    if unit:
        asked = db.scalar(select(Unit).where(Unit.code == unit))
        if asked is not None and principal.can(READ, asked.path):
            home = asked
    tiles: list[dict[str, Any]] = []
    if home is not None:
        for ind in service.visible_indicators(db, principal, domain or None):
            if not principal.can(READ, home.path, ind.domain):
                continue
            p = service.period_for(ind, chosen)
            fig = service.figure(db, ind, home, p)
            if fig.value is None and all(t["value"] is None for t in fig.trend):
                continue  # nothing reported at all: not a tile
            fcast = forecasting.forecast_indicator(db, ind, home, p)
            tiles.append(
                {
                    "ind": ind,
                    "fig": fig,
                    "fc": fcast,
                    "trend_json": json.dumps(fig.trend),
                    "ahead_json": json.dumps(fcast.ahead),
                }
            )
    ranked = tiles[0]["ind"].code if tiles else ""
    months = [period_of(today, "month")]
    for _ in range(23):
        months.append(months[-1].previous())
    all_domains = sorted({i.domain for i in service.visible_indicators(db, principal)})
    return render(
        request,
        "indicators/dashboard.html",
        {
            "unit": home,
            "tiles": tiles,
            "period": chosen,
            "months": [m.code for m in months],
            "domain": domain or "",
            "domains": [(d, DOMAINS.get(d, (d, d))[0 if lang == "vi" else 1]) for d in all_domains],
            "ranked": ranked,
            "lang": lang,
            "i18n": json.dumps({k: v[0 if lang == "vi" else 1] for k, v in JS.items()}),
        },
    )


@router.get("/indicators/submissions")
def submissions_page(
    request: Request,
    db: SessionDep,
    dataset: str | None = Query(default=None, max_length=64),
    period: str | None = Query(default=None, max_length=10),
) -> Any:
    """Units: download the template, upload a file, see its errors, submit. Leaders: approve or return."""
    principal = page_principal(request, db)
    if isinstance(principal, Response):
        return principal
    if not (principal.has(READ) or principal.has(SUBMIT)):
        return render(request, "error.html", {"title": "403"}, 403)
    lang = _lang(request)
    datasets = list(db.scalars(select(Dataset).order_by(Dataset.code)))
    chosen = None
    if datasets:
        try:
            chosen = catalogue.dataset_by_code(db, dataset) if dataset else datasets[0]
        except NotFound:
            chosen = datasets[0]
    report: dict[str, Any] | None = None
    pending: list[dict[str, Any]] = []
    p = None
    if chosen is not None:
        try:
            p = parse_period(period) if period else None
        except AppError:
            p = None
        if p is None or p.type != chosen.period_type:
            p = period_of(submissions.today_local(), chosen.period_type)
        report = submissions.completeness(db, principal, chosen, p)
        base: Any = select(Submission, Unit).join(Unit, Unit.id == Submission.unit_id)
        stmt = scoped(base, principal, Submission, READ).where(
            Submission.dataset_id == chosen.id, Submission.state.in_(("submitted", "returned", "draft"))
        )
        for sub, u in db.execute(stmt.order_by(Submission.period.desc(), Unit.path).limit(100)):
            row = submissions.summary(sub, chosen, u, lang)
            row["can_approve"] = sub.state == "submitted" and principal.can(APPROVE, u.path, sub.domain)
            row["can_submit"] = sub.state in ("draft", "returned") and principal.can(
                SUBMIT, u.path, sub.domain
            )
            pending.append(row)
    return render(
        request,
        "indicators/submissions.html",
        {
            "datasets": datasets,
            "dataset": chosen,
            "period": p,
            "report": report,
            "pending": pending,
            "can_submit": principal.has(SUBMIT),
            "lang": lang,
            "i18n": json.dumps({k: v[0 if lang == "vi" else 1] for k, v in JS.items()}),
        },
    )


@router.get("/indicators/static/{name}")
def static_file(name: str) -> Response:
    path = STATIC / name
    if not _STATIC_NAME.fullmatch(name) or not path.is_file():
        raise NotFound()
    return FileResponse(
        path, media_type=_MEDIA[name.rsplit(".", 1)[1]], headers={"Cache-Control": "no-cache"}
    )
