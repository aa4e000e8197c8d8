"""RSS 2.0 and Atom 1.0 feeds (nguồn tin RSS/Atom) read into stories.

Parsed with defusedxml (no entities, no external references); every entry keeps its link, title, summary
text (HTML stripped), author and date. A document that is not a feed raises `ParseError` with the reason;
an entry without a link or title is skipped and counted.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import ElementTree as SafeET

from toancanh.core.errors import BadRequest

ATOM = "{http://www.w3.org/2005/Atom}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
DC_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
DC_DATE = "{http://purl.org/dc/elements/1.1/}date"
MAX_FEED_BYTES = 5 * 1024 * 1024
MAX_TEXT_CHARS = 50_000
MAX_ENTRIES = 500
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


class ParseError(BadRequest):
    code = "invalid_document"


@dataclass
class Story:
    """One story as a source gives it, before the pipeline reads it."""

    url: str
    title: str
    text: str = ""
    author: str = ""
    published_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Parsed:
    stories: list[Story]
    skipped: int = 0
    title: str = ""


def strip_html(value: str) -> str:
    """Text of an HTML fragment: tags dropped, entities decoded, whitespace collapsed."""
    return _SPACE.sub(" ", html.unescape(_TAG.sub(" ", value))).strip()


def parse_date(value: str | None) -> datetime | None:
    """RFC 822 (RSS) or ISO 8601 (Atom); a date without a zone is Viet Nam time; None when unreadable."""
    if not value or not value.strip():
        return None
    v = value.strip()
    try:
        dt = parsedate_to_datetime(v)
    except (TypeError, ValueError, IndexError):
        try:
            dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            return None
    if dt.tzinfo is None:
        from toancanh.core.worktime import VN_TZ

        dt = dt.replace(tzinfo=VN_TZ)
    return dt.astimezone(UTC)


def _text(el: Element | None) -> str:
    return "".join(el.itertext()).strip() if el is not None else ""


def parse_feed(data: bytes) -> Parsed:
    if len(data) > MAX_FEED_BYTES:
        raise ParseError(
            f"Tài liệu vượt quá {MAX_FEED_BYTES // 1048576} MB",
            f"The document is larger than {MAX_FEED_BYTES // 1048576} MB",
        )
    try:
        root = SafeET.fromstring(data)
    except SafeET.ParseError as exc:
        raise ParseError(f"Không đọc được XML: {exc}", f"Not well-formed XML: {exc}") from exc
    except Exception as exc:  # defusedxml refuses entities and DTDs
        raise ParseError(
            "Tài liệu XML chứa thực thể hoặc DTD bị cấm", f"The XML holds forbidden entities or a DTD: {exc}"
        ) from exc
    if root.tag == f"{ATOM}feed":
        return _atom(root)
    if root.tag == "rss" or root.tag.endswith("}RDF") or root.tag == "channel":
        return _rss(root)
    raise ParseError(
        "Không phải nguồn RSS hoặc Atom", f"Not an RSS or Atom feed (root element {root.tag[:60]!r})"
    )


def _clip(s: str) -> str:
    return s[:MAX_TEXT_CHARS]


def _rss(root: Element) -> Parsed:
    channel = root.find("channel")
    scope = channel if channel is not None else root
    items = scope.findall("item") or root.findall("{http://purl.org/rss/1.0/}item")
    out = Parsed([], title=_text(scope.find("title")))
    for item in items[:MAX_ENTRIES]:
        get = item.find
        link = _text(get("link")) or _text(get("{http://purl.org/rss/1.0/}link"))
        guid = _text(get("guid"))
        if not link and guid.startswith("http"):
            link = guid
        title = strip_html(_text(get("title")) or _text(get("{http://purl.org/rss/1.0/}title")))
        if not link or not title:
            out.skipped += 1
            continue
        body = _text(get(CONTENT)) or _text(get("description"))
        out.stories.append(
            Story(
                url=link,
                title=title[:500],
                text=_clip(strip_html(body)),
                author=(_text(get("author")) or _text(get(DC_CREATOR)))[:200],
                published_at=parse_date(_text(get("pubDate")) or _text(get(DC_DATE))),
                extra={"guid": guid} if guid else {},
            )
        )
    out.skipped += max(0, len(items) - MAX_ENTRIES)
    return out


def _atom(root: Element) -> Parsed:
    entries = root.findall(f"{ATOM}entry")
    out = Parsed([], title=_text(root.find(f"{ATOM}title")))
    for entry in entries[:MAX_ENTRIES]:
        link = ""
        for el in entry.findall(f"{ATOM}link"):
            if el.get("rel", "alternate") == "alternate" and el.get("href"):
                link = el.get("href", "")
                break
        title = strip_html(_text(entry.find(f"{ATOM}title")))
        if not link or not title:
            out.skipped += 1
            continue
        body = _text(entry.find(f"{ATOM}content")) or _text(entry.find(f"{ATOM}summary"))
        author = entry.find(f"{ATOM}author")
        out.stories.append(
            Story(
                url=link,
                title=title[:500],
                text=_clip(strip_html(body)),
                author=_text(author.find(f"{ATOM}name") if author is not None else None)[:200],
                published_at=parse_date(
                    _text(entry.find(f"{ATOM}published")) or _text(entry.find(f"{ATOM}updated"))
                ),
                extra={"id": _text(entry.find(f"{ATOM}id"))},
            )
        )
    out.skipped += max(0, len(entries) - MAX_ENTRIES)
    return out
