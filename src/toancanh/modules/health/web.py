"""`/health`: the epidemic page: counts, the communes' levels on a map (coloured by the criteria table's
legend) and in a table, one commune's history of levels, and the criteria's citation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request, Response

from toancanh.core.api.deps import SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.modules.health import service
from toancanh.web import render
from toancanh.web.pages import locale_of, page_principal

router = APIRouter()

FLAGS = {
    "no_population": ("chưa có dân số", "no population"),
    "no_vaccination_data": ("chưa có số liệu tiêm chủng", "no vaccination figures"),
    "capacity_not_assessed": ("chưa đánh giá khả năng thu dung", "capacity not assessed"),
    "capacity_not_met": (
        "không đáp ứng thu dung, điều trị (+1 cấp)",
        "treatment capacity not met (+1 level)",
    ),
}


@router.get("/health")
def health_page(
    request: Request,
    db: SessionDep,
    criteria: str = Query("COVID19_QD4800", max_length=64),
    week: str | None = Query(None, pattern=r"^\d{4}-W\d{2}$"),
    unit_id: DbId | None = None,
) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    locale = locale_of(request)
    tables = service.list_criteria(db)
    crow = service.criteria_row(db, criteria)
    c = service.criteria_of(crow)
    data = service.levels(db, principal, criteria, week, locale=locale)
    history = (
        service.levels(db, principal, criteria, unit_id=unit_id, weeks=26, locale=locale) if unit_id else None
    )
    ctx = {
        "t": lambda vi, en: vi if locale == "vi" else en,
        "tables": tables,
        "criteria": crow,
        "metrics": c.metrics,
        "data": data,
        "history": history,
        "overview": service.overview(db, principal, c.disease),
        "flags": {k: v[0] if locale == "vi" else v[1] for k, v in FLAGS.items()},
        "personal": service.sector_principal(principal).has(service.PERSONAL),
        "tile_url": request.app.state.settings.gis_base_tile_url,
    }
    return render(request, "health/index.html", ctx)
