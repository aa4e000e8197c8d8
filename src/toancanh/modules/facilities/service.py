"""Registries of schools, health facilities and tourist sites (cơ sở giáo dục, y tế, du lịch).

A facility is a core asset (type school, health_facility or tourism_site) whose attributes hold its figures,
checked by kind (`schemas.FIGURES`): a school's students, teachers, classes, kitchens and gates with the
cameras that watch them; a health facility's beds, ICU beds, staff and doctors; a tourist site's capacity and
monthly visitors. Scope and audit are the assets' (assets.read / assets.write over the unit and the kind's
domain).

The figures flow into the indicators module as system values (`FAC_*` data elements of the catalogue), summed
per commune: stocks for the current month, visitors for the month they were counted in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.assets import Asset, create_asset, get_asset, list_assets, update_asset
from toancanh.core.auth.scope import Principal
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, NotFound
from toancanh.core.units import commune_map
from toancanh.core.worktime import VN_TZ
from toancanh.modules.facilities.schemas import DOMAIN_OF, FIGURES, FacilityIn, FacilityUpdate, VisitorsIn
from toancanh.modules.indicators import service as indicators

KINDS = tuple(FIGURES)

# data element -> (kind, how a facility adds to it)
ELEMENTS: dict[str, tuple[str, str]] = {
    "FAC_SCHOOLS": ("school", "count"),
    "FAC_STUDENTS": ("school", "students"),
    "FAC_TEACHERS": ("school", "teachers"),
    "FAC_SCHOOL_KITCHENS": ("school", "kitchens"),
    "FAC_SCHOOL_GATES": ("school", "gates"),
    "FAC_SCHOOL_CAMERAS": ("school", "cameras"),
    "FAC_HEALTH_FACILITIES": ("health_facility", "count"),
    "FAC_HEALTH_BEDS": ("health_facility", "beds"),
    "FAC_HEALTH_ICU_BEDS": ("health_facility", "icu_beds"),
    "FAC_HEALTH_STAFF": ("health_facility", "staff"),
    "FAC_HEALTH_DOCTORS": ("health_facility", "doctors"),
    "FAC_TOURIST_SITES": ("tourism_site", "count"),
    "FAC_TOURIST_VISITORS": ("tourism_site", "visitors"),
}


def _figures(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    try:
        return FIGURES[kind].model_validate(data).model_dump(mode="json")
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
        raise BadRequest(f"Số liệu không hợp lệ: {problems}", f"Invalid figures: {problems}") from None


def _camera_ids(figures: dict[str, Any]) -> set[int]:
    return {c for key in ("kitchens", "gates") for p in figures.get(key, []) for c in p["camera_ids"]}


def _check_cameras(db: Session, principal: Principal, figures: dict[str, Any]) -> None:
    for cid in sorted(_camera_ids(figures)):
        try:
            cam = get_asset(db, principal, cid)
        except NotFound:
            cam = None
        if cam is None or cam.type != "camera":
            raise BadRequest(f"Không có camera {cid}", f"No camera {cid}")


def summary(a: Asset) -> dict[str, Any]:
    attrs = a.attributes or {}
    return {
        "id": a.id,
        "kind": a.type,
        "code": a.code,
        "name": a.name,
        "unit_id": a.unit_id,
        "domain": a.domain,
        "lat": a.lat,
        "lon": a.lon,
        "address": attrs.get("address", ""),
        "figures": attrs.get("figures", {}),
        "visitors": attrs.get("visitors", {}),
        "status": a.status,
    }


def get(db: Session, principal: Principal, pk: int) -> Asset:
    a = get_asset(db, principal, pk)
    if a.type not in KINDS:
        raise NotFound()
    return a


def list_facilities(
    db: Session, principal: Principal, kind: str | None = None, unit_id: int | None = None
) -> list[Asset]:
    return list_assets(db, principal, types=[kind] if kind else list(KINDS), unit_id=unit_id)


def create(db: Session, principal: Principal, body: FacilityIn) -> Asset:
    figures = _figures(body.kind, body.figures)
    _check_cameras(db, principal, figures)
    a = create_asset(
        db,
        principal,
        code=body.code,
        type=body.kind,
        domain=DOMAIN_OF[body.kind],
        name=body.name,
        unit_id=body.unit_id,
        lat=body.lat,
        lon=body.lon,
        attributes={"address": body.address, "figures": figures, "visitors": {}},
    )
    feed(db, [a.unit_id])
    return a


def update(db: Session, principal: Principal, a: Asset, body: FacilityUpdate) -> Asset:
    changes: dict[str, Any] = {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}
    attrs = dict(a.attributes or {})
    if "figures" in changes:
        attrs["figures"] = _figures(a.type, changes.pop("figures"))
        _check_cameras(db, principal, attrs["figures"])
    if "address" in changes:
        attrs["address"] = changes.pop("address")
    update_asset(db, principal, a, attributes=attrs, **changes)
    feed(db, [a.unit_id])
    return a


def record_visitors(db: Session, principal: Principal, a: Asset, body: VisitorsIn) -> Asset:
    if a.type != "tourism_site":
        raise BadRequest("Chỉ điểm du lịch có lượt khách", "Only tourist sites count visitors")
    try:
        month = int(body.period[5:])
    except ValueError:
        month = 0
    if not 1 <= month <= 12:
        raise BadRequest(f"Tháng không hợp lệ: {body.period}", f"Invalid month: {body.period}")
    if body.period > utcnow().astimezone(VN_TZ).strftime("%Y-%m"):
        raise BadRequest("Tháng ở tương lai", "The month is in the future")
    attrs = dict(a.attributes or {})
    attrs["visitors"] = {**attrs.get("visitors", {}), body.period: body.visitors}
    update_asset(db, principal, a, attributes=attrs)
    feed(db, [a.unit_id], months=[body.period])
    return a


def _add(kind: str, how: str, figures: dict[str, Any]) -> float:
    if how == "count":
        return 1.0
    if how in ("kitchens", "gates"):
        return float(len(figures.get(how, [])))
    if how == "cameras":
        return float(len(_camera_ids(figures)))
    return float(figures.get(how, 0) or 0)


def values(
    db: Session,
    unit_ids: Iterable[int] | None = None,
    months: Iterable[str] | None = None,
    now: datetime | None = None,
) -> list[tuple[int, str, dict[str, float]]]:
    """The FAC_* values per commune: stocks in the current month, visitors in each month asked for (or
    every month recorded). Limited to the communes of `unit_ids` when given."""
    _, commune_of = commune_map(db)
    wanted = None if unit_ids is None else {commune_of.get(u, u) for u in unit_ids}
    current = (now or utcnow()).astimezone(VN_TZ).strftime("%Y-%m")
    out: dict[tuple[int, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    stmt = select(Asset).where(Asset.type.in_(KINDS), Asset.status != "retired")
    for a in db.scalars(stmt):
        cid = commune_of.get(a.unit_id)
        if cid is None or (wanted is not None and cid not in wanted):
            continue
        figures = (a.attributes or {}).get("figures", {})
        for code, (kind, how) in ELEMENTS.items():
            if kind != a.type or how == "visitors":
                continue
            out[(cid, current)][code] += _add(kind, how, figures)
        if a.type == "tourism_site":
            for period, n in ((a.attributes or {}).get("visitors") or {}).items():
                if months is None or period in months:
                    out[(cid, period)]["FAC_TOURIST_VISITORS"] += float(n)
    if wanted:
        for cid in wanted:  # a commune whose last facility went away reports zeros, not stale figures
            row = out[(cid, current)]
            for code, (_, how) in ELEMENTS.items():
                if how != "visitors":
                    row.setdefault(code, 0.0)
    return [(cid, period, dict(v)) for (cid, period), v in out.items()]


def feed(db: Session, unit_ids: Iterable[int] | None = None, months: Iterable[str] | None = None) -> int:
    """Write the FAC_* values of these units' communes (all when None) to the indicators module."""
    return indicators.record_system_values(db, values(db, unit_ids, months), actor="facilities")
