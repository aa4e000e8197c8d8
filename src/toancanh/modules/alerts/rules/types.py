"""What the rule engine reads (readings, events, assets) and what it returns (firings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

Row = tuple[int, str, int, float]  # (asset_id, measure, ts, value): a Reading as a plain tuple


class Reading(NamedTuple):
    """One value from one device (asset) at one moment (a tuple: hundreds of thousands are made a second)."""

    asset_id: int
    measure: str  # e.g. "water_level", "pm25", "smoke", "lat"/"lon" for a moving asset
    ts: int  # epoch milliseconds, UTC
    value: float


@dataclass(frozen=True, slots=True)
class Observed:
    """An event as rules see it (a row of the events table, or one being recorded)."""

    id: int | None
    ts: int  # epoch milliseconds of when it happened
    source: str
    category: str
    severity: str
    domain: str
    unit_id: int
    unit_path: str
    asset_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    title: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """What rules need to know of an asset (looked up once and cached by the runtime)."""

    id: int
    code: str
    name: str
    type: str
    domain: str
    unit_id: int
    unit_path: str
    lat: float
    lon: float
    group: str = ""  # attributes["group"], e.g. "school_gate", "kitchen"
    # The measures it has reported so far (its series), when known: absence rules only watch a device for
    # silence of what it reports (a school or a camera is not a silent water-level sensor).
    measures: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class IncidentSpec:
    """How a rule's alerts become incidents: the incident type, and how near in time and space to group."""

    type: str
    group_within_s: int = 3600
    group_radius_m: float = 1000.0


@dataclass(slots=True)
class Firing:
    """A rule's condition became true (or, with `clear`, stopped being true) for one place."""

    rule_id: int
    rule_version: int
    rule_code: str
    key: str  # de-duplication key: the rule and the place ("<rule code>:asset:<id>", ":zone", ":unit:<id>")
    ts: int  # epoch ms of the reading/event that completed the condition
    unit_id: int
    unit_path: str
    domain: str
    category: str
    severity: str
    urgency: str
    certainty: str
    title: str
    title_en: str
    asset_id: int | None = None
    lat: float | None = None
    lon: float | None = None
    event_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    incident: IncidentSpec | None = None
    clear: bool = False
