"""Epidemic monitoring: the registers (cases, contacts, tests, quarantines, lockdown points, quarantine zones,
vaccination coverage, treatment capacity), who sees what of them, and the weekly epidemic level per commune.

Privacy (Nghị định 13/2023/NĐ-CP): every register is scoped by unit and by the health domain. Health-sector
grants (a grant whose domains name "health", or an admin) see personal data and keep the personal registers
(contacts, tests, quarantines); other readers of the health module see cases anonymized (code, age group,
sex, commune, dates, status, a place rounded to about 1 km) and counts. Every read of personal data is
audited.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from toancanh.core import audit, outbox
from toancanh.core.assets import Asset
from toancanh.core.auth.permissions import role_has
from toancanh.core.auth.scope import (
    Principal,
    ScopedGrant,
    get_scoped,
    scope_condition,
    scoped,
    unit_path_of,
)
from toancanh.core.db import Base, Database, utcnow
from toancanh.core.errors import BadRequest, Conflict, Forbidden, NotFound
from toancanh.core.geo import GeoError, shape_from_geojson
from toancanh.core.tasks import run_every, spawn_leased
from toancanh.core.units import LEVEL_SUBUNIT, Unit, commune_map
from toancanh.core.worktime import VN_TZ
from toancanh.modules.health import schemas
from toancanh.modules.health.levels import (
    Criteria,
    WeekInputs,
    describe,
    evaluate,
    parse_criteria,
    shipped_criteria,
)
from toancanh.modules.health.models import (
    DOMAIN,
    HealthCapacity,
    HealthCase,
    HealthContact,
    HealthCriteria,
    HealthLevel,
    HealthLockdown,
    HealthQuarantine,
    HealthTest,
    HealthVaccination,
    HealthZone,
)

READ = "health.read"
WRITE = "health.write"
PERSONAL = "health.personal"
CRITERIA = "health.criteria"


# ------------------------------------------------------------------------------------------ privacy


def _health_sector(g: ScopedGrant) -> bool:
    return g.role == "admin" or (g.domains is not None and DOMAIN in g.domains)


def sector_principal(principal: Principal) -> Principal:
    """The caller reduced to their health-sector grants (those that may see personal health data)."""
    return dataclasses.replace(principal, grants=tuple(g for g in principal.grants if _health_sector(g)))


def personal_ok(principal: Principal, unit_path: str | None, permission: str = PERSONAL) -> bool:
    return any(
        _health_sector(g) and role_has(g.role, permission) and g.covers(unit_path, DOMAIN)
        for g in principal.grants
    )


def age_group(birth_year: int | None, on: date) -> str:
    if birth_year is None:
        return "unknown"
    age = on.year - birth_year
    for upper, label in ((17, "0-17"), (49, "18-49"), (64, "50-64")):
        if age <= upper:
            return label
    return "65+"


def _iso(v: date | datetime | None) -> str | None:
    return v.isoformat() if v is not None else None


# ------------------------------------------------------------------------------------------ registers


@dataclass(frozen=True)
class Register:
    """One kind of health record and how the API handles it."""

    name: str  # the URL segment: /api/v1/health/<name>
    model: type[Base]
    create: type[BaseModel]
    patch: type[BaseModel]
    personal: bool  # only health-sector grants list or read it
    write_personal: bool  # only health-sector grants write it
    fields: tuple[str, ...]  # what the summary shows (besides id, unit_id, created/updated)
    hidden: tuple[str, ...] = ()  # personal fields removed from anonymized summaries
    order: str = "id"
    check: Callable[[Session, Principal, dict[str, Any]], None] | None = None
    entity: str = ""

    @property
    def event(self) -> str:
        return self.entity or self.name.rstrip("s")


def _ref(db: Session, principal: Principal, model: Any, pk: int | None, what_vi: str, what_en: str) -> None:
    if pk is None:
        return
    perm = READ if model is not Asset else "assets.read"
    try:
        get_scoped(db, sector_principal(principal) if model is not Asset else principal, model, pk, perm)
    except NotFound:
        raise BadRequest(f"{what_vi} không tồn tại: {pk}", f"{what_en} does not exist: {pk}") from None


def _facility(db: Session, principal: Principal, pk: int | None) -> None:
    _ref(db, principal, Asset, pk, "Cơ sở", "Facility")


def _not_future(value: date | None, name: str) -> None:
    today = datetime.now(VN_TZ).date()
    if value is not None and value > today:
        raise BadRequest(f"Ngày {name} ở tương lai: {value}", f"{name} is in the future: {value}")


def _order(a: date | None, b: date | None, a_name: str, b_name: str) -> None:
    if a is not None and b is not None and b < a:
        raise BadRequest(f"{b_name} trước {a_name}", f"{b_name} is before {a_name}")


def _check_case(db: Session, principal: Principal, d: dict[str, Any]) -> None:
    _not_future(d.get("confirmed_on"), "confirmed_on")
    _order(d.get("onset_on"), d.get("confirmed_on"), "onset_on", "confirmed_on")
    if (d.get("lat") is None) != (d.get("lon") is None):
        raise BadRequest("Cần cả vĩ độ và kinh độ", "lat and lon go together")
    _facility(db, principal, d.get("treatment_place_id"))


def _check_contact(db: Session, principal: Principal, d: dict[str, Any]) -> None:
    _not_future(d.get("last_contact_on"), "last_contact_on")
    _ref(db, principal, HealthCase, d.get("case_id"), "Ca bệnh", "Case")


def _check_test(db: Session, principal: Principal, d: dict[str, Any]) -> None:
    _not_future(d.get("sampled_on"), "sampled_on")
    _order(d.get("sampled_on"), d.get("result_on"), "sampled_on", "result_on")
    if d.get("result") in ("positive", "negative") and d.get("result_on") is None:
        raise BadRequest("Có kết quả thì cần ngày trả kết quả", "a result needs result_on")
    _ref(db, principal, HealthCase, d.get("case_id"), "Ca bệnh", "Case")
    _ref(db, principal, HealthContact, d.get("contact_id"), "Người tiếp xúc", "Contact")


def _check_quarantine(db: Session, principal: Principal, d: dict[str, Any]) -> None:
    _order(d.get("start_on"), d.get("end_on"), "start_on", "end_on")
    _order(d.get("start_on"), d.get("released_on"), "start_on", "released_on")
    if d.get("kind") == "facility" and d.get("facility_id") is None:
        raise BadRequest("Cách ly tập trung cần cơ sở cách ly", "facility quarantine needs facility_id")
    _facility(db, principal, d.get("facility_id"))
    _ref(db, principal, HealthCase, d.get("case_id"), "Ca bệnh", "Case")
    _ref(db, principal, HealthContact, d.get("contact_id"), "Người tiếp xúc", "Contact")


def _check_lockdown(db: Session, principal: Principal, d: dict[str, Any]) -> None:
    _order(d.get("started_on"), d.get("lifted_on"), "started_on", "lifted_on")


def _check_zone(db: Session, principal: Principal, d: dict[str, Any]) -> None:
    _order(d.get("started_on"), d.get("lifted_on"), "started_on", "lifted_on")
    geom = d.get("geometry")
    if geom is not None:
        try:
            shape = shape_from_geojson(geom)
        except GeoError as e:
            raise BadRequest(f"Vùng không hợp lệ: {e}", f"Invalid zone geometry: {e}") from None
        if shape.geom_type not in ("Polygon", "MultiPolygon"):
            raise BadRequest("Vùng cách ly phải là đa giác", "a zone must be a Polygon or MultiPolygon")


def _check_counts(db: Session, principal: Principal, d: dict[str, Any]) -> None:
    for k, v in (d.get("counts") or {}).items():
        if not k.replace("_", "").isalnum() or len(k) > 64 or not k.islower():
            raise BadRequest(f"Tên chỉ số không hợp lệ: {k}", f"Invalid count name: {k}")
        if v < 0:
            raise BadRequest(f"Số âm: {k}", f"Negative count: {k}")


def _pairs(rows: Iterable[Any]) -> dict[Any, Any]:
    """{first: second} of two-column rows (dict() would take a Result for a mapping: it has keys())."""
    return {k: v for k, v in rows}


def _names(text: str) -> tuple[str, ...]:
    return tuple(text.split())


REGISTERS: dict[str, Register] = {
    r.name: r
    for r in (
        Register(
            "cases",
            HealthCase,
            schemas.CaseIn,
            schemas.CaseUpdate,
            personal=False,
            write_personal=True,
            fields=_names(
                "disease code full_name birth_year sex phone address lat lon onset_on confirmed_on "
                "detected_in status treatment_place_id notes"
            ),
            hidden=("full_name", "birth_year", "phone", "address", "notes"),
            order="confirmed_on",
            check=_check_case,
            entity="case",
        ),
        Register(
            "contacts",
            HealthContact,
            schemas.ContactIn,
            schemas.ContactUpdate,
            personal=True,
            write_personal=True,
            fields=_names("case_id level full_name phone address last_contact_on status"),
            check=_check_contact,
            entity="contact",
        ),
        Register(
            "tests",
            HealthTest,
            schemas.TestIn,
            schemas.TestUpdate,
            personal=True,
            write_personal=True,
            fields=_names("disease case_id contact_id full_name method sampled_on result result_on"),
            check=_check_test,
            entity="test",
        ),
        Register(
            "quarantines",
            HealthQuarantine,
            schemas.QuarantineIn,
            schemas.QuarantineUpdate,
            personal=True,
            write_personal=True,
            fields=_names(
                "kind full_name address facility_id case_id contact_id reason start_on end_on released_on"
            ),
            check=_check_quarantine,
            entity="quarantine",
        ),
        Register(
            "lockdowns",
            HealthLockdown,
            schemas.LockdownIn,
            schemas.LockdownUpdate,
            personal=False,
            write_personal=False,
            fields=_names("address households people lat lon started_on lifted_on notes"),
            check=_check_lockdown,
            entity="lockdown",
        ),
        Register(
            "zones",
            HealthZone,
            schemas.ZoneIn,
            schemas.ZoneUpdate,
            personal=False,
            write_personal=False,
            fields=_names("name kind geometry people started_on lifted_on"),
            check=_check_zone,
            entity="zone",
        ),
        Register(
            "vaccination",
            HealthVaccination,
            schemas.VaccinationIn,
            schemas.VaccinationUpdate,
            personal=False,
            write_personal=False,
            fields=("disease", "as_of", "counts"),
            order="as_of",
            check=_check_counts,
            entity="vaccination",
        ),
        Register(
            "capacity",
            HealthCapacity,
            schemas.CapacityIn,
            schemas.CapacityUpdate,
            personal=False,
            write_personal=False,
            fields=("disease", "as_of", "met", "beds", "icu_beds", "notes"),
            order="as_of",
            entity="capacity",
        ),
    )
}


def _value(v: Any) -> Any:
    return v.isoformat() if isinstance(v, date | datetime) else v


def summary(reg: Register, row: Any, *, personal: bool, today: date | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.id, "unit_id": row.unit_id, "domain": row.domain}
    for f in reg.fields:
        out[f] = _value(getattr(row, f))
    if reg.hidden and not personal:
        for f in reg.hidden:
            out.pop(f, None)
        if reg.model is HealthCase:
            out["age_group"] = age_group(row.birth_year, today or row.confirmed_on)
            if row.lat is not None and row.lon is not None:
                out["lat"], out["lon"] = round(row.lat, 2), round(row.lon, 2)
        out["anonymized"] = True
    out["created_at"] = _iso(row.created_at)
    out["updated_at"] = _iso(row.updated_at)
    return out


def _reader(principal: Principal, reg: Register) -> tuple[Principal, str]:
    """The principal and permission a register's reads are scoped with."""
    if reg.personal:
        sp = sector_principal(principal)
        if not sp.has(PERSONAL):
            raise Forbidden(
                "Chỉ cán bộ ngành y tế được xem dữ liệu cá nhân này",
                "Only health-sector staff may see these personal records",
                details={"permission": PERSONAL},
            )
        return sp, PERSONAL
    principal.require(READ)
    return principal, READ


