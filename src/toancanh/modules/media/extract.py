"""Extraction rules stored with a source (quy tắc trích xuất): web pages by CSS selector, XPath or regular
expression, and social posts from exported JSON or CSV by field mapping.

Page rules: `{"item": ..., "title": ..., "text": ..., "link": ..., "date": ..., "author": ...}`, each a
string `css:<selector>[@attribute]`, `xpath:<expression>` or `re:<pattern>` (its first group, or the whole
match, over the item's HTML). Without `item` the page is one story; with it, every element it selects is
one (a listing page). `validate_page_rules()` compiles every rule and names the one that is wrong.

Social mapping: `{"items": "data", "text": "message", "url": "permalink_url", "author": "from.name",
"published": "created_time", "id": "id", "title": ""}` — dotted paths into each JSON object, or CSV column
names. Missing keys take the usual names (text/message/content, url/link/permalink, ...).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urljoin

import orjson
from lxml import etree
from lxml import html as lxml_html

from toancanh.core.errors import BadRequest
from toancanh.modules.media.feeds import MAX_ENTRIES, MAX_TEXT_CHARS, Parsed, ParseError, Story, parse_date

PAGE_FIELDS = ("item", "title", "text", "link", "date", "author")
SOCIAL_FIELDS = ("items", "text", "title", "url", "author", "published", "id")
MAX_RULE_CHARS = 500
MAX_PAGE_BYTES = 5 * 1024 * 1024
MAX_SOCIAL_BYTES = 20 * 1024 * 1024
_SPACE = re.compile(r"\s+")
Selector = Callable[[Any], list[Any]]


class RuleError(BadRequest):
    code = "invalid_rules"


def _compile(field: str, spec: Any) -> tuple[str, Any, str | None]:
    if not isinstance(spec, str) or not spec.strip():
        raise RuleError(
            f"Quy tắc '{field}' phải là chuỗi không rỗng", f"Rule '{field}' must be a non-empty string"
        )
    if len(spec) > MAX_RULE_CHARS:
        raise RuleError(f"Quy tắc '{field}' quá dài", f"Rule '{field}' is too long")
    kind, sep, expr = spec.partition(":")
    if not sep or kind not in ("css", "xpath", "re"):
        raise RuleError(
            f"Quy tắc '{field}' phải bắt đầu bằng css:, xpath: hoặc re:",
            f"Rule '{field}' must start with css:, xpath: or re:",
        )
    expr = expr.strip()
    try:
        if kind == "re":
            return kind, re.compile(expr, re.S | re.I), None
        attr = None
        if kind == "css":
            from cssselect import GenericTranslator

            m = re.search(r"@([\w:-]+)$", expr)
            if m:
                attr, expr = m.group(1), expr[: m.start()].strip()
            expr = GenericTranslator().css_to_xpath(expr)
        return kind, etree.XPath(expr), attr
    except Exception as exc:
        raise RuleError(
            f"Quy tắc '{field}' không hợp lệ: {exc}",
            f"Rule '{field}' is invalid: {exc}",
            details={"field": field},
        ) from exc


def validate_page_rules(rules: Any) -> dict[str, str]:
    if not isinstance(rules, Mapping):
        raise RuleError("Quy tắc trích xuất phải là một đối tượng", "Extraction rules must be an object")
    unknown = sorted(set(rules) - set(PAGE_FIELDS))
    if unknown:
        raise RuleError(
            f"Trường không biết: {', '.join(unknown)}", f"Unknown rule fields: {', '.join(unknown)}"
        )
    if "title" not in rules:
        raise RuleError("Cần quy tắc 'title'", "A 'title' rule is required")
    for k, v in rules.items():
        _compile(k, v)
    return dict(rules)


def _values(compiled: tuple[str, Any, str | None], node: Any) -> list[str]:
    kind, expr, attr = compiled
    if kind == "re":
        source = etree.tostring(node, encoding="unicode", method="html")
        out = []
        for m in expr.finditer(source):
            out.append(m.group(1) if m.groups() else m.group(0))
        return [_SPACE.sub(" ", lxml_html.fromstring(f"<p>{v}</p>").text_content()).strip() for v in out if v]
    found = expr(node)
    if not isinstance(found, list):
        found = [found]
    vals = []
    for f in found:
        if attr is not None:
            v = f.get(attr, "") if hasattr(f, "get") else ""
        elif isinstance(f, str):
            v = str(f)
        elif hasattr(f, "text_content"):
            v = f.text_content()
        else:
            v = "".join(f.itertext()) if hasattr(f, "itertext") else str(f)
        v = _SPACE.sub(" ", v).strip()
        if v:
            vals.append(v)
    return vals


_META_CHARSET = re.compile(rb"""<meta[^>]+charset=["']?([\w-]+)""", re.I)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*>")


def decode_html(data: bytes, content_type: str = "") -> str:
    """The page's text: the charset the server names, else the page's <meta>, else UTF-8 (Vietnamese sites
    are UTF-8 by now), else Windows-1258."""
    names = []
    m = re.search(r"charset=([\w-]+)", content_type, re.I)
    if m:
        names.append(m.group(1))
    m2 = _META_CHARSET.search(data[:4096])
    if m2:
        names.append(m2.group(1).decode("ascii", "replace"))
    for name in [*names, "utf-8"]:
        try:
            return _XML_DECL.sub("", data.decode(name))
        except (LookupError, UnicodeDecodeError):
            continue
    return _XML_DECL.sub("", data.decode("cp1258", "replace"))


