"""The CAP poller: fetches every configured feed, reads its alerts and records them as events.

Each poll reads every feed in turn. A feed is a URL (http or https) or a local file; it holds one CAP alert,
or an Atom or RSS feed whose entries embed alerts or link to them. Linked alerts are fetched (at most
`MAX_LINKED_PER_POLL` new ones per feed and poll, a few at a time); entries fetched before are remembered by
id and update time and not fetched again. Every document is at most 2 MB and must arrive within 10 s.

A wrong alert is logged with its reason and skipped; the rest of its feed still goes in. A feed that cannot be
read marks its own error (in `status()["feeds"]` and `last_error`) while the other feeds go on; when every
feed fails the poll raises, and the coordinator marks the connector unavailable until a poll succeeds.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from toancanh.connectors.cap import parse
from toancanh.connectors.cap.const import (
    DEFAULT_STATUSES,
    DOMAIN,
    FETCH_CONCURRENCY,
    FETCH_TIMEOUT_S,
    MAX_DOCUMENT_BYTES,
    MAX_LINKED_PER_POLL,
    MAX_REMEMBERED_ENTRIES,
    USER_AGENT,
)
from toancanh.core.auth.scope import Principal
from toancanh.core.connectors import Coordinator
from toancanh.core.db import Database, utcnow
from toancanh.core.units import Unit, unit_index
from toancanh.modules.alerts import events
from toancanh.modules.alerts.events import EventIn, Recorded

log = logging.getLogger("toancanh.connectors.cap")

Record = Callable[[list[EventIn]], Recorded]
"""Records a batch of events (blocking): the alerts runtime's `record_events`."""
LookupUnits = Callable[[Collection[str]], parse.UnitRefs]
"""The top-level unit and the ids of the given unit codes (blocking)."""


class FeedError(Exception):
    """A feed (or a linked document) could not be fetched."""


@dataclass
class FeedState:
    ok: bool | None = None  # None until first polled
    error: str = ""
    last_success_at: datetime | None = None
    recorded: int = 0
    rejected: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "error": self.error,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "recorded": self.recorded,
            "rejected": self.rejected,
        }


# ---------------------------------------------------------------------------------------------- wiring


def unit_refs(db: Session, codes: Collection[str]) -> parse.UnitRefs:
    """The top-level unit (the root with the shortest path, then the smallest id) and the ids of `codes`."""
    root = db.scalar(
        select(Unit.id).where(Unit.parent_id.is_(None)).order_by(func.length(Unit.path), Unit.id).limit(1)
    )
    by_code: dict[str, int] = {}
    if codes:
        by_code = {
            c: i for c, i in db.execute(select(Unit.code, Unit.id).where(Unit.code.in_(sorted(codes))))
        }
    return parse.UnitRefs(root, by_code)


def database_units(db: Database) -> LookupUnits:
    def lookup(codes: Collection[str]) -> parse.UnitRefs:
        with db.session() as s:
            return unit_refs(s, codes)

    return lookup


def database_recorder(db: Database, holder: Any) -> Record:
    """Record straight into the database, without the rule engine (tests; an app without the alerts runtime).

    `holder` keeps the point-in-unit index between calls (see `units.unit_index`).
    """

    def record(items: list[EventIn]) -> Recorded:
        with db.session() as s:
            return events.record(s, items, locate=unit_index(s, holder).locate_one)

    return record


def record_via_app(app: Any, items: list[EventIn], actor: Principal | None = None) -> Recorded:
    """Record through the alerts runtime (`app.state.alerts`), which hands new events to the rules.

    Blocking. Without the runtime (an app built without it) the events are recorded directly.
    """
    runtime = getattr(app.state, "alerts", None)
    if runtime is not None and hasattr(runtime, "record_events"):
        rec: Recorded = runtime.record_events(items, actor=actor)
        return rec
    with app.state.db.session() as s:
        return events.record(s, items, actor=actor, locate=unit_index(s, app.state).locate_one)


def redact(location: str) -> str:
    """A feed address fit for logs: no user name, password or query string (they may hold keys)."""
    if not _is_url(location):
        return location
    parts = urlsplit(location)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "…" if parts.query else "", ""))