def _audit_personal(db: Session, principal: Principal, reg: Register, rows: list[Any]) -> None:
    if rows:
        audit.record_by(
            db,
            principal,
            "health.personal.read",
            entity_type=f"health_{reg.name}",
            entity_id=str(rows[0].id) if len(rows) == 1 else "",
            unit_id=rows[0].unit_id if len(rows) == 1 else None,
            changes={"ids": [r.id for r in rows[:200]], "count": len(rows)},
        )


def list_rows(
    db: Session,
    principal: Principal,
    reg: Register,
    *,
    unit_id: int | None = None,
    disease: str | None = None,
    active: bool | None = None,
    since: date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    who, perm = _reader(principal, reg)
    model: Any = reg.model
    stmt = scoped(select(model), who, model, perm)
    if unit_id is not None:
        path = unit_path_of(db, unit_id)
        if path is None:
            raise BadRequest("Đơn vị không tồn tại", "Unit does not exist")
        stmt = stmt.where(model.unit_id.in_(select(Unit.id).where(Unit.path.startswith(path))))
    if disease is not None and hasattr(model, "disease"):
        stmt = stmt.where(model.disease == disease)
    if since is not None:
        col = getattr(model, reg.order, None)
        if col is not None and reg.order != "id":
            stmt = stmt.where(col >= since)
    if active is not None:
        end_col = next((getattr(model, c) for c in ("lifted_on", "released_on") if hasattr(model, c)), None)
        if end_col is not None:
            stmt = stmt.where(end_col.is_(None) if active else end_col.is_not(None))
        elif model is HealthCase:
            live = model.status.in_(("home_care", "treating"))
            stmt = stmt.where(live if active else ~live)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order_col = getattr(model, reg.order)
    rows = list(db.scalars(stmt.order_by(order_col.desc(), model.id.desc()).limit(limit).offset(offset)))
    paths: dict[int, str] = {}
    if reg.hidden and rows:
        ids = sorted({r.unit_id for r in rows})
        paths = _pairs(db.execute(select(Unit.id, Unit.path).where(Unit.id.in_(ids))).tuples())
    out, seen_personal = [], []
    for r in rows:
        personal = reg.personal or (bool(reg.hidden) and personal_ok(principal, paths.get(r.unit_id)))
        if personal:
            seen_personal.append(r)
        out.append(summary(reg, r, personal=personal))
    _audit_personal(db, principal, reg, seen_personal)
    return out, total


def get_row(db: Session, principal: Principal, reg: Register, pk: int) -> Any:
    who, perm = _reader(principal, reg)
    return get_scoped(db, who, reg.model, pk, perm)


def show_row(db: Session, principal: Principal, reg: Register, pk: int) -> dict[str, Any]:
    row = get_row(db, principal, reg, pk)
    personal = reg.personal or (bool(reg.hidden) and personal_ok(principal, unit_path_of(db, row.unit_id)))
    if personal:
        _audit_personal(db, principal, reg, [row])
    return summary(reg, row, personal=personal)


def _require_write(db: Session, principal: Principal, reg: Register, unit_id: int) -> str:
    path = unit_path_of(db, unit_id)
    if path is None:
        raise BadRequest("Đơn vị không tồn tại", "Unit does not exist")
    if reg.write_personal:
        if not personal_ok(principal, path, WRITE):
            raise Forbidden(
                "Chỉ cán bộ ngành y tế của đơn vị được ghi hồ sơ này",
                "Only the unit's health-sector staff may write these records",
                details={"permission": WRITE},
            )
    else:
        principal.require(WRITE, path, DOMAIN)
    return path


def create_row(db: Session, principal: Principal, reg: Register, body: BaseModel) -> dict[str, Any]:
    data = body.model_dump()
    _require_write(db, principal, reg, data["unit_id"])
    if reg.check is not None:
        reg.check(db, principal, data)
    model: Any = reg.model
    if model is HealthCase:
        dup = select(HealthCase.id).where(
            HealthCase.disease == data["disease"], HealthCase.code == data["code"]
        )
        if db.scalar(dup) is not None:
            raise Conflict("Mã ca bệnh đã tồn tại", "Case code already exists")
    if model in (HealthVaccination, HealthCapacity):
        dup = select(model.id).where(
            model.unit_id == data["unit_id"], model.disease == data["disease"], model.as_of == data["as_of"]
        )
        if db.scalar(dup) is not None:
            raise Conflict(
                "Đã có số liệu của đơn vị trong ngày này", "This unit already has figures for that day"
            )
    row = model(**data, domain=DOMAIN)
    db.add(row)
    db.flush()
    out = summary(reg, row, personal=True)
    audit.record_by(
        db,
        principal,
        f"health.{reg.event}.create",
        entity_type=f"health_{reg.name}",
        entity_id=row.id,
        unit_id=row.unit_id,
        changes={"fields": sorted(k for k, v in data.items() if v not in (None, ""))},
    )
    public = summary(reg, row, personal=False)
    outbox.emit(db, f"toancanh.health.{reg.event}.created", public, unit_id=row.unit_id, domain=DOMAIN)
    return out


def update_row(db: Session, principal: Principal, reg: Register, pk: int, body: BaseModel) -> dict[str, Any]:
    row: Any = get_row(db, principal, reg, pk)
    _require_write(db, principal, reg, row.unit_id)
    changes = body.model_dump(exclude_unset=True)
    merged = {f: getattr(row, f) for f in reg.fields} | changes
    if reg.check is not None:
        reg.check(db, principal, merged)
    before = {k: _value(getattr(row, k)) for k in changes}
    for k, v in changes.items():
        setattr(row, k, v)
    db.flush()
    after = {k: _value(getattr(row, k)) for k in changes}
    hidden = set(reg.hidden) | ({"full_name", "phone", "address"} if reg.personal else set())
    audit.record_by(
        db,
        principal,
        f"health.{reg.event}.update",
        entity_type=f"health_{reg.name}",
        entity_id=row.id,
        unit_id=row.unit_id,
        changes={
            k: ("…" if k in hidden else [before[k], after[k]]) for k in changes if before[k] != after[k]
        },
    )
    outbox.emit(
        db,
        f"toancanh.health.{reg.event}.updated",
        summary(reg, row, personal=False),
        unit_id=row.unit_id,
        domain=DOMAIN,
    )
    return summary(reg, row, personal=True)


# ------------------------------------------------------------------------------------------ criteria


def load_criteria(db: Session, tables: Iterable[Criteria]) -> int:
    """Insert or update criteria tables by code (idempotent). Returns how many changed."""
    n = 0
    for c in tables:
        definition = c.model_dump(mode="json")
        row = db.scalar(select(HealthCriteria).where(HealthCriteria.code == c.code))
        if row is None:
            db.add(HealthCriteria(code=c.code, disease=c.disease, name=c.name, definition=definition))
            n += 1
        elif row.definition != definition:
            row.definition, row.name, row.disease = definition, c.name, c.disease
            n += 1
    db.flush()
    return n


def ensure_shipped(db: Session) -> None:
    """Load the shipped criteria tables the first time any is asked for (concurrent first calls: one wins)."""
    if db.scalar(select(func.count()).select_from(HealthCriteria)):
        return
    try:
        with db.begin_nested():
            load_criteria(db, shipped_criteria())
    except IntegrityError:
        pass


def criteria_row(db: Session, code: str) -> HealthCriteria:
    ensure_shipped(db)
    row = db.scalar(select(HealthCriteria).where(HealthCriteria.code == code))
    if row is None:
        raise NotFound("Không có bảng tiêu chí này", f"No criteria table {code}")
    return row


def criteria_of(row: HealthCriteria) -> Criteria:
    return parse_criteria(row.definition)


def list_criteria(db: Session) -> list[HealthCriteria]:
    ensure_shipped(db)
    return list(db.scalars(select(HealthCriteria).order_by(HealthCriteria.code)))


def put_criteria(db: Session, principal: Principal, data: Any) -> HealthCriteria:
    """Add or replace a criteria table (admins: `health.criteria` over every unit)."""
    principal.require(CRITERIA, "/", DOMAIN)
    c = parse_criteria(data)
    load_criteria(db, [c])
    row = criteria_row(db, c.code)
    audit.record_by(db, principal, "health.criteria.put", entity_type="health_criteria", entity_id=row.id)
    return row


def criteria_summary(row: HealthCriteria) -> dict[str, Any]:
    return {
        "id": row.id,
        "code": row.code,
        "disease": row.disease,
        "name": row.name,
        "active": row.active,
        "definition": row.definition,
    }


# ------------------------------------------------------------------------------------------ weeks and levels


def week_code(day: date) -> str:
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def week_start(code: str) -> date:
    try:
        y, w = code.split("-W")
        return date.fromisocalendar(int(y), int(w), 1)
    except ValueError:
        raise BadRequest(f"Tuần không hợp lệ: {code}", f"Invalid ISO week: {code}") from None


def last_full_week(now: datetime | None = None) -> str:
    today = (now or utcnow()).astimezone(VN_TZ).date()
    return week_code(today - timedelta(days=today.isoweekday()))


@dataclass
class WeekRun:
    criteria: str
    week: str
    communes: int = 0
    units: int = 0
    changed: list[dict[str, Any]] = field(default_factory=list)
    by_level: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "criteria": self.criteria,
            "week": self.week,
            "communes": self.communes,
            "units": self.units,
            "changed": len(self.changed),
            "by_level": self.by_level,
        }


