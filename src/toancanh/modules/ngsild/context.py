"""JSON-LD @context handling (ngữ cảnh JSON-LD) for NGSI-LD, without fetching anything at run time.

The NGSI-LD core context ships with the module, and so does Toàn Cảnh's context of the Smart Data Models terms
the IOC uses (WasteContainer, AirQualityObserved, TrafficFlowObserved, ServiceRequest, Device ...). A request
names its context in a `Link` header (application/json) or in the body's "@context" (application/ld+json);
each entry is an inline object of term definitions or the URL of one of the shipped contexts. Any other URL
answers LdContextNotAvailable (503): the broker does not download contexts.

Only what NGSI-LD needs of JSON-LD is implemented: terms and compact IRIs (`prefix:suffix`) are expanded to
IRIs and compacted back; terms not defined fall under the core context's @vocab, the default context
`https://uri.etsi.org/ngsi-ld/default-context/`. Core terms cannot be redefined.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from toancanh.modules.ngsild.errors import NgsiError, bad_data

HERE = Path(__file__).parent / "contexts"
CORE_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
CORE_URLS = frozenset(
    {
        CORE_URL,
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
        "http://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
    }
)
TOANCANH_URL = "https://toancanh.vn/ngsi-ld/v1/toancanh-context.jsonld"
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@functools.cache
def _shipped(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = orjson.loads((HERE / name).read_bytes())
    return dict(doc["@context"])


def core_terms() -> dict[str, Any]:
    return _shipped("ngsi-ld-core-context-v1.8.jsonld")


def toancanh_terms() -> dict[str, Any]:
    return _shipped("toancanh-context.jsonld")


def shipped_document(url: str) -> dict[str, Any] | None:
    """The shipped context document served at `url`, or None."""
    if url in CORE_URLS:
        return {"@context": core_terms()}
    if url == TOANCANH_URL:
        return {"@context": toancanh_terms()}
    return None


class Context:
    """An effective context: the caller's entries over Toàn Cảnh's terms, under the core context."""

    def __init__(self, entries: Iterable[str | dict[str, Any]] = (), *, source: Any = None) -> None:
        self.source = source  # what the caller sent (URL, list or object), echoed back in responses
        terms: dict[str, Any] = {}
        for entry in [toancanh_terms(), *entries]:
            if isinstance(entry, str):
                doc = shipped_document(entry)
                if doc is None:
                    raise NgsiError(
                        "LdContextNotAvailable",
                        f"@context {entry} is not one this broker ships; send the terms inline",
                    )
                terms.update(doc["@context"])
            elif isinstance(entry, dict):
                terms.update(entry)
            else:
                raise bad_data("@context entries are URLs or objects")
        terms.update(core_terms())  # the core context takes precedence over everything
        self._iri: dict[str, str] = {}
        self._prefix: dict[str, str] = {}
        for term, definition in terms.items():
            if term.startswith("@"):
                continue
            iri = definition.get("@id") if isinstance(definition, dict) else definition
            if isinstance(iri, str) and not iri.startswith("@"):
                self._iri[term] = iri
                if iri.endswith(("/", "#")):
                    self._prefix[term] = iri
        # expand compact IRIs used as definitions (e.g. "ngsi-ld:observedAt")
        for term, iri in list(self._iri.items()):
            self._iri[term] = self._expand_compact(iri)
        self._term: dict[str, str] = {}
        for term, iri in self._iri.items():
            if term not in self._prefix:
                self._term.setdefault(iri, term)
        self._cache: dict[str, str] = {}

    def _expand_compact(self, value: str) -> str:
        prefix, sep, suffix = value.partition(":")
        if sep and prefix in self._prefix and not suffix.startswith("//"):
            return self._prefix[prefix] + suffix
        return value

    def expand(self, term: str) -> str:
        """The IRI of a term, compact IRI or IRI."""
        hit = self._cache.get(term)
        if hit is not None:
            return hit
        if term in self._iri:
            iri = self._iri[term]
        else:
            iri = self._expand_compact(term)
            if iri == term and not _ABSOLUTE.match(term):
                iri = DEFAULT_VOCAB + term
        self._cache[term] = iri
        return iri

    def compact(self, iri: str) -> str:
        """The shortest name of an IRI under this context."""
        term = self._term.get(iri)
        if term is not None:
            return term
        if iri.startswith(DEFAULT_VOCAB):
            return iri[len(DEFAULT_VOCAB) :]
        return iri

    def body_value(self) -> Any:
        """The "@context" to put in an application/ld+json response."""
        if self.source is None:
            return CORE_URL
        return self.source


DEFAULT = Context()


def parse_link(header: str) -> str | None:
    """The context URL of a `Link: <url>; rel="http://www.w3.org/ns/json-ld#context"` header."""
    for part in header.split(","):
        m = re.match(r"\s*<([^>]*)>\s*(;.*)?$", part)
        if not m:
            continue
        params = m.group(2) or ""
        if re.search(r'rel\s*=\s*"?' + re.escape(CONTEXT_REL) + '"?', params):
            return m.group(1)
    return None


def link_header(ctx: Context) -> str:
    """The Link header that names the context of an application/json response."""
    url = ctx.source if isinstance(ctx.source, str) else CORE_URL
    return f'<{url}>; rel="{CONTEXT_REL}"; type="application/ld+json"'


def from_value(value: Any) -> Context:
    """A context from a body's "@context" (a URL, an object, or a list of them)."""
    if value is None:
        return DEFAULT
    entries = value if isinstance(value, list) else [value]
    if not all(isinstance(e, str | dict) for e in entries):
        raise bad_data("@context must be a URL, an object or a list of them")
    key = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    return _cached_context(key)


@functools.lru_cache(maxsize=256)
def _cached_context(key: bytes) -> Context:
    value = orjson.loads(key)
    entries = value if isinstance(value, list) else [value]
    return Context(entries, source=value)


def from_link(header: str | None) -> Context:
    if not header:
        return DEFAULT
    url = parse_link(header)
    if url is None:
        return DEFAULT
    return from_value(url)
