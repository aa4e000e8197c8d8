"""Request bodies of the health API (shape checked here; scope, references and dates in the service).

Each register has a create body (`*In`) and a patch body (`*Update`, every field optional). Unknown fields are
refused, strings are stripped, sizes and ranges bounded.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import Field

from toancanh.core.api.schemas import DbId, Strict

Sex = Literal["male", "female", "other", "unknown"]
Detected = Literal["community", "quarantine", "lockdown"]
CaseStatus = Literal["home_care", "treating", "recovered", "died", "transferred"]
Disease = Field(default="covid19", min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
Name = Field(min_length=1, max_length=120)
Phone = Field(default="", max_length=20, pattern=r"^[0-9+() .-]*$")
Address = Field(default="", max_length=300)
Lat = Field(default=None, ge=-90, le=90)
Lon = Field(default=None, ge=-180, le=180)


class CaseIn(Strict):
    unit_id: DbId
    disease: str = Disease
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")
    full_name: str = Field(default="", max_length=120)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    sex: Sex = "unknown"
    phone: str = Phone
    address: str = Address
    lat: float | None = Lat
    lon: float | None = Lon
    onset_on: date | None = None
    confirmed_on: date
    detected_in: Detected = "community"
    status: CaseStatus = "home_care"
    treatment_place_id: DbId | None = None
    notes: str = Field(default="", max_length=4000)


class CaseUpdate(Strict):
    full_name: str | None = Field(default=None, max_length=120)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    sex: Sex | None = None
    phone: str | None = Field(default=None, max_length=20, pattern=r"^[0-9+() .-]*$")
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = Lat
    lon: float | None = Lon
    onset_on: date | None = None
    confirmed_on: date | None = None
    detected_in: Detected | None = None
    status: CaseStatus | None = None
    treatment_place_id: DbId | None = None
    notes: str | None = Field(default=None, max_length=4000)


class ContactIn(Strict):
    unit_id: DbId
    case_id: DbId | None = None
    level: Literal["F1", "F2"] = "F1"
    full_name: str = Name
    phone: str = Phone
    address: str = Address
    last_contact_on: date
    status: Literal["monitoring", "released", "became_case"] = "monitoring"


class ContactUpdate(Strict):
    level: Literal["F1", "F2"] | None = None
    phone: str | None = Field(default=None, max_length=20, pattern=r"^[0-9+() .-]*$")
    address: str | None = Field(default=None, max_length=300)
    last_contact_on: date | None = None
    status: Literal["monitoring", "released", "became_case"] | None = None


class TestIn(Strict):
    unit_id: DbId
    disease: str = Disease
    case_id: DbId | None = None
    contact_id: DbId | None = None
    full_name: str = Field(default="", max_length=120)
    method: Literal["rt_pcr", "rapid_antigen"]
    sampled_on: date
    result: Literal["pending", "positive", "negative"] = "pending"
    result_on: date | None = None


class TestUpdate(Strict):
    result: Literal["pending", "positive", "negative"] | None = None
    result_on: date | None = None


class QuarantineIn(Strict):
    unit_id: DbId
    kind: Literal["facility", "home", "self_monitoring"]
    full_name: str = Name
    address: str = Address
    facility_id: DbId | None = None
    case_id: DbId | None = None
    contact_id: DbId | None = None
    reason: str = Field(default="", max_length=200)
    start_on: date
    end_on: date
    released_on: date | None = None


class QuarantineUpdate(Strict):
    end_on: date | None = None
    released_on: date | None = None
    reason: str | None = Field(default=None, max_length=200)


class LockdownIn(Strict):
    unit_id: DbId
    address: str = Field(min_length=1, max_length=300)
    households: int = Field(default=0, ge=0, le=1_000_000)
    people: int = Field(default=0, ge=0, le=10_000_000)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    started_on: date
    lifted_on: date | None = None
    notes: str = Field(default="", max_length=4000)


class LockdownUpdate(Strict):
    households: int | None = Field(default=None, ge=0, le=1_000_000)
    people: int | None = Field(default=None, ge=0, le=10_000_000)
    lifted_on: date | None = None
    notes: str | None = Field(default=None, max_length=4000)


class ZoneIn(Strict):
    unit_id: DbId
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["quarantine", "lockdown"] = "quarantine"
    geometry: dict[str, Any]
    people: int = Field(default=0, ge=0, le=10_000_000)
    started_on: date
    lifted_on: date | None = None


class ZoneUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    geometry: dict[str, Any] | None = None
    people: int | None = Field(default=None, ge=0, le=10_000_000)
    lifted_on: date | None = None


class VaccinationIn(Strict):
    unit_id: DbId
    disease: str = Disease
    as_of: date
    counts: dict[str, int] = Field(min_length=1, max_length=40)


class VaccinationUpdate(Strict):
    counts: dict[str, int] | None = Field(default=None, min_length=1, max_length=40)


class CapacityIn(Strict):
    unit_id: DbId
    disease: str = Disease
    as_of: date
    met: bool
    beds: int | None = Field(default=None, ge=0, le=1_000_000)
    icu_beds: int | None = Field(default=None, ge=0, le=1_000_000)
    notes: str = Field(default="", max_length=500)


class CapacityUpdate(Strict):
    met: bool | None = None
    beds: int | None = Field(default=None, ge=0, le=1_000_000)
    icu_beds: int | None = Field(default=None, ge=0, le=1_000_000)
    notes: str | None = Field(default=None, max_length=500)


class ComputeIn(Strict):
    criteria: str = Field(default="COVID19_QD4800", min_length=1, max_length=64)
    week: str | None = Field(default=None, pattern=r"^\d{4}-W\d{2}$")  # default: the last full week
