"""The Open311 GeoReport v2 wire format. What clients read: services, service definitions, requests,
updates and errors, rendered as XML (the format the specification requires) or as JSON (its "Spark
convention" mapping of the same XML: a list element becomes an array, the root element disappears).
And the checks of what they send: W3C datetimes, attribute values against the service definition.

Also the attribute schema of `ReportCategory.attributes`, a JSON list of service definition attributes:

    {"code": "so-nguoi", "datatype": "singlevaluelist", "required": true, "order": 1,
     "description": "Có bao nhiêu người?", "description_en": "How many people?",
     "values": [{"key": "1", "name": "Một người", "name_en": "One person"}, ...]}

`code` (a letter or digit, then letters, digits, "_", "-" or "."; at most 40) is what clients send as
attribute[code]; `datatype` is one of DATATYPES (default "string"); `required` defaults to false; `order`
(a positive integer) to the entry's position; `variable` (default true) false marks text shown to the user
and never sent back; `values` are needed by the two list datatypes; `datatype_description` is optional.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from xml.etree import ElementTree as ET  # noqa: S405  (it only builds XML; nothing is parsed here)

from fastapi.responses import Response

from toancanh.core.worktime import VN_TZ
from toancanh.modules.reports.models import FieldReport, ReportCategory
from toancanh.modules.reports.service import PUBLIC_DECIMALS
from toancanh.modules.reports.workflow import ACK_HOURS, FIELD_REPORT, URGENT_ACK_HOURS

log = logging.getLogger("toancanh.reports.open311")

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CONTENT_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json; charset=utf-8"}
DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
LIST_DATATYPES = ("singlevaluelist", "multivaluelist")
# Open311 knows two statuses: "open" (reported) and "closed" (resolved). An answered report ("resolved",
# waiting for the citizen's rating) counts as closed; a reopened one is open again.
CLOSED_STATES = ("resolved", "closed", "rejected", "merged")

# The XML element of each item of a list, by the list's element (as in the specification's examples).
ITEM_ELEMENTS = {
    "services": "service",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "service_requests": "request",
    "service_request_updates": "request_update",
    "errors": "error",
}
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_W3 = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$")
# Characters XML 1.0 cannot carry at all (most C0 controls); a description with one must still render.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Open311Error(Exception):
    """A refusal in the specification's terms: an HTTP status and one or more (Vietnamese, English) texts."""

    def __init__(self, status: int, *problems: tuple[str, str]) -> None:
        super().__init__(problems[0][1] if problems else str(status))
        self.status = status
        self.problems = problems


# ------------------------------------------------------------------------------------------- rendering


def render(fmt: str, root: str, data: Any, status: int = 200) -> Response:
    """`data` as the body of an Open311 answer in `fmt` ("xml" or "json"); `root` names the XML root."""
    data = _clean(data)
    body = json.dumps(data, ensure_ascii=False).encode() if fmt == "json" else xml_document(root, data)
    return Response(body, status_code=status, media_type=CONTENT_TYPES[fmt])


def render_errors(fmt: str, status: int, descriptions: Sequence[str]) -> Response:
    """The specification's error answer: a list of {code, description}, the code being the HTTP status."""
    return render(fmt, "errors", [{"code": status, "description": d} for d in descriptions], status)


def xml_document(root: str, data: Any) -> bytes:
    element = ET.Element(root)
    _fill(element, data, root)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(element, encoding="unicode").encode()


def _fill(element: ET.Element, value: Any, name: str) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _fill(ET.SubElement(element, key), item, key)
    elif isinstance(value, list | tuple):
        child_name = ITEM_ELEMENTS[name]
        for item in value:
            _fill(ET.SubElement(element, child_name), item, child_name)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _NOT_XML.sub("", value)
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def w3(value: datetime | None) -> str | None:
    """A timestamp in the W3C profile of ISO 8601 with its offset, in Vietnam's time zone."""
    return value.astimezone(VN_TZ).isoformat(timespec="seconds") if value is not None else None


def pick(locale: str, vi: str, en: str) -> str:
    return en if locale == "en" and en else vi


