"""Reading CAP 1.2 alerts (OASIS Common Alerting Protocol, *bản tin cảnh báo*) and the feeds that carry them.

Pure functions, no network and no database: `load_xml` parses untrusted bytes safely, `parse_alert` checks an
`<alert>` and returns a `CapAlert`, `read_feed` tells a single alert from an Atom or RSS 2.0 feed and lists
what the feed embeds or links to, and `to_events` turns an alert into `EventIn`s for `events.record()`.

Where CAP leaves a choice, this is ours (integrators read this):
- XML is parsed with defusedxml only. A document with a DTD is refused, so no entity is ever expanded (no XXE,
  no "billion laughs"); a document over 2 MB is refused before it is parsed.
- The CAP 1.2 namespace is read, and CAP 1.1 (which differs in nothing read here); any other namespace, or
  none, is refused. Missing required elements (identifier, sender, sent, status, msgType, scope, at least one
  info, and in each info category, event, urgency, severity, certainty) refuse the whole alert, as do values
  outside CAP's vocabularies (compared without case) and unreadable times or areas.
- One event per `<info>` in the alert's main language: Vietnamese (vi-*) when the alert has it, else the
  language of its first `<info>` (CAP's default is en-US). The n-th English (en-*) `<info>` is the n-th
  event's translation and gives `title_en`. Infos in other languages are not recorded.
- `at` is the alert's `<sent>`, when it was issued; onset, effective and expires are in the payload.
- The place is the centroid of the first polygon of the first area that has one, else the centre of its first
  circle; `record()` finds the unit from the point (and refuses a point outside every unit). An area with a
  `<geocode>` VN-ADMIN (as the IOC's own warnings write) names its unit directly. An alert whose areas have
  neither polygon, circle nor known geocode covers the whole deployment and goes to the top-level unit.
- An Update or a Cancel is recorded like an Alert, under its own identifier, with `msgType` and `references`
  in the payload for rules and operators to read.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET
import shapely

from toancanh.connectors.cap.const import (
    ATOM_NS,
    CAP_MEDIA_TYPE,
    CAP_NAMESPACES,
    CATEGORIES,
    CERTAINTIES,
    DEFAULT_STATUSES,
    GEOCODE_UNIT,
    MAX_DOCUMENT_BYTES,
    MSG_TYPES,
    RECORDED_MSG_TYPES,
    RESPONSE_TYPES,
    SCOPES,
    SEVERITIES,
    STATUSES,
    URGENCIES,
    domain_for,
)
from toancanh.modules.alerts.events import EventIn

MAX_CATEGORY = 64
MAX_SOURCE_REF = 200


class CapError(ValueError):
    """A CAP document or feed that cannot be read; `vi` and `en` say why."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi = vi
        self.en = en


@dataclass(slots=True)
class CapArea:
    desc: str
    polygons: list[list[tuple[float, float]]] = field(default_factory=list)  # closed rings of (lat, lon)
    circles: list[tuple[float, float, float]] = field(default_factory=list)  # (lat, lon, radius km)
    geocodes: list[tuple[str, str]] = field(default_factory=list)  # (valueName, value)


@dataclass(slots=True)
class CapInfo:
    language: str
    categories: list[str]
    event: str
    urgency: str
    severity: str
    certainty: str
    response_types: list[str] = field(default_factory=list)
    effective: datetime | None = None
    onset: datetime | None = None
    expires: datetime | None = None
    sender_name: str = ""
    headline: str = ""
    description: str = ""
    instruction: str = ""
    web: str = ""
    areas: list[CapArea] = field(default_factory=list)


@dataclass(slots=True)
class CapAlert:
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    infos: list[CapInfo]
    version: str = "1.2"
    source: str = ""
    note: str = ""
    references: str = ""
    incidents: str = ""


@dataclass(slots=True)
class Rejection:
    """Something of a feed that was not recorded, and why (`where`: an identifier, a link or an entry id)."""

    where: str
    vi: str
    en: str


