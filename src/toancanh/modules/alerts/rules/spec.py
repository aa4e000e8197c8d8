"""A rule's definition (định nghĩa quy tắc cảnh báo): the schema users write in JSON or YAML, and its checks.

A rule says which assets or events it looks at (`scope`), what condition raises it (`when`, one of seven
types), optionally when it may raise (`only_during`, Vietnam local time) and what alert it raises (`alert`).
`parse_rule` / `parse_text` turn user input into a `RuleSpec` or raise `BadRequest` listing every problem as
``{"loc": "when.op", "msg": ..., "msg_vi": ...}``; `RuleSpec.to_dict()` is the normalized form that is stored.
"""

from __future__ import annotations

import json
import math
import re
import string
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from toancanh.core.errors import BadRequest
from toancanh.core.geo import GeoError, shape_from_geojson

__all__ = [
    "MAX_TEXT_BYTES",
    "PLACEHOLDERS",
    "AbsenceWhen",
    "AlertSpec",
    "EventCountWhen",
    "EventMatch",
    "EventWhen",
    "GeofenceWhen",
    "IncidentDef",
    "KOfNWhen",
    "OnlyDuring",
    "PatternWhen",
    "RateOfChangeWhen",
    "RuleSpec",
    "Scope",
    "ThresholdWhen",
    "When",
    "parse_rule",
    "parse_text",
    "template_fields",
]

MAX_TEXT_BYTES = 64 * 1024
MAX_SECONDS = 30 * 86_400
MAX_ZONE_VERTICES = 10_000
PLACEHOLDERS = frozenset(
    {"asset", "asset_code", "value", "measure", "threshold", "count", "duration_min", "category"}
)
_SAMPLE_VALUES: dict[str, Any] = {
    "asset": "WL-01",
    "asset_code": "WL-01",
    "value": 2.5,
    "measure": "water_level",
    "threshold": 2.5,
    "count": 3,
    "duration_min": 5.0,
    "category": "flood.water_level",
}

Op = Literal[">", ">=", "<", "<=", "==", "!="]
Severity = Literal["extreme", "severe", "moderate", "minor", "unknown"]
Urgency = Literal["immediate", "expected", "future", "past", "unknown"]
Certainty = Literal["observed", "likely", "possible", "unlikely", "unknown"]
Seconds = Annotated[int, Field(ge=0, le=MAX_SECONDS)]
PositiveSeconds = Annotated[int, Field(ge=1, le=MAX_SECONDS)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Category = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.]+$")]
Title = Annotated[str, Field(max_length=300)]
Scalar = str | int | float | bool | None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _finite(v: float) -> float:
    if not math.isfinite(v):
        raise PydanticCustomError("rule_not_finite", "must be a finite number")
    return v


class Scope(_Strict):
    """Which assets (and events) a rule looks at; every given field must match."""

    unit_path: Annotated[str, Field(max_length=120, pattern=r"^/([^/]+/)*$")] | None = None
    domain: Annotated[str, Field(max_length=32)] | None = None
    asset_types: Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=100)] | None = None
    asset_groups: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=100)] | None = None
    assets: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=10_000)] | None = None


class EventMatch(_Strict):
    """Which events match: a category (exact, or a glob such as ``fire.*``) and optional filters."""

    category: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_.*?\[\]!-]+$")]
    source: Annotated[str, Field(max_length=16)] | None = None
    min_severity: Severity | None = None
    payload: Annotated[dict[Annotated[str, Field(max_length=64)], Scalar], Field(max_length=20)] | None = None


class ThresholdWhen(_Strict):
    type: Literal["threshold"]
    measure: Name
    op: Op
    value: float
    for_s: Seconds = 0

    _value = field_validator("value")(_finite)


class RateOfChangeWhen(_Strict):
    type: Literal["rate_of_change"]
    measure: Name
    delta: Annotated[float, Field(gt=0)]
    within_s: PositiveSeconds
    direction: Literal["up", "down", "any"] = "any"

    _delta = field_validator("delta")(_finite)


