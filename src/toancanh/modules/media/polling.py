"""Fetching a source and reading what came back: what the rss, web_page and social_json connectors (and the
"fetch now" button) run. The HTTP side is `fetch.PoliteFetcher`; the database side runs on a worker thread.

A fetch that fails, is refused by robots.txt or brings a document that cannot be read records why on the
source (`last_status`, `last_error`) and adds nothing; the source's ETag / Last-Modified are kept only from
a document that was read, so a broken one is fetched in full next time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from toancanh.core.connectors import Coordinator
from toancanh.core.db import Database, utcnow
from toancanh.core.errors import AppError
from toancanh.modules.media import extract, feeds, service
from toancanh.modules.media.fetch import Fetched, FetchError, PoliteFetcher
from toancanh.modules.media.models import MediaSource

log = logging.getLogger("toancanh.media")


@dataclass(frozen=True)
class SourceRef:
    id: int
    kind: str
    url: str
    rules: dict[str, Any]
    etag: str | None
    last_modified: str | None


def fetcher_of(app: Any) -> PoliteFetcher:
    """The process's one fetcher, so that every connector waits its turn per host."""
    found = getattr(app.state, "media_fetcher", None)
    if found is None:
        settings = app.state.settings
        found = PoliteFetcher(min_interval_s=getattr(settings, "media_host_interval_s", 1.0))
        app.state.media_fetcher = found
    return found  # type: ignore[no-any-return]


def parse(
    kind: str, body: bytes, url: str, rules: dict[str, Any], source_id: int, content_type: str = ""
) -> feeds.Parsed:
    if kind == "rss":
        return feeds.parse_feed(body)
    if kind == "page":
        return extract.extract_page(body, url, rules, content_type)
    if kind == "social":
        return extract.parse_social(body, "api.json", rules, str(source_id))
    raise feeds.ParseError("Nguồn này không tải tự động", "This source is not fetched")


def due_sources(db: Database, kinds: tuple[str, ...], now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    with db.read_session() as s:
        rows = s.execute(
            select(MediaSource.id, MediaSource.last_fetched_at, MediaSource.poll_minutes).where(
                MediaSource.enabled.is_(True), MediaSource.kind.in_(kinds), MediaSource.url != ""
            )
        ).all()
    return [i for i, last, every in rows if last is None or last + timedelta(minutes=every) <= now]


def _load(db: Database, source_id: int) -> SourceRef | None:
    with db.read_session() as s:
        src = s.get(MediaSource, source_id)
        if src is None:
            return None
        return SourceRef(src.id, src.kind, src.url, dict(src.rules or {}), src.etag, src.last_modified)


def _mark(db: Database, source_id: int, status: str, error: str = "") -> None:
    with db.session() as s:
        src = s.get(MediaSource, source_id)
        if src is not None:
            src.last_status, src.last_error, src.last_fetched_at = status, error[:500], utcnow()


def _store(
    db: Database, holder: Any, source_id: int, parsed: feeds.Parsed, fetched: Fetched
) -> dict[str, Any]:
    with db.session() as s:
        src = s.get(MediaSource, source_id)
        if src is None:
            return {"status": "gone"}
        out = service.ingest_stories(s, src, parsed.stories, holder=holder, skipped=parsed.skipped)
        src.etag, src.last_modified = fetched.etag, fetched.last_modified
        src.last_status, src.last_error, src.last_fetched_at = "ok", "", utcnow()
        return {"status": "ok", **out.summary()}


async def poll_source(db: Database, holder: Any, fetcher: PoliteFetcher, source_id: int) -> dict[str, Any]:
    """Fetch one source and read it; a summary of what happened (never raises for the source's faults)."""
    ref = await asyncio.to_thread(_load, db, source_id)
    if ref is None:
        return {"status": "gone"}
    if not ref.url:
        return {"status": "error", "error": "no URL"}
    try:
        fetched = await fetcher.fetch(ref.url, etag=ref.etag, last_modified=ref.last_modified)
    except FetchError as exc:
        await asyncio.to_thread(_mark, db, source_id, "error", str(exc))
        log.warning("media source %d: %s", source_id, exc)
        return {"status": "error", "error": str(exc)}
    if fetched.status != "ok":
        await asyncio.to_thread(_mark, db, source_id, fetched.status)
        return {"status": fetched.status}
    try:
        parsed = await asyncio.to_thread(
            parse, ref.kind, fetched.body, fetched.url or ref.url, ref.rules, ref.id, fetched.content_type
        )
    except AppError as exc:
        await asyncio.to_thread(_mark, db, source_id, "error", exc.message_en)
        log.warning("media source %d: %s", source_id, exc.message_en)
        return {"status": "error", "error": exc.message_en, "error_vi": exc.message}
    return await asyncio.to_thread(_store, db, holder, source_id, parsed, fetched)


async def poll_due(app: Any, kinds: tuple[str, ...]) -> dict[str, int]:
    """Poll every due source of these kinds (the connectors' `run_once`)."""
    db: Database = app.state.db
    fetcher = fetcher_of(app)
    counts = {"polled": 0, "new": 0, "errors": 0}
    ids = await asyncio.to_thread(due_sources, db, kinds)
    results = await asyncio.gather(
        *(poll_source(db, app.state, fetcher, i) for i in ids), return_exceptions=True
    )
    for r in results:
        counts["polled"] += 1
        if isinstance(r, BaseException):
            log.error("media poll failed", exc_info=r)
            counts["errors"] += 1
        elif r.get("status") == "error":
            counts["errors"] += 1
        else:
            counts["new"] += int(r.get("new", 0))
    return counts


class SourcePoller(Coordinator):
    """The coordinator of the rss, web_page and social_json connectors: every `media_poll_s` seconds, poll
    the enabled sources of its kinds whose own period has passed; unavailable when every due one failed."""

    def __init__(self, app: Any, domain: str, kinds: tuple[str, ...], poll_interval_s: float) -> None:
        super().__init__(domain)
        self.app = app
        self.kinds = kinds
        self.poll_interval_s = poll_interval_s

    async def run_once(self) -> None:
        counts = await poll_due(self.app, self.kinds)
        self.count("polls")
        for k, v in counts.items():
            self.count(k, v)
        if counts["polled"] and counts["errors"] == counts["polled"]:
            self.mark_unavailable(f"every due source failed ({counts['errors']})")
            return
        self.mark_available()


def connector_setup(domain: str, kinds: tuple[str, ...]) -> Callable[[Any], Awaitable[Coordinator | None]]:
    """The `setup` of a connector that polls media sources of these kinds."""

    async def setup(app: Any) -> Coordinator | None:
        poller = SourcePoller(app, domain, kinds, app.state.settings.media_poll_s)
        await poller.start()
        return poller

    return setup
