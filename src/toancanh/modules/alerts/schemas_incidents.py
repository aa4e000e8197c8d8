"""Request bodies of the incidents and SOP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from toancanh.core.api.schemas import DbId, Strict
from toancanh.modules.alerts.sop import SopStepSpec, SopTemplateSpec

Severity = Literal["extreme", "severe", "moderate", "minor", "unknown"]

SopStepIn = SopStepSpec
SopTemplateIn = SopTemplateSpec

__all__ = [
    "IncidentActionIn",
    "IncidentIn",
    "Severity",
    "SopStartIn",
    "SopStepIn",
    "SopTemplateIn",
    "SplitIn",
    "StepNoteIn",
]


class IncidentIn(Strict):
    """An incident an operator enters by hand (a phone call, a patrol): a unit, or a point to find it."""

    type: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    title: str = Field(min_length=1, max_length=300)
    title_en: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=5000)
    severity: Severity = "moderate"
    domain: str = Field(min_length=1, max_length=32)
    unit_id: DbId | None = None
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)

    @model_validator(mode="after")
    def _placed(self) -> IncidentIn:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together")
        if self.unit_id is None and self.lat is None:
            raise ValueError("give unit_id, or lat and lon")
        return self


class IncidentActionIn(Strict):
    """The fields of a handling step; which ones a step needs is in the detail's `actions[].required`."""

    agency_id: DbId | None = None  # dispatch
    user_id: DbId | None = None  # dispatch, optional: a person of that agency
    team: str = Field(default="", max_length=120)  # dispatch, optional: the field team's name
    target_id: DbId | None = None  # merge
    comment: str = Field(default="", max_length=2000)  # comment, resolve
    reason: str = Field(default="", max_length=1000)  # dismiss, reopen

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v not in (None, "")}


class SplitIn(Strict):
    alert_ids: list[DbId] = Field(min_length=1, max_length=200)
    title: str | None = Field(default=None, min_length=1, max_length=300)


class SopStartIn(Strict):
    template_id: DbId


class StepNoteIn(Strict):
    note: str = Field(default="", max_length=2000)