def parse_w3(raw: str, name: str = "date") -> datetime:
    """A W3C-profile ISO 8601 date or datetime with its offset; a bare date is midnight in Vietnam."""
    text = re.sub(r" (\d{2}:\d{2})$", r"+\1", raw.strip())  # an unencoded "+" in a query arrives as " "
    problem = (
        f"{name} không đúng định dạng W3C (ví dụ 2025-07-01T00:00:00+07:00)",
        f"{name} is not a W3C datetime (e.g. 2025-07-01T00:00:00Z)",
    )
    if not _W3.match(text):
        raise Open311Error(400, problem)
    try:
        if "T" in text:
            value = datetime.fromisoformat(text)
        else:
            d = date.fromisoformat(text)
            value = datetime(d.year, d.month, d.day, tzinfo=VN_TZ)
    except ValueError:
        raise Open311Error(400, problem) from None
    if not 1970 <= value.year <= 2999:
        raise Open311Error(400, (f"{name} nằm ngoài khoảng 1970-2999", f"{name} outside 1970-2999"))
    return value


# ------------------------------------------------------------------------------------------- services


@dataclass(frozen=True)
class AttributeValue:
    key: str
    name: str
    name_en: str = ""


@dataclass(frozen=True)
class AttributeDef:
    """One attribute of a service definition (see the module docstring for its JSON form)."""

    code: str
    datatype: str = "string"
    required: bool = False
    variable: bool = True
    order: int = 1
    description: str = ""
    description_en: str = ""
    datatype_description: str = ""
    values: tuple[AttributeValue, ...] = ()

    def label(self, locale: str) -> str:
        return pick(locale, self.description, self.description_en) or self.code

    def as_dict(self, locale: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "variable": self.variable,
            "code": self.code,
            "datatype": self.datatype,
            "required": self.required,
            "datatype_description": self.datatype_description or None,
            "order": self.order,
            "description": self.label(locale),
        }
        if self.datatype in LIST_DATATYPES:
            out["values"] = [{"key": v.key, "name": pick(locale, v.name, v.name_en)} for v in self.values]
        return out


def attribute_defs(category: ReportCategory) -> list[AttributeDef]:
    """The category's attributes in presentation order; a malformed entry is logged and left out."""
    out: dict[str, AttributeDef] = {}
    for i, raw in enumerate(category.attributes or []):
        try:
            d = _attribute_def(raw, i + 1)
        except (TypeError, ValueError, KeyError) as exc:
            _warn_once(category, f"attribute {i} left out of its Open311 definition: {exc}")
            continue
        if d.code in out:
            _warn_once(category, f"attribute code {d.code} repeated; the first one is kept")
            continue
        out[d.code] = d
    return sorted(out.values(), key=lambda d: (d.order, d.code))


_warned: set[tuple[str, str]] = set()


def _warn_once(category: ReportCategory, problem: str) -> None:
    """A configuration mistake, logged once per process rather than on every request that meets it."""
    if (category.code, problem) not in _warned:
        _warned.add((category.code, problem))
        log.warning("report category %s: %s", category.code, problem)


def _attribute_def(raw: Any, position: int) -> AttributeDef:
    if not isinstance(raw, Mapping):
        raise TypeError("not an object")
    code = str(raw["code"])
    if not _CODE.match(code):
        raise ValueError(f"invalid code {code[:50]!r}")
    datatype = str(raw.get("datatype") or "string")
    if datatype not in DATATYPES:
        raise ValueError(f"unknown datatype {datatype[:30]!r}")
    values = tuple(
        AttributeValue(str(v["key"]), str(v.get("name") or v["key"]), str(v.get("name_en") or ""))
        for v in raw.get("values") or []
    )
    if datatype in LIST_DATATYPES and not values:
        raise ValueError(f"{datatype} without values")
    order = int(raw.get("order") or position)
    if order < 1:
        raise ValueError("order must be a positive integer")
    return AttributeDef(
        code=code,
        datatype=datatype,
        required=bool(raw.get("required", False)),
        variable=bool(raw.get("variable", True)),
        order=order,
        description=str(raw.get("description") or ""),
        description_en=str(raw.get("description_en") or ""),
        datatype_description=str(raw.get("datatype_description") or ""),
        values=values,
    )


def attribute_values(
    sent: Mapping[str, Sequence[str]], defs: Sequence[AttributeDef], locale: str
) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """The attribute[code] values sent, checked against the service definition: (values, problems)."""
    out: dict[str, Any] = {}
    problems: list[tuple[str, str]] = []
    for d in defs:
        given = [v.strip() for v in sent.get(d.code, ()) if v.strip()]
        if not d.variable:
            continue
        where = f"attribute[{d.code}] ({d.label(locale)})"
        if not given:
            if d.required:
                problems.append(
                    (f"Thiếu thông tin bắt buộc: {where}", f"Required attribute missing: {where}")
                )
        elif d.datatype != "multivaluelist" and len(given) > 1:
            problems.append((f"Chỉ được một giá trị: {where}", f"Only one value allowed: {where}"))
        elif (value := _attribute_value(d, given)) is None:
            problems.append((f"Giá trị không hợp lệ: {where}", f"Invalid value for {where}"))
        else:
            out[d.code] = value
    return out, problems


