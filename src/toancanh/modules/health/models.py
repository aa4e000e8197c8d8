"""Epidemic monitoring tables (giám sát dịch bệnh).

Every row carries `unit_id` and `domain` ("health"), so the one scope helper limits it to the caller's units
and to grants that cover the health domain. Personal data (names, phones, addresses, exact places) lives in
cases, contacts, tests and quarantines; only health-sector grants see it (`service.personal_ok`).

- `HealthCriteria` (bảng tiêu chí): a disease's level criteria as data (`levels.Criteria`).
- `HealthCase` (ca bệnh), `HealthContact` (người tiếp xúc: F1, F2), `HealthTest` (xét nghiệm),
  `HealthQuarantine` (cách ly: tập trung, tại nhà, tự theo dõi).
- `HealthLockdown` (điểm phong tỏa: địa chỉ, số hộ, số người), `HealthZone` (vùng cách ly: đa giác).
- `HealthVaccination` (độ bao phủ vắc xin per commune, as of a date), `HealthCapacity` (khả năng thu dung,
  điều trị, as assessed on a date).
- `HealthLevel` (cấp độ dịch): one commune's computed week under one criteria table, with its inputs.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from toancanh.core.db import Base, BigId, IdMixin, TimestampMixin, UnitScopedMixin, utcnow

DOMAIN = "health"
SEXES = ("male", "female", "other", "unknown")
DETECTED_IN = ("community", "quarantine", "lockdown")  # only "community" counts towards the incidence
CASE_STATUSES = ("home_care", "treating", "recovered", "died", "transferred")
CONTACT_LEVELS = ("F1", "F2")
CONTACT_STATUSES = ("monitoring", "released", "became_case")
TEST_METHODS = ("rt_pcr", "rapid_antigen")
TEST_RESULTS = ("pending", "positive", "negative")
QUARANTINE_KINDS = ("facility", "home", "self_monitoring")
ZONE_KINDS = ("quarantine", "lockdown")


class _Health(IdMixin, TimestampMixin, UnitScopedMixin):
    domain: Mapped[str] = mapped_column(String(32), default=DOMAIN, index=True)


class HealthCriteria(IdMixin, TimestampMixin, Base):
    __tablename__ = "health_criteria"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    disease: Mapped[str] = mapped_column(String(40), index=True)
    name: Mapped[str] = mapped_column(String(200))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class HealthCase(_Health, Base):
    __tablename__ = "health_cases"
    __table_args__ = (
        UniqueConstraint("disease", "code", name="uq_health_cases_disease_code"),
        Index("ix_health_cases_confirmed", "disease", "confirmed_on"),
    )

    disease: Mapped[str] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(64))  # mã ca bệnh
    full_name: Mapped[str] = mapped_column(String(120), default="")
    birth_year: Mapped[int | None] = mapped_column(Integer)
    sex: Mapped[str] = mapped_column(String(8), default="unknown")
    phone: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    onset_on: Mapped[date | None] = mapped_column(Date)
    confirmed_on: Mapped[date] = mapped_column(Date)
    detected_in: Mapped[str] = mapped_column(String(16), default="community")
    status: Mapped[str] = mapped_column(String(16), default="home_care")
    treatment_place_id: Mapped[int | None] = mapped_column(BigId)  # an asset of type health_facility
    notes: Mapped[str] = mapped_column(Text, default="")


class HealthContact(_Health, Base):
    __tablename__ = "health_contacts"

    case_id: Mapped[int | None] = mapped_column(BigId, index=True)
    level: Mapped[str] = mapped_column(String(4), default="F1")
    full_name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(20), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    last_contact_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="monitoring")


class HealthTest(_Health, Base):
    __tablename__ = "health_tests"

    disease: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int | None] = mapped_column(BigId, index=True)
    contact_id: Mapped[int | None] = mapped_column(BigId, index=True)
    full_name: Mapped[str] = mapped_column(String(120), default="")
    method: Mapped[str] = mapped_column(String(16))
    sampled_on: Mapped[date] = mapped_column(Date)
    result: Mapped[str] = mapped_column(String(12), default="pending")
    result_on: Mapped[date | None] = mapped_column(Date)


class HealthQuarantine(_Health, Base):
    __tablename__ = "health_quarantines"

    kind: Mapped[str] = mapped_column(String(16))
    full_name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str] = mapped_column(String(300), default="")
    facility_id: Mapped[int | None] = mapped_column(BigId)  # an asset (khu cách ly tập trung)
    case_id: Mapped[int | None] = mapped_column(BigId)
    contact_id: Mapped[int | None] = mapped_column(BigId)
    reason: Mapped[str] = mapped_column(String(200), default="")
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date] = mapped_column(Date)
    released_on: Mapped[date | None] = mapped_column(Date)


class HealthLockdown(_Health, Base):
    __tablename__ = "health_lockdowns"

    address: Mapped[str] = mapped_column(String(300))
    households: Mapped[int] = mapped_column(Integer, default=0)
    people: Mapped[int] = mapped_column(Integer, default=0)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    started_on: Mapped[date] = mapped_column(Date)
    lifted_on: Mapped[date | None] = mapped_column(Date)
    notes: Mapped[str] = mapped_column(Text, default="")


class HealthZone(_Health, Base):
    __tablename__ = "health_zones"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="quarantine")
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)
    people: Mapped[int] = mapped_column(Integer, default=0)
    started_on: Mapped[date] = mapped_column(Date)
    lifted_on: Mapped[date | None] = mapped_column(Date)


class HealthVaccination(_Health, Base):
    __tablename__ = "health_vaccination"
    __table_args__ = (UniqueConstraint("unit_id", "disease", "as_of", name="uq_health_vaccination_unit_day"),)

    disease: Mapped[str] = mapped_column(String(40))
    as_of: Mapped[date] = mapped_column(Date)
    counts: Mapped[dict[str, Any]] = mapped_column(
        JSON
    )  # pop_18plus, dose1_18plus, pop_50plus, full_50plus ...


class HealthCapacity(_Health, Base):
    __tablename__ = "health_capacity"
    __table_args__ = (UniqueConstraint("unit_id", "disease", "as_of", name="uq_health_capacity_unit_day"),)

    disease: Mapped[str] = mapped_column(String(40))
    as_of: Mapped[date] = mapped_column(Date)
    met: Mapped[bool] = mapped_column(Boolean)
    beds: Mapped[int | None] = mapped_column(Integer)
    icu_beds: Mapped[int | None] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(String(500), default="")


class HealthLevel(IdMixin, UnitScopedMixin, Base):
    __tablename__ = "health_levels"
    __table_args__ = (UniqueConstraint("criteria_id", "unit_id", "week", name="uq_health_levels_week"),)

    domain: Mapped[str] = mapped_column(String(32), default=DOMAIN)
    criteria_id: Mapped[int] = mapped_column(BigId, index=True)
    week: Mapped[str] = mapped_column(String(8), index=True)  # ISO week, 2026-W49
    week_start: Mapped[date] = mapped_column(Date)
    level: Mapped[int | None] = mapped_column(Integer)
    previous_level: Mapped[int | None] = mapped_column(Integer)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