@dataclass(slots=True)
class FeedLink:
    href: str  # as written in the feed; the caller resolves it against the feed's address
    key: str  # entry id and update time: a re-polled entry with the same key need not be fetched again


@dataclass(slots=True)
class Feed:
    kind: str  # "alert" (a single CAP document), "atom" or "rss"
    alerts: list[CapAlert] = field(default_factory=list)
    links: list[FeedLink] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


@dataclass(slots=True)
class UnitRefs:
    """What `to_events` needs from the units table: the top-level unit and the ids of geocoded unit codes."""

    root_id: int | None
    by_code: Mapping[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- XML


def load_xml(data: bytes) -> Element:
    """Parse untrusted XML: at most 2 MB, no DTD, no entities, no external references."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise CapError(
            f"Tài liệu vượt quá {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB",
            f"The document is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB",
        )
    if not data.strip():
        raise CapError("Tài liệu rỗng", "The document is empty")
    try:
        root: Element = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise CapError(
            "Tài liệu có khai báo DTD (không được phép)", "The document declares a DTD (not allowed)"
        ) from None
    except defusedxml.EntitiesForbidden:
        raise CapError(
            "Tài liệu khai báo thực thể XML (không được phép)",
            "The document declares XML entities (not allowed)",
        ) from None
    except defusedxml.ExternalReferenceForbidden:
        raise CapError(
            "Tài liệu tham chiếu tài nguyên ngoài (không được phép)",
            "The document refers to an external resource (not allowed)",
        ) from None
    except ParseError as exc:
        raise CapError(f"XML không hợp lệ: {exc}", f"Malformed XML: {exc}") from None
    return root


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _is_alert(el: Element) -> bool:
    ns, local = _split(el.tag) if isinstance(el.tag, str) else ("", "")
    return local == "alert" and ns in CAP_NAMESPACES


class _Reader:
    """Child lookups in one namespace."""

    def __init__(self, ns: str) -> None:
        self.ns = ns

    def all(self, el: Element, name: str) -> list[Element]:
        return el.findall(f"{{{self.ns}}}{name}")

    def text(self, el: Element, name: str) -> str:
        child = el.find(f"{{{self.ns}}}{name}")
        return (child.text or "").strip() if child is not None else ""

    def required(self, el: Element, name: str, where: str) -> str:
        value = self.text(el, name)
        if not value:
            raise CapError(f"Thiếu phần tử bắt buộc <{name}> trong {where}", f"Missing <{name}> in {where}")
        return value


def _vocab(value: str, allowed: Sequence[str], name: str) -> str:
    for option in allowed:
        if option.lower() == value.lower():
            return option
    raise CapError(
        f"Giá trị <{name}> không hợp lệ: {value[:40]!r} (chỉ nhận {', '.join(allowed)})",
        f"Invalid <{name}>: {value[:40]!r} (expected one of {', '.join(allowed)})",
    )


def _time(value: str, name: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CapError(
            f"<{name}> không phải thời gian hợp lệ: {value[:40]!r}",
            f"<{name}> is not a valid time: {value[:40]!r}",
        ) from None
    if parsed.tzinfo is None:
        raise CapError(f"<{name}> phải có múi giờ", f"<{name}> must carry a time zone offset")
    return parsed


def _optional_time(r: _Reader, el: Element, name: str) -> datetime | None:
    value = r.text(el, name)
    return _time(value, name) if value else None


# ---------------------------------------------------------------------------------------------- alert


def parse_alert(root: Element) -> CapAlert:
    """Check a CAP `<alert>` element and read it; raises `CapError` saying what is wrong."""
    ns, local = _split(root.tag) if isinstance(root.tag, str) else ("", "")
    if local != "alert" or ns not in CAP_NAMESPACES:
        raise CapError(
            f"Không phải bản tin CAP 1.2: phần tử gốc là {root.tag!r}",
            f"Not a CAP 1.2 alert: the root element is {root.tag!r}",
        )
    r = _Reader(ns)
    identifier = r.required(root, "identifier", "<alert>")
    if len(identifier) > 500:
        raise CapError("<identifier> quá dài", "<identifier> is too long")
    sender = r.required(root, "sender", "<alert>")
    if len(sender) > 500:
        raise CapError("<sender> quá dài", "<sender> is too long")
    where = f"<alert> {identifier}"
    sent = _time(r.required(root, "sent", where), "sent")
    status = _vocab(r.required(root, "status", where), STATUSES, "status")
    msg_type = _vocab(r.required(root, "msgType", where), MSG_TYPES, "msgType")
    scope = _vocab(r.required(root, "scope", where), SCOPES, "scope")
    info_elements = r.all(root, "info")
    if not info_elements:
        raise CapError(f"Thiếu phần tử <info> trong {where}", f"Missing <info> in {where}")
    infos = [_parse_info(r, el, f"<info> {i} of {identifier}") for i, el in enumerate(info_elements)]
    return CapAlert(
        identifier=identifier,
        sender=sender,
        sent=sent,
        status=status,
        msg_type=msg_type,
        scope=scope,
        infos=infos,
        version=CAP_NAMESPACES[ns],
        source=r.text(root, "source"),
        note=r.text(root, "note"),
        references=" ".join(r.text(root, "references").split()),
        incidents=r.text(root, "incidents"),
    )


def parse_alert_bytes(data: bytes) -> CapAlert:
    return parse_alert(load_xml(data))


def _parse_info(r: _Reader, el: Element, where: str) -> CapInfo:
    categories = [_vocab((c.text or "").strip(), CATEGORIES, "category") for c in r.all(el, "category")]
    if not categories:
        raise CapError(f"Thiếu phần tử bắt buộc <category> trong {where}", f"Missing <category> in {where}")
    known = {t.lower(): t for t in RESPONSE_TYPES}
    return CapInfo(
        language=r.text(el, "language") or "en-US",
        categories=categories,
        event=r.required(el, "event", where),
        urgency=_vocab(r.required(el, "urgency", where), URGENCIES, "urgency"),
        severity=_vocab(r.required(el, "severity", where), SEVERITIES, "severity"),
        certainty=_vocab(r.required(el, "certainty", where), CERTAINTIES, "certainty"),
        response_types=[
            known[t]
            for t in ((x.text or "").strip().lower() for x in r.all(el, "responseType"))
            if t in known
        ],
        effective=_optional_time(r, el, "effective"),
        onset=_optional_time(r, el, "onset"),
        expires=_optional_time(r, el, "expires"),
        sender_name=r.text(el, "senderName"),
        headline=r.text(el, "headline"),
        description=r.text(el, "description"),
        instruction=r.text(el, "instruction"),
        web=r.text(el, "web"),
        areas=[_parse_area(r, a) for a in r.all(el, "area")],
    )


def _parse_area(r: _Reader, el: Element) -> CapArea:
    return CapArea(
        desc=r.text(el, "areaDesc"),
        polygons=[parse_polygon(p.text or "") for p in r.all(el, "polygon")],
        circles=[parse_circle(c.text or "") for c in r.all(el, "circle")],
        geocodes=[(r.text(g, "valueName"), r.text(g, "value")) for g in r.all(el, "geocode")],
    )


def _point(token: str, what: str) -> tuple[float, float]:
    parts = token.split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        raise CapError(
            f"{what}: cặp tọa độ không hợp lệ {token[:40]!r} (cần 'vĩ độ,kinh độ')",
            f"{what}: invalid coordinate pair {token[:40]!r} (expected 'lat,lon')",
        ) from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise CapError(
            f"{what}: tọa độ ngoài phạm vi {token[:40]!r}", f"{what}: coordinates out of range {token[:40]!r}"
        )
    return lat, lon


def parse_polygon(text: str) -> list[tuple[float, float]]:
    """A CAP polygon ("lat,lon lat,lon ...") as a closed ring of (lat, lon) pairs.

    CAP asks for at least four pairs with the first equal to the last; a ring left open is closed here
    rather than refused, since only its centroid and outline are used.
    """
    ring = [_point(token, "<polygon>") for token in text.split()]
    if ring and ring[0] != ring[-1]:
        ring.append(ring[0])
    if len(ring) < 4:
        raise CapError("<polygon> cần ít nhất 4 cặp tọa độ", "<polygon> needs at least 4 coordinate pairs")
    return ring


def parse_circle(text: str) -> tuple[float, float, float]:
    """A CAP circle ("lat,lon radius_km") as (lat, lon, radius_km)."""
    parts = text.split()
    if len(parts) != 2:
        raise CapError(
            f"<circle> không hợp lệ {text[:40]!r} (cần 'vĩ độ,kinh độ bán_kính_km')",
            f"Invalid <circle> {text[:40]!r} (expected 'lat,lon radius_km')",
        )
    lat, lon = _point(parts[0], "<circle>")
    try:
        radius = float(parts[1])
    except ValueError:
        radius = -1.0
    if not (math.isfinite(radius) and radius >= 0):
        raise CapError(
            f"<circle>: bán kính không hợp lệ {parts[1][:20]!r}",
            f"<circle>: invalid radius {parts[1][:20]!r}",
        )
    return lat, lon, radius


# ---------------------------------------------------------------------------------------------- feeds


def read_feed(data: bytes) -> Feed:
    """Read a feed document: a single CAP alert, or an Atom or RSS 2.0 feed of alerts.

    Raises `CapError` when the document itself cannot be read (the feed is broken); an alert or entry of a
    readable feed that is wrong is listed in `rejected` and the rest of the feed still counts.
    """
    root = load_xml(data)
    ns, local = _split(root.tag) if isinstance(root.tag, str) else ("", "")
    if local == "alert":
        feed = Feed("alert")
        _add_alert(feed, root, "document")
        return feed
    if ns == ATOM_NS and local == "feed":
        return _read_atom(root)
    if ns == "" and local == "rss":
        return _read_rss(root)
    raise CapError(
        f"Không phải bản tin CAP hay nguồn Atom/RSS: phần tử gốc là {root.tag!r}",
        f"Neither a CAP alert nor an Atom or RSS feed: the root element is {root.tag!r}",
    )


def _add_alert(feed: Feed, el: Element, where: str) -> None:
    try:
        feed.alerts.append(parse_alert(el))
    except CapError as exc:
        feed.rejected.append(Rejection(where, exc.vi, exc.en))


def _embedded(entry: Element) -> Element | None:
    """The alert an Atom entry carries: the element inside an XML <content>, or a CAP alert child."""
    content = entry.find(f"{{{ATOM_NS}}}content")
    if content is not None:
        kind = (content.get("type") or "").lower()
        child = next((c for c in content if isinstance(c.tag, str)), None)
        if child is not None and (_is_alert(child) or (kind.endswith("xml") and "xhtml" not in kind)):
            return child
    return next((c for c in entry if _is_alert(c)), None)


def _read_atom(root: Element) -> Feed:
    feed = Feed("atom")
    atom = _Reader(ATOM_NS)
    for entry in atom.all(root, "entry"):
        entry_id = atom.text(entry, "id")
        key = f"{entry_id}|{atom.text(entry, 'updated')}"
        where = entry_id or "<entry>"
        embedded = _embedded(entry)
        if embedded is not None:
            _add_alert(feed, embedded, where)
            continue
        href = _atom_link(entry)
        if href:
            feed.links.append(FeedLink(href, key))
        else:
            feed.rejected.append(
                Rejection(
                    where,
                    "Mục không chứa hay liên kết tới bản tin CAP",
                    "The entry neither holds nor links a CAP alert",
                )
            )
    return feed


def _atom_link(entry: Element) -> str:
    links = entry.findall(f"{{{ATOM_NS}}}link")
    for link in links:
        if (link.get("type") or "").lower().startswith(CAP_MEDIA_TYPE) and link.get("href"):
            return link.get("href", "").strip()
    for link in links:
        rel = link.get("rel") or "alternate"
        kind = (link.get("type") or "").lower()
        if rel == "alternate" and "html" not in kind and link.get("href"):
            return link.get("href", "").strip()
    return ""


def _read_rss(root: Element) -> Feed:
    feed = Feed("rss")
    channel = root.find("channel")
    items = channel.findall("item") if channel is not None else []
    for item in items:
        guid = (item.findtext("guid") or "").strip()
        link = (item.findtext("link") or "").strip()
        where = guid or link or "<item>"
        key = f"{guid or link}|{(item.findtext('pubDate') or '').strip()}"
        direct = next((c for c in item if _is_alert(c)), None)
        if direct is not None:
            _add_alert(feed, direct, where)
            continue
        enclosure = next(
            (
                e.get("url", "").strip()
                for e in item.findall("enclosure")
                if (e.get("type") or "").lower().startswith(CAP_MEDIA_TYPE) and e.get("url")
            ),
            "",
        )
        href = enclosure or link
        if href:
            feed.links.append(FeedLink(href, key))
        else:
            feed.rejected.append(
                Rejection(
                    where,
                    "Mục không chứa hay liên kết tới bản tin CAP",
                    "The item neither holds nor links a CAP alert",
                )
            )
    return feed


# ---------------------------------------------------------------------------------------------- events


def ignored(alert: CapAlert, statuses: Collection[str] = DEFAULT_STATUSES) -> Rejection | None:
    """Why an alert is not recorded (a test, an exercise, an acknowledgement...), or None to record it."""
    where = alert.identifier
    if alert.status not in statuses:
        return Rejection(
            where,
            f"Bản tin có trạng thái {alert.status}: không ghi nhận",
            f"Alert with status {alert.status}: not recorded",
        )
    if alert.msg_type not in RECORDED_MSG_TYPES:
        return Rejection(
            where,
            f"Bản tin loại {alert.msg_type} không phải cảnh báo: không ghi nhận",
            f"A {alert.msg_type} message warns of nothing: not recorded",
        )
    return None


def unit_codes(alerts: Iterable[CapAlert]) -> set[str]:
    """The unit codes the alerts' areas name in a VN-ADMIN geocode."""
    return {
        value
        for alert in alerts
        for info in alert.infos
        for area in info.areas
        for name, value in area.geocodes
        if name == GEOCODE_UNIT and value
    }


def slugify(text: str, max_len: int = 48) -> str:
    """Lower-case ascii words joined by '_': Vietnamese loses its diacritics ("Lũ quét" -> "lu_quet")."""
    text = text.replace("đ", "d").replace("Đ", "D").replace("Ð", "D")
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    slug = re.sub(r"[^a-z0-9]+", "_", plain.lower()).strip("_")
    return slug[:max_len].rstrip("_") or "event"


def category_for(cap_category: str, event: str) -> str:
    """`weather.<event>` for a Met alert, `cap.<category>.<event>` otherwise (at most 64 characters)."""
    prefix = "weather" if cap_category == "Met" else f"cap.{cap_category.lower()}"
    slug = slugify(event, MAX_CATEGORY - len(prefix) - 1)
    return f"{prefix}.{slug}"


def source_ref(sender: str, identifier: str, index: int) -> str:
    """`sender|identifier|info index`, or its SHA-256 when that is longer than the column (200)."""
    ref = f"{sender}|{identifier}|{index}"
    if len(ref) > MAX_SOURCE_REF:
        ref = "sha256:" + hashlib.sha256(ref.encode()).hexdigest()
    return ref


def _main_infos(infos: Sequence[CapInfo]) -> list[tuple[int, CapInfo, CapInfo | None]]:
    """(index, info, its English translation) for each info in the alert's main language."""

    def lang(info: CapInfo) -> str:
        return info.language.lower()

    indexed = list(enumerate(infos))
    main = [(i, x) for i, x in indexed if lang(x).startswith("vi")]
    if not main:
        first = lang(infos[0])
        main = [(i, x) for i, x in indexed if lang(x) == first]
    if lang(main[0][1]).startswith("en"):
        english: list[CapInfo] = [x for _, x in main]
    else:
        english = [x for _, x in indexed if lang(x).startswith("en")]
    return [(i, x, english[k] if k < len(english) else None) for k, (i, x) in enumerate(main)]


def _place(areas: Sequence[CapArea]) -> tuple[float | None, float | None]:
    for area in areas:
        if area.polygons:
            ring = area.polygons[0]
            c = shapely.Polygon([(lon, lat) for lat, lon in ring]).centroid
            if not c.is_empty and math.isfinite(c.x) and math.isfinite(c.y):
                return c.y, c.x
            pts = ring[:-1]  # a degenerate (flat) ring has no centroid: the mean of its vertices
            return sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
        if area.circles:
            lat, lon, _ = area.circles[0]
            return lat, lon
    return None, None


def _geojson(areas: Sequence[CapArea]) -> dict[str, Any] | None:
    rings = [[[[lon, lat] for lat, lon in ring]] for area in areas for ring in area.polygons]
    if not rings:
        return None
    if len(rings) == 1:
        return {"type": "Polygon", "coordinates": rings[0]}
    return {"type": "MultiPolygon", "coordinates": rings}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def to_events(alert: CapAlert, units: UnitRefs) -> list[EventIn]:
    """The events of one alert: one per info in its main language (see the module's notes)."""
    out: list[EventIn] = []
    for index, info, english in _main_infos(alert.infos):
        first = info.categories[0]
        lat, lon = _place(info.areas)
        unit_id = next(
            (
                units.by_code[value]
                for area in info.areas
                for name, value in area.geocodes
                if name == GEOCODE_UNIT and value in units.by_code
            ),
            None,
        )
        if unit_id is None and lat is None:
            unit_id = units.root_id
        title = info.headline or info.event
        title_en = (english.headline or english.event) if english is not None else ""
        payload: dict[str, Any] = {
            "identifier": alert.identifier,
            "sender": alert.sender,
            "sent": alert.sent.isoformat(),
            "msgType": alert.msg_type,
            "status": alert.status,
            "scope": alert.scope,
            "references": alert.references,
            "info": index,
            "language": info.language,
            "category": info.categories,
            "event": info.event,
            "responseType": info.response_types,
            "effective": _iso(info.effective),
            "onset": _iso(info.onset),
            "expires": _iso(info.expires),
            "senderName": info.sender_name,
            "web": info.web,
            "areaDesc": "; ".join(a.desc for a in info.areas if a.desc),
            "area": _geojson(info.areas),
            "circles": [
                {"lat": lat_, "lon": lon_, "radius_km": r} for a in info.areas for lat_, lon_, r in a.circles
            ],
            "geocodes": [{"valueName": n, "value": v} for a in info.areas for n, v in a.geocodes],
        }
        out.append(
            EventIn(
                source="cap",
                category=category_for(first, info.event),
                title=title[:300],
                title_en=title_en[:300],
                at=alert.sent,
                domain=domain_for(first),
                unit_id=unit_id,
                severity=info.severity.lower(),
                urgency=info.urgency.lower(),
                certainty=info.certainty.lower(),
                description="\n\n".join(p for p in (info.description, info.instruction) if p)[:10_000],
                lat=lat,
                lon=lon,
                source_ref=source_ref(alert.sender, alert.identifier, index),
                payload=payload,
            )
        )
    return out