def _attribute_value(d: AttributeDef, given: list[str]) -> Any:
    """The stored value of one attribute, or None when what was sent does not fit its datatype."""
    if d.datatype in LIST_DATATYPES:
        if not set(given) <= {v.key for v in d.values}:
            return None
        return given[0] if d.datatype == "singlevaluelist" else list(dict.fromkeys(given))
    text = given[0]
    if d.datatype == "number":
        try:
            number = float(text)
        except ValueError:
            return None
        return (int(number) if number.is_integer() else number) if math.isfinite(number) else None
    if d.datatype == "datetime":
        try:
            return parse_w3(text).isoformat()
        except Open311Error:
            return None
    limit = 2000 if d.datatype == "text" else 300
    if len(text) > limit or (d.datatype == "string" and ("\n" in text or "\r" in text)):
        return None
    return text


def service_notice(category: ReportCategory, locale: str) -> str:
    """What happens next, from the category's deadlines (acknowledgement, then resolution)."""
    hours = URGENT_ACK_HOURS if category.urgent else ACK_HOURS
    days = category.resolve_days
    return pick(
        locale,
        f"Cơ quan chức năng tiếp nhận trong {hours} giờ làm việc và xử lý trong {days} ngày làm việc.",
        f"The responsible agency acknowledges within {hours} working hours and resolves within "
        f"{days} working days.",
    )


def service_dict(category: ReportCategory, locale: str) -> dict[str, Any]:
    name = pick(locale, category.name, category.name_en)
    return {
        "service_code": category.code,
        "service_name": name,
        "description": category.description or name,
        "metadata": bool(attribute_defs(category)),
        "type": "realtime",
        "keywords": category.keywords,
        "group": category.group,
    }


def definition_dict(category: ReportCategory, locale: str) -> dict[str, Any]:
    return {
        "service_code": category.code,
        "attributes": [d.as_dict(locale) for d in attribute_defs(category)],
    }


# ------------------------------------------------------------------------------------------- requests


def status_of(state: str) -> str:
    return "closed" if state in CLOSED_STATES else "open"


def state_label(state: str, locale: str) -> str:
    return FIELD_REPORT.label(state, "en" if locale == "en" else "vi")


@dataclass(frozen=True)
class RecordContext:
    """What a request's public record needs besides the report, loaded once for a whole list."""

    category: ReportCategory | None
    agency_name: str | None
    address: str | None
    address_id: str | None
    media_url: str | None


def request_dict(report: FieldReport, ctx: RecordContext, locale: str) -> dict[str, Any]:
    """A report as the public may see it: no reporter, rounded point, text only once moderated."""
    approved = report.moderation == "approved"
    answered = report.state in ("resolved", "closed") and report.answer
    closed = report.state in CLOSED_STATES
    updated = (
        (report.closed_at or report.state_since) if closed else max(report.updated_at, report.state_since)
    )
    cat = ctx.category
    return {
        "service_request_id": str(report.id),
        "status": status_of(report.state),
        "status_notes": report.answer if answered else state_label(report.state, locale),
        "service_name": pick(locale, cat.name, cat.name_en) if cat else None,
        "service_code": cat.code if cat else None,
        "description": report.description if approved else None,
        "agency_responsible": ctx.agency_name,
        "service_notice": service_notice(cat, locale) if cat else None,
        "requested_datetime": w3(report.created_at),
        "updated_datetime": w3(updated),
        "expected_datetime": w3(report.due_at),
        "address": ctx.address,
        "address_id": ctx.address_id,
        "zipcode": None,
        "lat": round(report.lat, PUBLIC_DECIMALS),
        "long": round(report.lon, PUBLIC_DECIMALS),
        "media_url": ctx.media_url,
    }


def update_dict(
    update_id: int,
    report: FieldReport,
    at: datetime,
    state: str,
    description: str,
    media_url: str | None,
) -> dict[str, Any]:
    """One step of a report's history, as FixMyStreet's GET servicerequestupdates extension lists it."""
    return {
        "update_id": str(update_id),
        "service_request_id": str(report.id),
        "status": status_of(state),
        "updated_datetime": w3(at),
        "description": description,
        "media_url": media_url or "",
    }
