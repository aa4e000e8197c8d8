"""Request bodies for the IOC's public warnings (CAP out). Unknown fields are refused.

Vocabulary fields (status, msg_type, category, urgency, severity, certainty) are plain strings here and are
checked by `cap_out.create_warning`, which answers 400 with the allowed values (as assets check `domain`).
"""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, Field

from toancanh.connectors.cap.const import CATEGORIES, CERTAINTIES, SEVERITIES, STATUSES, URGENCIES
from toancanh.core.api.schemas import DbId, Strict

MSG_TYPES_OUT = ("Alert", "Update", "Cancel")


def _enum(values: tuple[str, ...]) -> dict[str, Any]:
    return {"enum": list(values)}


class CircleIn(Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_km: float = Field(gt=0, le=1000, allow_inf_nan=False)


class WarningIn(Strict):
    """A public warning to publish as CAP 1.2. The area is a GeoJSON Polygon or MultiPolygon, or a circle,
    or neither (the whole unit)."""

    unit_id: DbId
    incident_id: DbId | None = None
    status: str = Field(default="Actual", max_length=12, json_schema_extra=_enum(STATUSES))
    msg_type: str = Field(default="Alert", max_length=8, json_schema_extra=_enum(MSG_TYPES_OUT))
    references: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Identifiers of the earlier warnings an Update or a Cancel replaces",
    )
    category: str = Field(default="Safety", max_length=16, json_schema_extra=_enum(CATEGORIES))
    event: str = Field(min_length=1, max_length=200)
    urgency: str = Field(max_length=12, json_schema_extra=_enum(URGENCIES))
    severity: str = Field(max_length=12, json_schema_extra=_enum(SEVERITIES))
    certainty: str = Field(max_length=12, json_schema_extra=_enum(CERTAINTIES))
    headline: str = Field(min_length=1, max_length=300)
    headline_en: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=10_000)
    description_en: str = Field(default="", max_length=10_000)
    instruction: str = Field(default="", max_length=10_000)
    instruction_en: str = Field(default="", max_length=10_000)
    area_desc: str = Field(min_length=1, max_length=300)
    area: dict[str, Any] | None = Field(default=None, description="GeoJSON Polygon or MultiPolygon")
    circle: CircleIn | None = None
    effective_at: AwareDatetime | None = None
    expires_at: AwareDatetime | None = None
    published: bool = True