class AbsenceWhen(_Strict):
    type: Literal["absence"]
    after_s: PositiveSeconds
    measure: Name | None = None


class GeofenceWhen(_Strict):
    type: Literal["geofence"]
    zone: dict[str, Any]
    on: Literal["enter", "leave", "both"] = "enter"
    lat_measure: Name = "lat"
    lon_measure: Name = "lon"

    @field_validator("zone")
    @classmethod
    def _zone(cls, zone: dict[str, Any]) -> dict[str, Any]:
        if zone.get("type") not in ("Polygon", "MultiPolygon"):
            raise PydanticCustomError("rule_zone_type", "the zone must be a GeoJSON Polygon or MultiPolygon")
        vertices = _count_vertices(zone.get("coordinates"))
        if vertices > MAX_ZONE_VERTICES:
            raise PydanticCustomError(
                "rule_zone_size",
                "the zone has {vertices} vertices, more than the limit of {limit}",
                {"vertices": vertices, "limit": MAX_ZONE_VERTICES},
            )
        try:
            shape_from_geojson(zone)
        except GeoError as e:
            raise PydanticCustomError("rule_zone_invalid", "invalid zone: {reason}", {"reason": e.en}) from e
        return zone

    @model_validator(mode="after")
    def _two_measures(self) -> GeofenceWhen:
        if self.lat_measure == self.lon_measure:
            raise PydanticCustomError("rule_same_measure", "lat_measure and lon_measure must differ")
        return self


class KOfNWhen(_Strict):
    type: Literal["k_of_n"]
    measure: Name
    op: Op
    value: float
    k: Annotated[int, Field(ge=1, le=1000)]
    within_s: PositiveSeconds

    _value = field_validator("value")(_finite)


class PatternWhen(_Strict):
    type: Literal["pattern"]
    first: EventMatch
    then: EventMatch
    within_s: PositiveSeconds
    same: Literal["asset", "unit", "place", "any"] = "place"
    distance_m: Annotated[float, Field(gt=0, le=100_000)] = 500.0


class EventWhen(_Strict):
    type: Literal["event"]
    match: EventMatch


class EventCountWhen(_Strict):
    """At least `k` matching events within `within_s`, counted per asset, per unit or over all, and also per
    value of a payload field when `per_payload` names one: five failed logins from one address (`srcip`) in
    five minutes. Events without that field are not counted."""

    type: Literal["event_count"]
    match: EventMatch
    k: Annotated[int, Field(ge=2, le=10_000)]
    within_s: PositiveSeconds
    per: Literal["asset", "unit", "any"] = "unit"
    per_payload: Name | None = None


When = Annotated[
    ThresholdWhen
    | RateOfChangeWhen
    | AbsenceWhen
    | GeofenceWhen
    | KOfNWhen
    | PatternWhen
    | EventWhen
    | EventCountWhen,
    Field(discriminator="type"),
]
EVENT_TYPES = frozenset({"pattern", "event", "event_count"})
CLEARING_TYPES = frozenset({"threshold", "absence", "geofence"})

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$")


class OnlyDuring(_Strict):
    """When a rule may raise, in Vietnam local time. ``from`` > ``to`` is a window across midnight.

    days: all; working (working days of the calendar: Monday-Friday, makeup days in, public holidays out);
    weekend (the other days: weekends and public holidays, *ngày nghỉ*); school (working days outside the
    summer break, 1 June - 31 August). In a window across midnight, the hours after midnight belong to the
    day the window opened.
    """

    days: Literal["all", "working", "weekend", "school"] = "all"
    from_: Annotated[str, Field(alias="from")] = "00:00"
    to: str = "24:00"

    @field_validator("from_", "to")
    @classmethod
    def _hhmm(cls, v: str) -> str:
        if not _HHMM.match(v):
            raise PydanticCustomError("rule_time", "must be a time of day HH:MM (00:00-24:00)")
        return v

    @model_validator(mode="after")
    def _not_empty(self) -> OnlyDuring:
        if self.from_minute == self.to_minute % 1440 and self.to != "24:00":
            raise PydanticCustomError("rule_empty_window", "'from' and 'to' must differ")
        return self

    @property
    def from_minute(self) -> int:
        return _minutes(self.from_)

    @property
    def to_minute(self) -> int:
        return _minutes(self.to)


