"""`/facilities`: the registries of schools, health facilities and tourist sites the caller may see, with
their figures and a map."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request, Response

from toancanh.core.api.deps import SessionDep
from toancanh.modules.facilities import service
from toancanh.web import render
from toancanh.web.pages import locale_of, page_principal

router = APIRouter()
KIND_NAMES = {
    "school": ("Trường học", "Schools"),
    "health_facility": ("Cơ sở y tế", "Health facilities"),
    "tourism_site": ("Điểm du lịch", "Tourist sites"),
}

LABELS = {
    "level": ("Cấp", "Level"),
    "students": ("Học sinh", "Students"),
    "teachers": ("Giáo viên", "Teachers"),
    "classes": ("Lớp", "Classes"),
    "kitchens": ("Bếp ăn", "Kitchens"),
    "gates": ("Cổng", "Gates"),
    "beds": ("Giường bệnh", "Beds"),
    "icu_beds": ("Giường hồi sức", "ICU beds"),
    "staff": ("Nhân viên", "Staff"),
    "doctors": ("Bác sĩ", "Doctors"),
    "category": ("Loại hình", "Category"),
    "capacity": ("Sức chứa", "Capacity"),
}
VALUES = {
    "mam_non": ("Mầm non", "Preschool"),
    "tieu_hoc": ("Tiểu học", "Primary"),
    "thcs": ("THCS", "Lower secondary"),
    "thpt": ("THPT", "Upper secondary"),
    "lien_cap": ("Liên cấp", "Multi-level"),
    "tram_y_te": ("Trạm y tế", "Health station"),
    "phong_kham": ("Phòng khám", "Clinic"),
    "benh_vien_huyen": ("Bệnh viện tuyến huyện", "District hospital"),
    "benh_vien_tinh": ("Bệnh viện tuyến tỉnh", "Provincial hospital"),
    "di_tich": ("Di tích", "Heritage site"),
    "danh_thang": ("Danh thắng", "Scenic site"),
    "le_hoi": ("Lễ hội", "Festival"),
    "lang_nghe": ("Làng nghề", "Craft village"),
    "khu_du_lich": ("Khu du lịch", "Resort"),
    "khac": ("Khác", "Other"),
}


def _figures(figures: dict[str, Any], vi: bool) -> list[tuple[str, str]]:
    """(label, text) of a facility's figures, in the page's language; points list their cameras."""
    out = []
    for k, v in figures.items():
        label = LABELS.get(k, (k, k))[0 if vi else 1]
        if isinstance(v, list):
            if not v:
                continue
            cams = "camera" if vi else "camera(s)"
            text = ", ".join(
                p["name"] + (f" ({len(p['camera_ids'])} {cams})" if p["camera_ids"] else "") for p in v
            )
        elif isinstance(v, str):
            text = VALUES.get(v, (v, v))[0 if vi else 1]
        else:
            text = f"{v:,}".replace(",", ".") if vi else f"{v:,}"
        out.append((label, text))
    return out


@router.get("/facilities")
def facilities_page(
    request: Request,
    db: SessionDep,
    kind: str = Query("school", pattern="^(school|health_facility|tourism_site)$"),
) -> Any:
    principal = page_principal(request, db, "assets.read")
    if isinstance(principal, Response):
        return principal
    locale = locale_of(request)
    vi = locale == "vi"
    rows = [service.summary(a) for a in service.list_facilities(db, principal, kind)]
    for r in rows:
        r["shown"] = _figures(r["figures"], vi)
    points = [{"lat": r["lat"], "lon": r["lon"], "label": r["name"], "kind": kind} for r in rows]
    totals: dict[str, float] = {}
    for r in rows:
        for k, v in r["figures"].items():
            if isinstance(v, int | float) and not isinstance(v, bool):
                totals[k] = totals.get(k, 0) + v
            elif isinstance(v, list):
                totals[k] = totals.get(k, 0) + len(v)
    ctx = {
        "t": lambda vi, en: vi if locale == "vi" else en,
        "kind": kind,
        "kinds": {k: (vi if locale == "vi" else en) for k, (vi, en) in KIND_NAMES.items()},
        "rows": rows,
        "totals": [(LABELS.get(k, (k, k))[0 if vi else 1], int(v)) for k, v in totals.items()],
        "points": json.dumps(points, ensure_ascii=False),
        "tile_url": request.app.state.settings.gis_base_tile_url,
    }
    return render(request, "facilities/index.html", ctx)