def _is_url(location: str) -> bool:
    return location.lower().startswith(("http://", "https://"))


# ---------------------------------------------------------------------------------------------- poller


class CapCoordinator(Coordinator):
    """Polls CAP feeds every `poll_interval_s` seconds and records their alerts as events."""

    def __init__(
        self,
        feeds: Sequence[str],
        *,
        record: Record,
        units: LookupUnits,
        poll_interval_s: float = 300.0,
        statuses: Collection[str] = DEFAULT_STATUSES,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(DOMAIN)
        self.feeds = [f.removeprefix("file://") for f in feeds]
        self.record = record
        self.units = units
        self.poll_interval_s = poll_interval_s
        self.statuses = tuple(statuses)
        self.transport = transport
        self.feed_state = {f: FeedState() for f in self.feeds}
        self._fetched: OrderedDict[str, None] = OrderedDict()  # entry keys already fetched and recorded
        self._reported: OrderedDict[str, None] = OrderedDict()  # rejections already logged as warnings

    def status(self) -> dict[str, Any]:
        out = super().status()
        out["feeds"] = {redact(f): s.summary() for f, s in self.feed_state.items()}
        return out

    async def run_once(self) -> None:
        self.count("polls")
        failures: list[str] = []
        async with httpx.AsyncClient(
            transport=self.transport,
            timeout=FETCH_TIMEOUT_S,
            follow_redirects=True,
            max_redirects=5,
            headers={"User-Agent": USER_AGENT, "Accept": "application/cap+xml, application/atom+xml, */*"},
        ) as client:
            for feed in self.feeds:
                state = self.feed_state[feed]
                try:
                    await self._poll(client, feed, state)
                except Exception as exc:  # one broken feed must not stop the others
                    reason = _reason(exc)
                    state.ok, state.error = False, reason
                    self.count("feed_errors")
                    failures.append(f"{redact(feed)}: {reason}")
                    log.warning("CAP feed %s failed: %s", redact(feed), reason)
                else:
                    state.ok, state.error, state.last_success_at = True, "", utcnow()
        if failures and len(failures) == len(self.feeds):
            raise FeedError("; ".join(failures))
        self.mark_available()
        if failures:
            self.last_error = "; ".join(failures)  # still available: the other feeds answered

    async def _poll(self, client: httpx.AsyncClient, feed: str, state: FeedState) -> None:
        doc = parse.read_feed(await self._fetch(client, feed))
        self.count("documents")
        alerts = list(doc.alerts)
        rejected = list(doc.rejected)
        fresh = [link for link in doc.links if link.key not in self._fetched]
        if len(fresh) > MAX_LINKED_PER_POLL:
            log.info(
                "CAP feed %s links %d new alerts; fetching %d now, the rest at the next polls",
                redact(feed),
                len(fresh),
                MAX_LINKED_PER_POLL,
            )
            fresh = fresh[:MAX_LINKED_PER_POLL]
        done: list[str] = []
        semaphore = asyncio.Semaphore(FETCH_CONCURRENCY)

        async def fetch_linked(link: parse.FeedLink) -> None:
            async with semaphore:
                try:
                    target = self._resolve(feed, link.href)
                    alerts.append(parse.parse_alert_bytes(await self._fetch(client, target)))
                except parse.CapError as exc:
                    rejected.append(parse.Rejection(link.href, exc.vi, exc.en))
                except Exception as exc:  # unreachable now: not remembered, so tried again next poll
                    self.count("fetch_errors")
                    reason = _reason(exc)
                    rejected.append(
                        parse.Rejection(link.href, f"Không tải được: {reason}", f"Not fetched: {reason}")
                    )
                    return
                done.append(link.key)

        await asyncio.gather(*(fetch_linked(link) for link in fresh))

        recordable: list[parse.CapAlert] = []
        for alert in alerts:
            why = parse.ignored(alert, self.statuses)
            if why is None:
                recordable.append(alert)
            else:
                self.count("ignored")
                log.info("CAP feed %s: alert %s skipped: %s", redact(feed), why.where, why.en)
        items: list[EventIn] = []
        if recordable:
            refs = await asyncio.to_thread(self.units, parse.unit_codes(recordable))
            for alert in recordable:
                items.extend(parse.to_events(alert, refs))
        rec = await asyncio.to_thread(self.record, items) if items else Recorded([], 0, [], [])
        for key in done:  # only once recorded: a failed record fetches them again next poll
            self._fetched[key] = None
        while len(self._fetched) > MAX_REMEMBERED_ENTRIES:
            self._fetched.popitem(last=False)

        for r in rejected:
            self._warn_once(f"CAP feed {redact(feed)}: {r.where} rejected: {r.en}")
        for refused in rec.rejected:
            ref = items[refused["index"]].source_ref
            self._warn_once(f"CAP feed {redact(feed)}: event {ref} rejected: {refused['reason_en']}")
        n_rejected = len(rejected) + len(rec.rejected)
        self.count("recorded", len(rec.ids))
        self.count("duplicates", rec.duplicates)
        self.count("rejected", n_rejected)
        state.recorded += len(rec.ids)
        state.rejected += n_rejected
        if rec.ids:
            log.info("CAP feed %s: %d new events recorded", redact(feed), len(rec.ids))

    def _warn_once(self, message: str) -> None:
        """A warning the first time; the same rejection at the next polls (an entry still broken) at DEBUG."""
        if message in self._reported:
            log.debug("%s", message)
            return
        log.warning("%s", message)
        self._reported[message] = None
        while len(self._reported) > MAX_REMEMBERED_ENTRIES:
            self._reported.popitem(last=False)

    def _resolve(self, feed: str, href: str) -> str:
        """Where a link of `feed` points: an http(s) URL, or a file next to a feed read from a file."""
        if _is_url(feed):
            url = urljoin(feed, href)
            if not _is_url(url):
                raise parse.CapError(
                    "Liên kết không phải http(s): bỏ qua", f"Link is not http(s): {href[:80]!r}"
                )
            return url
        if _is_url(href):
            return href
        if urlsplit(href).scheme or Path(href).is_absolute():
            raise parse.CapError(
                "Liên kết của tệp nguồn phải là http(s) hoặc đường dẫn tương đối",
                f"A file feed's link must be http(s) or a relative path: {href[:80]!r}",
            )
        folder = Path(feed).resolve().parent
        target = (folder / href).resolve()
        if not target.is_relative_to(folder):
            raise parse.CapError(
                "Liên kết trỏ ra ngoài thư mục của tệp nguồn",
                f"The link leaves the feed file's folder: {href[:80]!r}",
            )
        return str(target)

    async def _fetch(self, client: httpx.AsyncClient, location: str) -> bytes:
        if not _is_url(location):
            return await asyncio.to_thread(_read_file, location)
        async with asyncio.timeout(FETCH_TIMEOUT_S), client.stream("GET", location) as resp:
            if resp.status_code != 200:
                raise FeedError(f"HTTP {resp.status_code}")
            declared = resp.headers.get("content-length", "")
            if declared.isdecimal() and int(declared) > MAX_DOCUMENT_BYTES:
                raise _too_large()
            body = bytearray()
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) > MAX_DOCUMENT_BYTES:
                    raise _too_large()
            return bytes(body)


def _read_file(path: str) -> bytes:
    with open(path, "rb") as fh:
        data = fh.read(MAX_DOCUMENT_BYTES + 1)
    if len(data) > MAX_DOCUMENT_BYTES:
        raise _too_large()
    return data


def _too_large() -> parse.CapError:
    mb = MAX_DOCUMENT_BYTES // (1024 * 1024)
    return parse.CapError(f"Tài liệu vượt quá {mb} MB", f"The document is larger than {mb} MB")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, parse.CapError):
        return exc.en
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return f"no answer within {FETCH_TIMEOUT_S:g} s"
    if isinstance(exc, FeedError):
        return str(exc)
    if isinstance(exc, httpx.TransportError):  # e.g. "ConnectError: [Errno 111] Connection refused"
        return f"{type(exc).__name__}: {exc}"
    if isinstance(exc, httpx.HTTPError):  # other kinds may quote the URL (and so a key): name the kind only
        return type(exc).__name__
    return f"{type(exc).__name__}: {exc}"
