"""Administrative units (đơn vị hành chính) and agencies (cơ quan, phòng ban).

Units form a tree: province (tỉnh/thành phố) > commune/ward (xã/phường/đặc khu) > optional sub-units
(thôn, tổ dân phố). Each unit keeps a materialized `path` of official codes ("/01/00664/0066401/") so that
"this unit and everything under it" is one indexed prefix match on both SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from toancanh.core.db import Base, BigId, IdMixin, TimestampMixin
from toancanh.core.errors import BadRequest, NotFound

LEVEL_PROVINCE = 1
LEVEL_COMMUNE = 2
LEVEL_SUBUNIT = 3
SUBUNIT_KINDS = ("thôn", "tổ dân phố", "ấp", "bản", "khu phố", "tổ", "khu")


class Unit(IdMixin, TimestampMixin, Base):
    """An administrative unit (đơn vị hành chính)."""

    __tablename__ = "units"

    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))  # tỉnh, thành phố trung ương, xã, phường, đặc khu, thôn ...
    level: Mapped[int]
    parent_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("units.id"), index=True)
    path: Mapped[str] = mapped_column(String(120), index=True)
    # None is stored as SQL NULL, not JSON null, which PostGIS's generated `geom` column cannot parse.
    boundary: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    population: Mapped[int | None]
    area_km2: Mapped[float | None]
    synthetic: Mapped[bool] = mapped_column(default=False)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "name": self.name,
            "kind": self.kind,
            "level": self.level,
            "parent_id": self.parent_id,
            "path": self.path,
            "lat": self.lat,
            "lon": self.lon,
            "population": self.population,
            "area_km2": self.area_km2,
            "synthetic": self.synthetic,
        }


class Agency(IdMixin, TimestampMixin, Base):
    """An agency (cơ quan, phòng ban, công an xã, trường học ...) attached to a unit."""

    __tablename__ = "agencies"

    unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("units.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(40))
    domains: Mapped[list[Any]] = mapped_column(JSON, default=list)
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    active: Mapped[bool] = mapped_column(default=True)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "unit_id": self.unit_id,
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "kind": self.kind,
            "domains": self.domains,
            "phone": self.phone,
            "email": self.email,
            "lat": self.lat,
            "lon": self.lon,
            "active": self.active,
        }


def unit_by_code(db: Session, code: str) -> Unit:
    unit = db.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise NotFound(f"Không có đơn vị mã {code}", f"No unit with code {code}")
    return unit


def add_unit(
    db: Session,
    *,
    code: str,
    name: str,
    kind: str,
    parent: Unit | None = None,
    boundary: dict[str, Any] | None = None,
    **fields: Any,
) -> Unit:
    """Create a unit under `parent` (None for a province); level and path follow from the parent."""
    if not code or "/" in code or len(code) > 16:
        raise BadRequest("Mã đơn vị không hợp lệ", "Invalid unit code")
    level = LEVEL_PROVINCE if parent is None else min(parent.level + 1, LEVEL_SUBUNIT)
    path = (parent.path if parent else "/") + code + "/"
    unit = Unit(
        code=code,
        name=name,
        kind=kind,
        level=level,
        parent_id=parent.id if parent else None,
        path=path,
        boundary=boundary,
        **fields,
    )
    db.add(unit)
    db.flush()
    return unit


def import_official_units(db: Session, province_codes: Iterable[str] | None = None) -> tuple[int, int]:
    """Load the official 2025 list (34 provinces, 3,321 communes) from the `vietnam-provinces` package.

    Idempotent: existing codes are updated in place. Returns (provinces, communes) touched.
    """
    import vietnam_provinces as vp

    with open(vp.NESTED_DIVISIONS_JSON_PATH, encoding="utf-8") as fh:
        data = json.load(fh)
    wanted = {str(c).zfill(2) for c in province_codes} if province_codes else None
    known = {p["code"] for p in data}
    if wanted and not wanted <= {str(c).zfill(2) for c in known}:
        bad = sorted(wanted - {str(c).zfill(2) for c in known})
        raise BadRequest(
            f"Mã tỉnh không tồn tại: {', '.join(bad)}", f"Unknown province code(s): {', '.join(bad)}"
        )
    existing = {u.code: u for u in db.scalars(select(Unit).where(Unit.level <= LEVEL_COMMUNE))}
    n_prov = n_comm = 0
    for p in data:
        pcode = str(p["code"]).zfill(2)
        if wanted and pcode not in wanted:
            continue
        prov = existing.get(pcode)
        if prov is None:
            prov = add_unit(db, code=pcode, name=p["name"], kind=p["division_type"])
        else:
            prov.name, prov.kind = p["name"], p["division_type"]
        n_prov += 1
        rows = []
        for w in p["wards"]:
            wcode = str(w["code"]).zfill(5)
            unit = existing.get(wcode)
            if unit is None:
                rows.append(
                    Unit(
                        code=wcode,
                        name=w["name"],
                        kind=w["division_type"],
                        level=LEVEL_COMMUNE,
                        parent_id=prov.id,
                        path=f"{prov.path}{wcode}/",
                    )
                )
            else:
                unit.name, unit.kind = w["name"], w["division_type"]
            n_comm += 1
        db.add_all(rows)
        db.flush()
    return n_prov, n_comm


def subtree_ids(db: Session, unit: Unit) -> list[int]:
    return list(db.scalars(select(Unit.id).where(Unit.path.startswith(unit.path))))


def get_unit(db: Session, unit_id: int) -> Unit:
    unit = db.get(Unit, unit_id)
    if unit is None:
        raise NotFound("Không tìm thấy đơn vị", "Unit not found")
    return unit


def unit_index(db: Session, holder: Any) -> Any:
    """The point-in-unit index over every unit with a boundary, cached on `holder` until units change."""
    from sqlalchemy import func

    from toancanh.core.geo import UnitIndex

    stamp = db.execute(
        select(func.count(), func.max(Unit.updated_at)).select_from(Unit).where(Unit.boundary.is_not(None))
    ).one()
    cached = getattr(holder, "unit_index", None)
    if cached is not None and cached[0] == tuple(stamp):
        return cached[1]
    rows = db.execute(select(Unit.id, Unit.boundary, Unit.level).where(Unit.boundary.is_not(None))).tuples()
    index = UnitIndex((i, b, lv) for i, b, lv in rows if b)
    holder.unit_index = (tuple(stamp), index)
    return index


def commune_map(db: Session, within: str | None = None) -> tuple[dict[int, int | None], dict[int, int]]:
    """({commune id: population}, {unit id: the id of its commune}) for every commune under the path `within`
    (all when None) and every unit at or below a commune. A commune is the second segment of a unit's path
    (/province/commune/hamlet/), so one read of the units answers for the whole tree."""
    stmt = select(Unit.id, Unit.path, Unit.level, Unit.population)
    if within:
        stmt = stmt.where(Unit.path.startswith(within))
    rows = list(db.execute(stmt.where(Unit.level >= LEVEL_COMMUNE)))
    by_path = {path: uid for uid, path, level, _ in rows if level == LEVEL_COMMUNE}
    communes = {uid: pop for uid, _, level, pop in rows if level == LEVEL_COMMUNE}
    commune_of: dict[int, int] = {}
    for uid, path, _, _ in rows:
        parts = path.split("/")  # ["", province, commune, ...]
        cid = by_path.get("/".join(parts[:3]) + "/") if len(parts) > 3 else None
        if cid is not None:
            commune_of[uid] = cid
    return communes, commune_of
