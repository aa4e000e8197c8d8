"""Request bodies of the facilities API: one figures shape per kind of facility."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from toancanh.core.api.schemas import DbId, Strict

Kind = Literal["school", "health_facility", "tourism_site"]


class Point(Strict):
    """A school's kitchen or gate, and the cameras that watch it (assets of type camera)."""

    name: str = Field(min_length=1, max_length=120)
    camera_ids: list[DbId] = Field(default_factory=list, max_length=20)


class SchoolFigures(Strict):
    level: Literal["mam_non", "tieu_hoc", "thcs", "thpt", "lien_cap"] = "tieu_hoc"
    students: int = Field(default=0, ge=0, le=100_000)
    teachers: int = Field(default=0, ge=0, le=10_000)
    classes: int = Field(default=0, ge=0, le=5_000)
    kitchens: list[Point] = Field(default_factory=list, max_length=20)
    gates: list[Point] = Field(default_factory=list, max_length=20)


class HealthFigures(Strict):
    level: Literal["tram_y_te", "phong_kham", "benh_vien_huyen", "benh_vien_tinh", "khac"] = "tram_y_te"
    beds: int = Field(default=0, ge=0, le=20_000)
    icu_beds: int = Field(default=0, ge=0, le=5_000)
    staff: int = Field(default=0, ge=0, le=50_000)
    doctors: int = Field(default=0, ge=0, le=20_000)


class TourismFigures(Strict):
    category: Literal["di_tich", "danh_thang", "le_hoi", "lang_nghe", "khu_du_lich", "khac"] = "khac"
    capacity: int = Field(default=0, ge=0, le=1_000_000)  # visitors at once


FIGURES: dict[str, type[Strict]] = {
    "school": SchoolFigures,
    "health_facility": HealthFigures,
    "tourism_site": TourismFigures,
}
DOMAIN_OF = {"school": "education", "health_facility": "health", "tourism_site": "tourism"}


class FacilityIn(Strict):
    kind: Kind
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)
    unit_id: DbId
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    address: str = Field(default="", max_length=300)
    figures: dict[str, object] = Field(default_factory=dict)


class FacilityUpdate(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    figures: dict[str, object] | None = None


class VisitorsIn(Strict):
    period: str = Field(pattern=r"^\d{4}-\d{2}$")  # a month, 2026-11
    visitors: int = Field(ge=0, le=100_000_000)
