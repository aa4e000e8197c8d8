"""Request bodies of the alerts API (events, rules, alerts). Unknown fields are refused."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, Field, model_validator

from toancanh.core.api.schemas import DbId, Strict

Severity = Literal["extreme", "severe", "moderate", "minor", "unknown"]
Urgency = Literal["immediate", "expected", "future", "past", "unknown"]
Certainty = Literal["observed", "likely", "possible", "unlikely", "unknown"]


class EvidenceIn(Strict):
    kind: Literal["photo", "clip", "reading", "document", "link"]
    ref: str = Field(min_length=1, max_length=500)
    label: str = Field(default="", max_length=200)


class EventIn(Strict):
    source: Literal["sensor", "camera", "report", "manual", "cap", "system"] = "manual"
    category: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+){0,4}$")
    title: str = Field(min_length=1, max_length=300)
    title_en: str = Field(default="", max_length=300)
    description: str = Field(default="", max_length=10_000)
    at: AwareDatetime | None = None
    domain: str | None = Field(default=None, max_length=32)
    unit_id: DbId | None = None
    asset_code: str | None = Field(default=None, max_length=64)
    severity: Severity = "unknown"
    urgency: Urgency = "unknown"
    certainty: Certainty = "unknown"
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    source_ref: str | None = Field(default=None, min_length=1, max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict)
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=20)


class EventsIn(Strict):
    events: list[EventIn] = Field(min_length=1, max_length=5000)


class RuleText(Strict):
    """A rule as a JSON object (`definition`) or as text in JSON or YAML (`text` + `format`)."""

    definition: dict[str, Any] | None = None
    text: str | None = Field(default=None, max_length=65_536)
    format: Literal["json", "yaml"] = "yaml"

    @model_validator(mode="after")
    def _one(self) -> RuleText:
        if (self.definition is None) == (self.text is None):
            raise ValueError("give exactly one of `definition` or `text`")
        return self


class RuleIn(RuleText):
    unit_id: DbId
    domain: str = Field(max_length=32)
    enabled: bool = True
    comment: str = Field(default="", max_length=300)


class DryRunIn(RuleText):
    unit_id: DbId
    start: AwareDatetime
    end: AwareDatetime
    max_firings: int = Field(default=200, ge=1, le=5000)

    @model_validator(mode="after")
    def _range(self) -> DryRunIn:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if (self.end - self.start).days > 400:
            raise ValueError("at most 400 days")
        return self


class ResolveIn(Strict):
    comment: str = Field(min_length=1, max_length=1000)


class AlertIncidentIn(Strict):
    incident_id: DbId | None = None  # attach to this open incident; None: open a new one
    type: str | None = Field(default=None, max_length=32, pattern=r"^[a-z_]+$")


def as_event_in(e: EventIn) -> Any:
    from toancanh.modules.alerts.events import EventIn as Item

    at: datetime | None = e.at
    return Item(
        source=e.source,
        category=e.category,
        title=e.title,
        title_en=e.title_en,
        description=e.description,
        at=at,
        domain=e.domain,
        unit_id=e.unit_id,
        asset_code=e.asset_code,
        severity=e.severity,
        urgency=e.urgency,
        certainty=e.certainty,
        lat=e.lat,
        lon=e.lon,
        source_ref=e.source_ref,
        payload=e.payload,
        evidence=[x.model_dump() for x in e.evidence],
    )