def extract_page(data: bytes, url: str, rules: Mapping[str, Any], content_type: str = "") -> Parsed:
    """Stories from an HTML page by the source's rules."""
    if len(data) > MAX_PAGE_BYTES:
        raise ParseError("Trang vượt quá 5 MB", "The page is larger than 5 MB")
    compiled = {k: _compile(k, v) for k, v in validate_page_rules(rules).items()}
    try:
        doc = lxml_html.fromstring(decode_html(data, content_type))
    except (etree.ParserError, ValueError) as exc:
        raise ParseError(f"Không đọc được HTML: {exc}", f"Unreadable HTML: {exc}") from exc
    nodes = [doc] if "item" not in compiled else [n for n in compiled["item"][1](doc) if hasattr(n, "tag")]
    out = Parsed([])
    for node in nodes[:MAX_ENTRIES]:

        def first(name: str, node: Any = node) -> str:
            return (
                _values(compiled[name], node)[0] if name in compiled and _values(compiled[name], node) else ""
            )

        title = first("title")
        link = first("link")
        story_url = urljoin(url, link) if link else (url if "item" not in compiled else "")
        if not title or not story_url:
            out.skipped += 1
            continue
        text = " ".join(_values(compiled["text"], node)) if "text" in compiled else ""
        out.stories.append(
            Story(
                url=story_url,
                title=title[:500],
                text=text[:MAX_TEXT_CHARS],
                author=first("author")[:200],
                published_at=parse_date(first("date")),
            )
        )
    return out


# ------------------------------------------------------------------------------------------ social posts

DEFAULT_SOCIAL = {
    "text": ("text", "message", "content", "body", "noi_dung"),
    "title": ("title", "tieu_de"),
    "url": ("url", "link", "permalink", "permalink_url"),
    "author": ("author", "user", "from", "username", "tac_gia"),
    "published": ("published", "created_at", "created_time", "date", "time", "timestamp", "ngay"),
    "id": ("id", "post_id"),
}


def validate_social_rules(rules: Any) -> dict[str, str]:
    if not isinstance(rules, Mapping):
        raise RuleError("Quy tắc ánh xạ phải là một đối tượng", "The field mapping must be an object")
    unknown = sorted(set(rules) - set(SOCIAL_FIELDS))
    if unknown:
        raise RuleError(
            f"Trường không biết: {', '.join(unknown)}", f"Unknown mapping fields: {', '.join(unknown)}"
        )
    for k, v in rules.items():
        if not isinstance(v, str) or len(v) > 200:
            raise RuleError(f"Ánh xạ '{k}' phải là chuỗi", f"Mapping '{k}' must be a string")
    return dict(rules)


def _dig(obj: Any, path: str) -> Any:
    for part in path.split(".") if path else []:
        if isinstance(obj, Mapping):
            obj = obj.get(part)
        elif isinstance(obj, list) and part.isdecimal() and int(part) < len(obj):
            obj = obj[int(part)]
        else:
            return None
    return obj


def _field(row: Mapping[str, Any], rules: Mapping[str, str], name: str) -> str:
    paths = [rules[name]] if rules.get(name) else list(DEFAULT_SOCIAL[name])
    for p in paths:
        v = _dig(row, p)
        if isinstance(v, Mapping):  # e.g. "from": {"name": ...}
            v = v.get("name") or v.get("username")
        if v is not None and not isinstance(v, list | Mapping) and str(v).strip():
            return str(v).strip()
    return ""


def _post(row: Mapping[str, Any], rules: Mapping[str, str], source_key: str) -> Story | None:
    text = _field(row, rules, "text")[:MAX_TEXT_CHARS]
    if not text:
        return None
    title = _field(row, rules, "title") or _SPACE.sub(" ", text)[:160]
    url = _field(row, rules, "url")
    if not url:
        ident = _field(row, rules, "id") or hashlib.sha256(text.encode()).hexdigest()[:24]
        url = f"social:{source_key}:{ident}"
    published = _field(row, rules, "published")
    when = None
    if published.isdecimal():
        from datetime import UTC, datetime

        try:
            when = datetime.fromtimestamp(int(published), UTC)
        except (ValueError, OverflowError):
            when = None
    else:
        when = parse_date(published)
    return Story(
        url=url[:1000],
        title=title[:500],
        text=text,
        author=_field(row, rules, "author")[:200],
        published_at=when,
    )


def parse_social(data: bytes, filename: str, rules: Mapping[str, Any], source_key: str) -> Parsed:
    """Posts from an exported JSON (a list, or an object holding one at `items`) or CSV (a header row)."""
    rules = validate_social_rules(rules)
    if len(data) > MAX_SOCIAL_BYTES:
        raise ParseError("Tệp vượt quá 20 MB", "The file is larger than 20 MB")
    rows: list[Any]
    if filename.lower().endswith(".csv") or (
        not filename.lower().endswith(".json") and data.lstrip()[:1] not in (b"[", b"{")
    ):
        try:
            reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
            rows = list(reader)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ParseError(f"Không đọc được CSV: {exc}", f"Unreadable CSV: {exc}") from exc
        if reader.fieldnames is None:
            raise ParseError("Tệp CSV không có dòng tiêu đề", "The CSV file has no header row")
    else:
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"Không đọc được JSON: {exc}", f"Unreadable JSON: {exc}") from exc
        found = _dig(doc, rules.get("items", "")) if rules.get("items") else doc
        if isinstance(found, Mapping):
            found = next(
                (v for k in ("data", "items", "posts", "results") if isinstance(v := found.get(k), list)),
                None,
            )
        if not isinstance(found, list):
            raise ParseError(
                "Không tìm thấy danh sách bài đăng trong JSON", "No list of posts found in the JSON"
            )
        rows = found
    out = Parsed([])
    for row in rows[: MAX_ENTRIES * 20]:
        story = _post(row, rules, source_key) if isinstance(row, Mapping) else None
        if story is None:
            out.skipped += 1
        else:
            out.stories.append(story)
    return out
