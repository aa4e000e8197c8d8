"""The IOC's public warnings (*cảnh báo công khai*) out as CAP 1.2, and the Atom feed that lists them.

`create_warning` checks and stores a warning; `warning_to_cap` writes one as a CAP 1.2 alert, valid against
the OASIS schema (element order, vocabularies, times as "YYYY-MM-DDThh:mm:ss+07:00": CAP's pattern wants a
numeric offset, no "Z" and no fractions); `warnings_atom` writes the Atom 1.0 feed that links them, and
`list_public` chooses what that feed shows.

What a warning becomes in CAP:
- one `<info>` in vi-VN and, when `headline_en` is set, a second in en-US (English texts, else Vietnamese);
- one `<area>`: its description, a `<polygon>` per polygon of the GeoJSON area (outer ring, "lat,lon" pairs,
  closed) or a `<circle>` ("lat,lon radius_km"), and always a `<geocode>` VN-ADMIN with the unit's code;
- `<references>` for an Update or a Cancel: "sender,identifier,sent" of each warning it replaces.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

import shapely
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from toancanh.connectors.cap.const import (
    ATOM_NS,
    CAP_MEDIA_TYPE,
    CAP_NS,
    CATEGORIES,
    CERTAINTIES,
    GEOCODE_UNIT,
    SEVERITIES,
    STATUSES,
    URGENCIES,
    VIETNAM_TZ,
    domain_for,
)
from toancanh.core import audit, outbox
from toancanh.core.auth.scope import Principal, get_scoped
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest
from toancanh.core.geo import GeoError, shape_from_geojson
from toancanh.core.units import Unit, get_unit
from toancanh.modules.alerts.models import Incident, PublicWarning
from toancanh.modules.alerts.schemas_cap import MSG_TYPES_OUT, WarningIn

PUBLISHED = "toancanh.alerts.warning.published"
MAX_VERTICES = 1000
RECENTLY_EXPIRED = timedelta(hours=24)  # the public feed keeps an expired warning this long
PUBLIC_LIMIT = 100
KM_PER_DEGREE = 111.32
# Characters XML 1.0 cannot carry at all (most C0 controls, lone surrogates, U+FFFE/U+FFFF)
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# CAP: an identifier holds no spaces, commas or restricted characters (< and &); "/" would break its URL
_NOT_IN_IDENTIFIER = re.compile(r"[\s,<&/]")
IDENTIFIER_ATTEMPTS = 5


# ---------------------------------------------------------------------------------------------- writing


def cap_time(value: datetime) -> str:
    """A time as CAP 1.2 writes it: Viet Nam time, whole seconds, a numeric offset ("...T08:30:00+07:00")."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(VIETNAM_TZ).replace(microsecond=0).isoformat()


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _num(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def _sub(parent: ET.Element, name: str, text: str | None = None) -> ET.Element:
    el = ET.SubElement(parent, name)
    if text is not None:
        el.text = _clean(text)
    return el


def cap_polygons(area: Mapping[str, Any]) -> list[str]:
    """The CAP polygons of a GeoJSON Polygon or MultiPolygon: each outer ring as closed "lat,lon" pairs."""
    kind = area.get("type")
    coords = area.get("coordinates") or []
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    out = []
    for polygon in polygons:
        ring = list(polygon[0])
        if ring and ring[0] != ring[-1]:
            ring.append(ring[0])
        out.append(" ".join(f"{_num(p[1])},{_num(p[0])}" for p in ring))
    return out


def cap_circle(area: Mapping[str, Any]) -> str | None:
    """The CAP circle of a stored circle area (a GeoJSON Point with `radius_km`), else None."""
    if area.get("type") != "Point" or "radius_km" not in area:
        return None
    lon, lat = area["coordinates"][:2]
    return f"{_num(lat)},{_num(lon)} {_num(float(area['radius_km']))}"


def warning_to_cap(
    w: PublicWarning, sender: str, unit_name: str, unit_code: str = "", *, web: str = ""
) -> bytes:
    """One warning as a CAP 1.2 alert document (UTF-8 bytes). `web`: an absolute link for more information."""
    # Plain names under a root that declares the default namespace: no "ns0:" prefixes in the output.
    alert = ET.Element("alert", {"xmlns": CAP_NS})
    _sub(alert, "identifier", w.identifier)
    _sub(alert, "sender", sender)
    _sub(alert, "sent", cap_time(w.sent_at))
    _sub(alert, "status", w.status)
    _sub(alert, "msgType", w.msg_type)
    _sub(alert, "scope", "Public")
    if w.references:
        _sub(alert, "references", w.references)
    texts = [("vi-VN", w.headline, w.description, w.instruction, f"Trung tâm điều hành - {unit_name}")]
    if w.headline_en:
        texts.append(
            (
                "en-US",
                w.headline_en,
                w.description_en or w.description,
                w.instruction_en or w.instruction,
                f"Operations center - {unit_name}",
            )
        )
    for language, headline, description, instruction, sender_name in texts:
        info = _sub(alert, "info")
        _sub(info, "language", language)
        _sub(info, "category", w.category)
        _sub(info, "event", w.event)
        _sub(info, "urgency", w.urgency)
        _sub(info, "severity", w.severity)
        _sub(info, "certainty", w.certainty)
        if w.effective_at is not None:
            _sub(info, "effective", cap_time(w.effective_at))
        if w.expires_at is not None:
            _sub(info, "expires", cap_time(w.expires_at))
        _sub(info, "senderName", sender_name)
        _sub(info, "headline", headline)
        if description:
            _sub(info, "description", description)
        if instruction:
            _sub(info, "instruction", instruction)
        if web:
            _sub(info, "web", web)
        area = _sub(info, "area")
        _sub(area, "areaDesc", w.area_desc)
        for polygon in cap_polygons(w.area or {}):
            _sub(area, "polygon", polygon)
        circle = cap_circle(w.area or {})
        if circle is not None:
            _sub(area, "circle", circle)
        if unit_code:
            geocode = _sub(area, "geocode")
            _sub(geocode, "valueName", GEOCODE_UNIT)
            _sub(geocode, "value", unit_code)
    data: bytes = ET.tostring(alert, encoding="utf-8", xml_declaration=True)
    return data


def cap_url(base_url: str, identifier: str) -> str:
    return f"{base_url.rstrip('/')}/cap/warnings/{quote(identifier, safe='@')}.xml"


def warnings_atom(warnings: Sequence[PublicWarning], base_url: str, sender: str) -> bytes:
    """An Atom 1.0 feed of the warnings; each entry links its CAP document (`application/cap+xml`)."""
    base = base_url.rstrip("/")

    def sub(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, name, attrs)
        if text is not None:
            el.text = _clean(text)
        return el

    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    sub(feed, "id", f"{base}/cap/warnings.atom")
    sub(feed, "title", "Cảnh báo công khai / Public warnings")
    newest = max((w.updated_at or w.sent_at for w in warnings), default=None) or utcnow()
    sub(feed, "updated", cap_time(newest))
    author = sub(feed, "author")
    sub(author, "name", sender)
    sub(feed, "link", rel="self", type="application/atom+xml", href=f"{base}/cap/warnings.atom")
    for w in warnings:
        link = cap_url(base, w.identifier)
        entry = sub(feed, "entry")
        sub(entry, "id", link)
        sub(entry, "title", w.headline)
        sub(entry, "updated", cap_time(w.updated_at or w.sent_at))
        sub(entry, "published", cap_time(w.sent_at))
        sub(entry, "summary", w.description or w.headline)
        sub(entry, "category", term=w.category)
        sub(entry, "link", rel="alternate", type=CAP_MEDIA_TYPE, href=link)
    data: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return data


# ---------------------------------------------------------------------------------------------- storing


def list_public(db: Session, now: datetime | None = None, limit: int = PUBLIC_LIMIT) -> list[PublicWarning]:
    """The published warnings the public feed shows: live ones and those expired in the last 24 hours."""
    now = now or utcnow()
    stmt = (
        select(PublicWarning)
        .where(
            PublicWarning.published.is_(True),
            PublicWarning.status != "Draft",
            or_(PublicWarning.expires_at.is_(None), PublicWarning.expires_at > now - RECENTLY_EXPIRED),
        )
        .order_by(PublicWarning.sent_at.desc(), PublicWarning.id.desc())
        .limit(limit)
    )
    return list(db.scalars(stmt))


def public_warning(db: Session, identifier: str) -> tuple[PublicWarning, Unit] | None:
    """A published warning and its unit, by CAP identifier (None when unknown, unpublished or a draft)."""
    row = db.execute(
        select(PublicWarning, Unit)
        .join(Unit, Unit.id == PublicWarning.unit_id)
        .where(
            PublicWarning.identifier == identifier,
            PublicWarning.published.is_(True),
            PublicWarning.status != "Draft",
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


def warning_summary(w: PublicWarning) -> dict[str, Any]:
    return {
        "id": w.id,
        "identifier": w.identifier,
        "unit_id": w.unit_id,
        "incident_id": w.incident_id,
        "status": w.status,
        "msg_type": w.msg_type,
        "references": w.references,
        "category": w.category,
        "event": w.event,
        "urgency": w.urgency,
        "severity": w.severity,
        "certainty": w.certainty,
        "headline": w.headline,
        "headline_en": w.headline_en,
        "description": w.description,
        "description_en": w.description_en,
        "instruction": w.instruction,
        "instruction_en": w.instruction_en,
        "area_desc": w.area_desc,
        "area": w.area,
        "sent_at": w.sent_at.isoformat(),
        "effective_at": w.effective_at.isoformat() if w.effective_at else None,
        "expires_at": w.expires_at.isoformat() if w.expires_at else None,
        "published": w.published,
        "created_by_id": w.created_by_id,
    }


def _vocab(value: str, allowed: Sequence[str], name: str) -> None:
    if value not in allowed:
        raise BadRequest(
            f"Giá trị {name} không hợp lệ: {value!r} (chỉ nhận {', '.join(allowed)})",
            f"Invalid {name}: {value!r} (expected one of {', '.join(allowed)})",
            details={"field": name, "allowed": list(allowed)},
        )


def _check_texts(data: WarningIn) -> None:
    for name in (
        "event",
        "headline",
        "headline_en",
        "description",
        "description_en",
        "instruction",
        "instruction_en",
        "area_desc",
    ):
        if _NOT_XML.search(getattr(data, name)):
            raise BadRequest(
                f"Trường {name} chứa ký tự điều khiển không hợp lệ",
                f"The field {name} holds control characters that CAP (XML) cannot carry",
                details={"field": name},
            )


def _check_area(data: WarningIn, unit: Unit) -> dict[str, Any]:
    """The area to store: the GeoJSON polygon(s), a circle as a GeoJSON Point with `radius_km`, or {}."""
    if data.area is not None and data.circle is not None:
        raise BadRequest("Chỉ chọn một: vùng đa giác hoặc hình tròn", "Give an area or a circle, not both")
    if data.circle is not None:
        c = data.circle
        shape = shapely.Point(c.lon, c.lat).buffer(c.radius_km / KM_PER_DEGREE)
        area: dict[str, Any] = {"type": "Point", "coordinates": [c.lon, c.lat], "radius_km": c.radius_km}
    elif data.area is not None:
        try:
            shape = shape_from_geojson(data.area)
        except GeoError as exc:
            raise BadRequest(f"Vùng cảnh báo không hợp lệ: {exc.vi}", f"Invalid area: {exc.en}") from None
        if shape.geom_type not in ("Polygon", "MultiPolygon"):
            raise BadRequest(
                "Vùng cảnh báo phải là Polygon hoặc MultiPolygon",
                "The area must be a Polygon or MultiPolygon",
            )
        parts = [shape] if isinstance(shape, shapely.Polygon) else list(getattr(shape, "geoms", []))
        if any(len(p.interiors) for p in parts):
            raise BadRequest("CAP không biểu diễn được vùng có lỗ", "CAP polygons cannot have holes")
        vertices = sum(len(p.exterior.coords) - 1 for p in parts)  # the closing position repeats the first
        if vertices > MAX_VERTICES:
            raise BadRequest(
                f"Vùng cảnh báo tối đa {MAX_VERTICES} đỉnh (có {vertices})",
                f"The area has at most {MAX_VERTICES} vertices (it has {vertices})",
            )
        area = {"type": data.area["type"], "coordinates": data.area["coordinates"]}
    else:
        return {}
    if unit.boundary:
        try:
            inside = shape.intersects(shape_from_geojson(unit.boundary))
        except GeoError:
            inside = True  # a unit with a broken boundary cannot judge the area
        if not inside:
            raise BadRequest(
                "Vùng cảnh báo nằm ngoài địa bàn đơn vị (vĩ độ và kinh độ có bị đảo?)",
                "The area lies outside the unit (are latitude and longitude swapped?)",
            )
    return area


def _references(db: Session, data: WarningIn, sender: str) -> str:
    if data.msg_type == "Alert":
        if data.references:
            raise BadRequest(
                "Chỉ bản tin Update hoặc Cancel mới tham chiếu bản tin trước",
                "Only an Update or a Cancel refers to earlier warnings",
            )
        return ""
    wanted = list(dict.fromkeys(r.strip() for r in data.references if r.strip()))
    if not wanted:
        raise BadRequest(
            f"Bản tin {data.msg_type} cần tham chiếu ít nhất một cảnh báo trước",
            f"An {data.msg_type} must refer to at least one earlier warning",
        )
    found = {
        w.identifier: w for w in db.scalars(select(PublicWarning).where(PublicWarning.identifier.in_(wanted)))
    }
    missing = [r for r in wanted if r not in found]
    if missing:
        raise BadRequest(
            f"Không có cảnh báo mã {', '.join(missing)}",
            f"No warning with identifier {', '.join(missing)}",
            details={"missing": missing},
        )
    return " ".join(f"{sender},{r},{cap_time(found[r].sent_at)}" for r in wanted)


def _identifier(db: Session, sender: str, unit: Unit, sent: datetime) -> str:
    prefix = f"{_NOT_IN_IDENTIFIER.sub('_', sender)}-{unit.code}-{sent.astimezone(VIETNAM_TZ).year}-"
    taken = db.scalars(
        select(PublicWarning.identifier).where(PublicWarning.identifier.startswith(prefix, autoescape=True))
    )
    seq = 1 + max((int(t[len(prefix) :]) for t in taken if t[len(prefix) :].isdecimal()), default=0)
    identifier = f"{prefix}{seq}"
    if len(identifier) > 120:
        raise ValueError(f"CAP identifier {identifier!r} is too long: shorten the cap_sender setting")
    return identifier


def create_warning(
    db: Session, principal: Principal, data: WarningIn, *, sender: str, now: datetime | None = None
) -> PublicWarning:
    """Check and store a public warning for a unit (permission warnings.publish there); audit and announce it.

    Raises 404 for an unknown unit or incident, 403 without the permission, 400 for anything CAP cannot say
    (vocabularies, references, area, times, control characters). Nothing is stored when it raises.
    """
    now = now or utcnow()
    unit = get_unit(db, data.unit_id)
    domain = domain_for(data.category)
    principal.require("warnings.publish", unit.path, domain)
    _vocab(data.status, STATUSES, "status")
    _vocab(data.msg_type, MSG_TYPES_OUT, "msg_type")
    _vocab(data.category, CATEGORIES, "category")
    _vocab(data.urgency, URGENCIES, "urgency")
    _vocab(data.severity, SEVERITIES, "severity")
    _vocab(data.certainty, CERTAINTIES, "certainty")
    _check_texts(data)
    references = _references(db, data, sender)
    area = _check_area(data, unit)
    if data.effective_at is not None and data.expires_at is not None and data.expires_at <= data.effective_at:
        raise BadRequest(
            "Thời điểm hết hiệu lực phải sau thời điểm có hiệu lực", "expires must be after effective"
        )
    if data.expires_at is not None and data.expires_at <= now:
        raise BadRequest("Thời điểm hết hiệu lực phải sau thời điểm phát", "expires must be after sent")
    if data.incident_id is not None:
        get_scoped(db, principal, Incident, data.incident_id, "incidents.read")
    w = PublicWarning(
        unit_id=unit.id,
        incident_id=data.incident_id,
        status=data.status,
        msg_type=data.msg_type,
        references=references,
        category=data.category,
        event=data.event,
        urgency=data.urgency,
        severity=data.severity,
        certainty=data.certainty,
        headline=data.headline,
        headline_en=data.headline_en,
        description=data.description,
        description_en=data.description_en,
        instruction=data.instruction,
        instruction_en=data.instruction_en,
        area_desc=data.area_desc,
        area=area,
        sent_at=now,
        effective_at=data.effective_at,
        expires_at=data.expires_at,
        published=data.published,
        created_by_id=principal.user_id,
    )
    for attempt in range(IDENTIFIER_ATTEMPTS):
        # Two publishers of one unit at once may pick the same number; the unique identifier refuses the
        # second, which takes the next number.
        w.identifier = _identifier(db, sender, unit, now)
        try:
            with db.begin_nested():
                db.add(w)
                db.flush()
            break
        except IntegrityError:
            if attempt == IDENTIFIER_ATTEMPTS - 1:
                raise
    audit.record_by(
        db,
        principal,
        "alerts.warning.publish" if data.published else "alerts.warning.create",
        entity_type="public_warning",
        entity_id=w.id,
        unit_id=unit.id,
        changes={"identifier": w.identifier, "msg_type": w.msg_type, "status": w.status},
    )
    if data.published:
        outbox.emit(
            db,
            PUBLISHED,
            {
                "id": w.id,
                "identifier": w.identifier,
                "msg_type": w.msg_type,
                "status": w.status,
                "severity": w.severity,
                "headline": w.headline,
                "headline_en": w.headline_en,
            },
            unit_id=unit.id,
            unit_path=unit.path,
            domain=domain,
        )
    return w