class IncidentDef(_Strict):
    type: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")]
    group_within_s: Annotated[int, Field(ge=0, le=MAX_SECONDS)] = 3600
    group_radius_m: Annotated[float, Field(ge=0, le=1_000_000)] = 1000.0


class AlertSpec(_Strict):
    category: Category
    severity: Severity
    urgency: Urgency = "expected"
    certainty: Certainty = "observed"
    title_vi: Annotated[str, Field(min_length=1, max_length=300)]
    title_en: Title = ""
    cooldown_s: Seconds = 600
    incident: IncidentDef | None = None
    auto_clear: bool = False

    @field_validator("title_vi", "title_en")
    @classmethod
    def _placeholders(cls, v: str) -> str:
        template_fields(v)
        return v


class RuleSpec(_Strict):
    """A validated rule definition (immutable)."""

    code: Annotated[str, Field(pattern=r"^[a-z0-9-]{3,64}$")]
    name: Annotated[str, Field(min_length=1, max_length=200)]
    name_en: Annotated[str, Field(max_length=200)] = ""
    description: Annotated[str, Field(max_length=2000)] = ""
    scope: Scope = Scope()
    when: When
    only_during: OnlyDuring | None = None
    alert: AlertSpec

    @model_validator(mode="after")
    def _consistent(self) -> RuleSpec:
        kind = self.when.type
        if self.alert.auto_clear and kind not in CLEARING_TYPES:
            raise PydanticCustomError(
                "rule_auto_clear",
                "auto_clear works only with threshold, absence and geofence rules, not {kind}",
                {"kind": kind},
            )
        if isinstance(self.when, KOfNWhen) and self.scope.assets and self.when.k > len(self.scope.assets):
            raise PydanticCustomError(
                "rule_k_too_big",
                "k ({k}) is more than the {n} assets listed in scope.assets",
                {"k": self.when.k, "n": len(self.scope.assets)},
            )
        return self

    @property
    def kind(self) -> str:
        """The `when` type."""
        return self.when.type

    @property
    def on_events(self) -> bool:
        """Whether the rule reads events (pattern, event, event_count) rather than readings."""
        return self.when.type in EVENT_TYPES

    def measures(self) -> frozenset[str] | None:
        """The measures a reading rule reads; None for "any measure" (absence without one) and event rules."""
        w = self.when
        if isinstance(w, ThresholdWhen | RateOfChangeWhen | KOfNWhen):
            return frozenset({w.measure})
        if isinstance(w, GeofenceWhen):
            return frozenset({w.lat_measure, w.lon_measure})
        if isinstance(w, AbsenceWhen) and w.measure:
            return frozenset({w.measure})
        return None

    def to_dict(self) -> dict[str, Any]:
        """The normalized definition to store (defaults filled in, unset optional parts left out)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


# ---------------------------------------------------------------------------------------------- parsing


_MSG_VI = {
    "missing": "Thiếu trường bắt buộc",
    "extra_forbidden": "Trường không được phép",
    "literal_error": "Giá trị không thuộc danh sách cho phép",
    "union_tag_invalid": "Kiểu điều kiện không hợp lệ",
    "union_tag_not_found": "Thiếu kiểu điều kiện (type)",
    "string_pattern_mismatch": "Chuỗi không đúng định dạng",
    "string_too_long": "Chuỗi quá dài",
    "string_too_short": "Chuỗi quá ngắn hoặc rỗng",
    "string_type": "Phải là chuỗi ký tự",
    "too_long": "Danh sách quá dài",
    "int_type": "Phải là số nguyên",
    "int_parsing": "Phải là số nguyên",
    "int_from_float": "Phải là số nguyên",
    "float_type": "Phải là số",
    "float_parsing": "Phải là số",
    "bool_type": "Phải là true hoặc false",
    "bool_parsing": "Phải là true hoặc false",
    "dict_type": "Phải là một đối tượng",
    "list_type": "Phải là một danh sách",
    "model_type": "Phải là một đối tượng",
    "model_attributes_type": "Phải là một đối tượng",
    "greater_than": "Giá trị quá nhỏ",
    "greater_than_equal": "Giá trị quá nhỏ",
    "less_than": "Giá trị quá lớn",
    "less_than_equal": "Giá trị quá lớn",
    "rule_not_finite": "Phải là số hữu hạn",
    "rule_zone_type": "Vùng phải là Polygon hoặc MultiPolygon GeoJSON",
    "rule_zone_size": "Vùng có quá nhiều đỉnh",
    "rule_zone_invalid": "Vùng không hợp lệ",
    "rule_same_measure": "lat_measure và lon_measure phải khác nhau",
    "rule_time": "Phải là giờ dạng HH:MM (00:00-24:00)",
    "rule_empty_window": "'from' và 'to' phải khác nhau",
    "rule_placeholder": "Biến không được hỗ trợ trong tiêu đề",
    "rule_template": "Tiêu đề không đúng cú pháp",
    "rule_auto_clear": "auto_clear chỉ dùng cho quy tắc threshold, absence, geofence",
    "rule_k_too_big": "k lớn hơn số tài sản trong scope.assets",
}
_WHEN_TAGS = frozenset(
    {"threshold", "rate_of_change", "absence", "geofence", "k_of_n", "pattern", "event", "event_count"}
)


# where a whole-model check's problem lies, for the user's eyes
_LOC_OF = {
    "rule_auto_clear": ["alert", "auto_clear"],
    "rule_k_too_big": ["when", "k"],
    "rule_same_measure": ["when", "lon_measure"],
    "rule_empty_window": ["only_during", "to"],
}


def _problems(err: ValidationError) -> list[dict[str, str]]:
    out = []
    for e in err.errors(include_url=False):
        loc: list[Any] = list(e["loc"])
        if e["type"] in _LOC_OF:
            loc = _LOC_OF[e["type"]]
        # pydantic names the union member in the location (when.threshold.op); users wrote when.op
        if len(loc) > 1 and loc[0] == "when" and loc[1] in _WHEN_TAGS:
            del loc[1]
        out.append(
            {
                "loc": ".".join(str(p) for p in loc) or "(root)",
                "msg": e["msg"],
                "msg_vi": _MSG_VI.get(e["type"], "Giá trị không hợp lệ"),
            }
        )
    return out


def parse_rule(data: Any) -> RuleSpec:
    """Validate a rule definition (a mapping, e.g. decoded JSON); raise `BadRequest` with every problem."""
    if not isinstance(data, dict):
        raise BadRequest(
            "Định nghĩa quy tắc phải là một đối tượng (mapping)",
            "A rule definition must be an object (mapping)",
            details=[{"loc": "(root)", "msg": "not a mapping", "msg_vi": "không phải một đối tượng"}],
        )
    try:
        return RuleSpec.model_validate(data)
    except ValidationError as e:
        problems = _problems(e)
        raise BadRequest(
            f"Định nghĩa quy tắc không hợp lệ ({len(problems)} lỗi)",
            f"Invalid rule definition ({len(problems)} problem{'s' if len(problems) != 1 else ''})",
            details=problems,
        ) from None


def parse_text(text: str, fmt: Literal["json", "yaml"]) -> RuleSpec:
    """Parse and validate a rule written as JSON or YAML text (at most 64 KB)."""
    if fmt not in ("json", "yaml"):
        raise BadRequest(f"Định dạng không hỗ trợ: {fmt}", f"Unsupported format: {fmt}")
    if len(text.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise BadRequest(
            f"Định nghĩa quy tắc quá lớn (tối đa {MAX_TEXT_BYTES // 1024} KB)",
            f"Rule definition too large (at most {MAX_TEXT_BYTES // 1024} KB)",
        )
    try:
        data = json.loads(text) if fmt == "json" else _load_yaml(text)
    except (ValueError, RecursionError, yaml.YAMLError) as e:
        at = _error_position(e)
        raise BadRequest(
            f"Không đọc được {fmt.upper()}" + (f" (dòng {at[0]}, cột {at[1]})" if at else ""),
            f"Cannot parse {fmt.upper()}" + (f" (line {at[0]}, column {at[1]})" if at else ""),
            details=[{"loc": "(text)", "msg": str(e)[:500], "msg_vi": "lỗi cú pháp"}],
        ) from None
    return parse_rule(data)


class _RuleLoader(yaml.SafeLoader):
    """``yaml.safe_load`` with YAML 1.2's plain scalars and no aliases.

    YAML 1.1 reads ``on: enter`` as ``{True: "enter"}`` and ``from: 06:30`` as the integer 390 (base 60);
    here only true/false are booleans, and times stay strings. Aliases (``*name``) are refused: a rule never
    needs them and they are how a few bytes of YAML expand into gigabytes ("billion laughs").
    """

    yaml_implicit_resolvers: dict[Any, Any] = {}

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in rule definitions", event.start_mark
            )
        return super().compose_node(parent, index)


for _tag, _regexp, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?(?:0|[1-9][0-9]*)|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
):
    _RuleLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_regexp), list(_first))


def _load_yaml(text: str) -> Any:
    return yaml.load(text, Loader=_RuleLoader)  # noqa: S506  # a SafeLoader subclass


def _error_position(e: Exception) -> tuple[int, int] | None:
    mark = getattr(e, "problem_mark", None)
    if mark is not None:
        return mark.line + 1, mark.column + 1
    if isinstance(e, json.JSONDecodeError):
        return e.lineno, e.colno
    return None


# ---------------------------------------------------------------------------------------------- helpers


def template_fields(template: str) -> list[tuple[str, str | None, str]]:
    """Split a title template into (literal, field or None, format spec); raise for unknown placeholders."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as e:
        raise PydanticCustomError("rule_template", "bad title template: {reason}", {"reason": str(e)}) from e
    out: list[tuple[str, str | None, str]] = []
    for literal, name, raw_spec, conversion in parts:
        spec = raw_spec or ""
        if name is None:
            out.append((literal, None, ""))
            continue
        if name not in PLACEHOLDERS or conversion:
            raise PydanticCustomError(
                "rule_placeholder",
                "unknown placeholder {name}; use one of {allowed}",
                {"name": "{" + name + "}", "allowed": ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS))},
            )
        if spec and ("{" in spec):
            raise PydanticCustomError("rule_template", "bad title template: {reason}", {"reason": spec})
        try:
            format(_SAMPLE_VALUES[name], spec)
        except ValueError as e:
            raise PydanticCustomError(
                "rule_template",
                "bad format '{spec}' for {name}: {reason}",
                {"spec": spec, "name": name, "reason": str(e)},
            ) from e
        out.append((literal, name, spec))
    return out


def _count_vertices(coords: Any, depth: int = 0) -> int:
    """Positions in a (Multi)Polygon's coordinates; nesting deeper than a MultiPolygon's is not followed."""
    if not isinstance(coords, list) or depth > 3:
        return 0
    if coords and isinstance(coords[0], int | float):
        return 1
    return sum(_count_vertices(c, depth + 1) for c in coords)


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)