def _latest_before(db: Session, model: Any, disease: str, end: date) -> dict[int, Any]:
    latest = (
        select(model.unit_id, func.max(model.as_of).label("as_of"))
        .where(model.disease == disease, model.as_of <= end)
        .group_by(model.unit_id)
        .subquery()
    )
    stmt = select(model).join(latest, (model.unit_id == latest.c.unit_id) & (model.as_of == latest.c.as_of))
    return {r.unit_id: r for r in db.scalars(stmt)}


def compute_week(
    db: Session, code: str, week: str, *, within: str | None = None, now: datetime | None = None
) -> WeekRun:
    """Compute (or recompute) every commune's level for one ISO week under criteria table `code`."""
    crow = criteria_row(db, code)
    c = criteria_of(crow)
    start = week_start(week)
    end = start + timedelta(days=c.period_days - 1)
    communes, commune_of = commune_map(db, within)
    places: dict[int, int | None] = dict(
        communes
    )  # the units assessed: communes, and hamlets if the table says
    if LEVEL_SUBUNIT in c.scales:
        sub = select(Unit.id, Unit.population).where(Unit.level == LEVEL_SUBUNIT)
        if within:
            sub = sub.where(Unit.path.startswith(within))
        places.update(_pairs(db.execute(sub).tuples()))
    community: dict[int, int] = defaultdict(int)
    every: dict[int, int] = defaultdict(int)
    counted = (
        select(HealthCase.unit_id, HealthCase.detected_in, func.count())
        .where(
            HealthCase.disease == c.disease, HealthCase.confirmed_on >= start, HealthCase.confirmed_on <= end
        )
        .group_by(HealthCase.unit_id, HealthCase.detected_in)
    )
    for uid, where, n in db.execute(counted):
        targets = {t for t in (commune_of.get(uid), uid if uid in places else None) if t is not None}
        for target in targets:
            every[target] += n
            if where == "community":
                community[target] += n
    vacc = _latest_before(db, HealthVaccination, c.disease, end)
    cap = _latest_before(db, HealthCapacity, c.disease, end)
    prev_week = week_code(start - timedelta(days=7))
    previous = _pairs(
        db.execute(
            select(HealthLevel.unit_id, HealthLevel.level).where(
                HealthLevel.criteria_id == crow.id, HealthLevel.week == prev_week
            )
        ).tuples()
    )
    existing = _pairs(
        db.execute(
            select(HealthLevel.unit_id, HealthLevel.id).where(
                HealthLevel.criteria_id == crow.id, HealthLevel.week == week
            )
        ).tuples()
    )
    now = now or utcnow()
    run = WeekRun(code, week, communes=len(communes), units=len(places))
    inserts, updates = [], []
    counts: dict[str, int] = defaultdict(int)
    for cid, population in places.items():
        if not population and not every[cid] and cid not in existing:
            continue  # nothing to assess: no population and no case (a commune the locality has not set up)
        parent = commune_of.get(cid, cid)  # a hamlet without figures of its own takes its commune's
        v = vacc.get(cid) or vacc.get(parent)
        k = cap.get(cid) or cap.get(parent)
        x = WeekInputs(population, community[cid], every[cid], v.counts if v else None, k.met if k else None)
        res = evaluate(c, x)
        inputs = {
            **res.as_dict(),
            "population": population,
            "community_cases": x.community_cases,
            "all_cases": x.all_cases,
            "vaccination_as_of": _iso(v.as_of) if v else None,
            "capacity_as_of": _iso(k.as_of) if k else None,
            "capacity_met": x.capacity_met,
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
        prev = previous.get(cid)
        values = {"level": res.level, "previous_level": prev, "inputs": inputs, "computed_at": now}
        counts[str(res.level)] += 1
        if cid in existing:
            updates.append({"id": existing[cid], **values})
        else:
            inserts.append(
                {
                    "criteria_id": crow.id,
                    "unit_id": cid,
                    "domain": DOMAIN,
                    "week": week,
                    "week_start": start,
                    **values,
                }
            )
        if res.level is not None and res.level != prev and (prev is not None or res.level > 1):
            run.changed.append({"unit_id": cid, "level": res.level, "previous_level": prev})
    if inserts:
        db.execute(insert(HealthLevel), inserts)
    if updates:
        db.execute(update(HealthLevel), updates)
    outbox.emit_many(
        db,
        (
            (
                "toancanh.health.level.changed",
                {**ch, "criteria": code, "week": week, **describe(c, ch["level"])},
                ch["unit_id"],
                DOMAIN,
            )
            for ch in run.changed
        ),
    )
    run.by_level = dict(sorted(counts.items()))
    return run


def compute_recent(db: Session, now: datetime | None = None) -> list[WeekRun]:
    """The worker's weekly job: the last full week under every active criteria table."""
    week = last_full_week(now)
    return [compute_week(db, row.code, week, now=now) for row in list_criteria(db) if row.active]


LEVELS_EVERY_S = 6 * 3600.0  # the last full week is recomputed four times a day (late figures count)


def refresh(database: Database, now: datetime | None = None) -> list[dict[str, Any]]:
    with database.session() as s:
        return [r.as_dict() for r in compute_recent(s, now)]


async def start(app: Any) -> None:
    """Startup hook: the weekly levels, in one worker at a time."""
    database: Database = app.state.db
    spawn_leased(
        app,
        lambda: run_every(LEVELS_EVERY_S, lambda: refresh(database), "health-levels", first_after_s=30.0),
        "health-levels",
    )


def levels(
    db: Session,
    principal: Principal,
    code: str,
    week: str | None = None,
    unit_id: int | None = None,
    weeks: int = 1,
    locale: str = "vi",
) -> dict[str, Any]:
    """The levels of the caller's communes for a week (the latest computed one by default), or one commune's
    history (`unit_id`, the last `weeks` weeks)."""
    principal.require(READ)
    crow = criteria_row(db, code)
    c = criteria_of(crow)
    stmt = (
        select(HealthLevel, Unit.code, Unit.name, Unit.level)
        .join(Unit, Unit.id == HealthLevel.unit_id)
        .where(HealthLevel.criteria_id == crow.id, scope_condition(principal, HealthLevel, READ))
    )
    if unit_id is not None:
        stmt = stmt.where(HealthLevel.unit_id == unit_id).order_by(HealthLevel.week_start.desc()).limit(weeks)
    else:
        if week is None:
            week = db.scalar(
                scoped(select(func.max(HealthLevel.week)), principal, HealthLevel, READ).where(
                    HealthLevel.criteria_id == crow.id
                )
            )
        stmt = stmt.where(HealthLevel.week == (week or "")).order_by(Unit.level, Unit.code)
    items = []
    for lv, ucode, uname, ulevel in db.execute(stmt):
        items.append(
            {
                "unit_id": lv.unit_id,
                "unit_code": ucode,
                "unit_name": uname,
                "unit_level": ulevel,
                "week": lv.week,
                "week_start": lv.week_start.isoformat(),
                "previous_level": lv.previous_level,
                **describe(c, lv.level, locale),
                "inputs": lv.inputs,
            }
        )
    legend = [describe(c, lv, locale) for lv in sorted(c.levels)]
    return {"criteria": code, "citation": c.citation, "week": week, "legend": legend, "items": items}


def levels_geojson(
    db: Session, principal: Principal, code: str, week: str | None, locale: str
) -> dict[str, Any]:
    data = levels(db, principal, code, week, locale=locale)
    ids = [i["unit_id"] for i in data["items"]]
    bounds: dict[int, Any] = {}
    if ids:
        bounds = _pairs(db.execute(select(Unit.id, Unit.boundary).where(Unit.id.in_(ids))).tuples())
    feats = [
        {
            "type": "Feature",
            "id": i["unit_id"],
            "geometry": bounds.get(i["unit_id"]),
            "properties": {k: v for k, v in i.items() if k != "inputs"} | {"rate": i["inputs"].get("rate")},
        }
        for i in data["items"]
        if bounds.get(i["unit_id"])
    ]
    return {"type": "FeatureCollection", "features": feats, "week": data["week"], "legend": data["legend"]}


# ------------------------------------------------------------------------------------------ counts


def overview(
    db: Session, principal: Principal, disease: str = "covid19", on: date | None = None
) -> dict[str, Any]:
    """Counts every reader of the module may see (no personal data): cases (active, new in the last 7 days,
    by where they were found), people in quarantine by kind, lockdown points, households and people."""
    principal.require(READ)
    today = on or datetime.now(VN_TZ).date()
    week_ago = today - timedelta(days=6)
    base = (
        scoped(select(HealthCase), principal, HealthCase, READ)
        .where(HealthCase.disease == disease)
        .subquery()
    )
    active = db.scalar(
        select(func.count()).select_from(base).where(base.c.status.in_(("home_care", "treating")))
    )
    new: dict[str, int] = _pairs(
        db.execute(
            select(base.c.detected_in, func.count())
            .where(base.c.confirmed_on >= week_ago, base.c.confirmed_on <= today)
            .group_by(base.c.detected_in)
        ).tuples()
    )
    q = (
        select(HealthQuarantine.kind, func.count())
        .where(
            scope_condition(principal, HealthQuarantine, READ),
            HealthQuarantine.released_on.is_(None),
            HealthQuarantine.start_on <= today,
        )
        .group_by(HealthQuarantine.kind)
    )
    lock = db.execute(
        select(
            func.count(),
            func.coalesce(func.sum(HealthLockdown.households), 0),
            func.coalesce(func.sum(HealthLockdown.people), 0),
        ).where(scope_condition(principal, HealthLockdown, READ), HealthLockdown.lifted_on.is_(None))
    ).one()
    zones = db.scalar(
        scoped(select(func.count()), principal, HealthZone, READ)
        .select_from(HealthZone)
        .where(HealthZone.lifted_on.is_(None))
    )
    return {
        "disease": disease,
        "on": today.isoformat(),
        "active_cases": active or 0,
        "new_cases_7d": sum(new.values()),
        "new_cases_7d_by_place": new,
        "in_quarantine": _pairs(db.execute(q).tuples()),
        "lockdowns": {"points": lock[0], "households": int(lock[1]), "people": int(lock[2])},
        "zones": zones or 0,
    }


def map_layers(db: Session, principal: Principal) -> dict[str, Any]:
    """Lockdown points, quarantine zones and (anonymized unless health-sector) active cases, as GeoJSON."""
    principal.require(READ)
    feats: list[dict[str, Any]] = []
    for lk in db.scalars(
        scoped(select(HealthLockdown), principal, HealthLockdown, READ)
        .where(HealthLockdown.lifted_on.is_(None))
        .limit(5000)
    ):
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lk.lon, lk.lat]},
                "properties": {
                    "layer": "lockdown",
                    "address": lk.address,
                    "households": lk.households,
                    "people": lk.people,
                    "started_on": lk.started_on.isoformat(),
                },
            }
        )
    for z in db.scalars(
        scoped(select(HealthZone), principal, HealthZone, READ)
        .where(HealthZone.lifted_on.is_(None))
        .limit(5000)
    ):
        feats.append(
            {
                "type": "Feature",
                "geometry": z.geometry,
                "properties": {"layer": "zone", "name": z.name, "kind": z.kind, "people": z.people},
            }
        )
    cases = list(
        db.scalars(
            scoped(select(HealthCase), principal, HealthCase, READ)
            .where(HealthCase.status.in_(("home_care", "treating")), HealthCase.lat.is_not(None))
            .limit(5000)
        )
    )
    for cs in cases:
        s = summary(REGISTERS["cases"], cs, personal=False)
        feats.append(
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [s["lon"], s["lat"]]},
                "properties": {
                    "layer": "case",
                    "code": cs.code,
                    "status": cs.status,
                    "confirmed_on": s["confirmed_on"],
                },
            }
        )
    return {"type": "FeatureCollection", "features": feats}
