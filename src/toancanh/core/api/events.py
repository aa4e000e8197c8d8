"""Live events for browsers (Server-Sent Events) and the recent events, filtered by the caller's scope."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import or_, select

from toancanh.core.api import deps
from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.auth.scope import Principal, scoped
from toancanh.core.bus import Bus, Event, Subscription, subject_matches
from toancanh.core.outbox import OutboxEvent

log = logging.getLogger("toancanh.events")
router = APIRouter(prefix="/api/v1/events", tags=["events"])
QUEUE_SIZE = 1000
REPLAY_MAX = 2000  # a client that missed more than this is told to reload instead


class LiveHub:
    """One bus subscription per process, fanned out to every connected browser."""

    def __init__(self) -> None:
        self._clients: set[asyncio.Queue[Event]] = set()
        self._sub: Subscription | None = None
        self.dropped = 0

    async def start(self, bus: Bus) -> None:
        self._sub = await bus.subscribe("toancanh.>", self._dispatch)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()

    async def _dispatch(self, event: Event) -> None:
        for q in list(self._clients):
            if q.full():
                self.dropped += 1  # a stalled browser loses old events rather than slowing everyone
                with contextlib.suppress(asyncio.QueueEmpty):
                    q.get_nowait()
            q.put_nowait(event)

    def connect(self) -> asyncio.Queue[Event]:
        q: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._clients.add(q)
        return q

    def disconnect(self, q: asyncio.Queue[Event]) -> None:
        self._clients.discard(q)

    @property
    def clients(self) -> int:
        return len(self._clients)


def visible(principal: Principal, event: Event) -> bool:
    return principal.can("events.read", event.unit_path, event.domain)


def event_json(event: Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "subject": event.subject,
        "at": event.at.isoformat(),
        "unit_id": event.unit_id,
        "domain": event.domain,
        "data": event.data,
    }


def missed_events(request: Request, principal: Principal, last_id: str) -> list[Event] | None:
    """The published events the caller may see that came after `last_id`, oldest first; None when that
    event is unknown (purged, or from another installation) or too much was missed: the client reloads.

    The relay publishes in id order, so what a client missed is what was published after the last event it
    got: a higher id, or, for a transaction that committed late with a lower id, a later publication time."""
    database = deps.get_database(request)
    with database.read_session() as db:
        last = db.execute(
            select(OutboxEvent.id, OutboxEvent.published_at).where(OutboxEvent.uid == last_id[:32])
        ).first()
        if last is None or last.published_at is None:
            return None
        stmt = scoped(select(OutboxEvent), principal, OutboxEvent, "events.read").where(
            OutboxEvent.published_at.is_not(None),
            or_(OutboxEvent.id > last.id, OutboxEvent.published_at > last.published_at),
        )
        rows = db.scalars(stmt.order_by(OutboxEvent.id).limit(REPLAY_MAX + 1)).all()
        if len(rows) > REPLAY_MAX:
            return None
        return [r.to_event() for r in rows]


def _sse(ev: Event) -> str:
    payload = json.dumps(event_json(ev), ensure_ascii=False, default=str)
    return f"id: {ev.id}\ndata: {payload}\n\n"


@router.get("/stream")
async def stream(
    request: Request,
    subjects: str = Query(default="toancanh.>", max_length=200),
    last_event_id: str = Query(default="", max_length=64, description="or the Last-Event-ID header"),
) -> StreamingResponse:
    """Server-Sent Events: each new event the caller may see, as one JSON `data:` line (subject inside).

    A client that reconnects with `Last-Event-ID` (browsers send it by themselves) first gets the events it
    missed, in order, then the live ones; if its last event is unknown it gets an `event: reset` to reload."""
    # Authenticate in a short session of our own: a request-scoped session would stay open (and hold a
    # transaction) for as long as the browser listens.
    principal = await asyncio.to_thread(deps.principal_in_own_session, request)
    patterns = [p.strip() for p in subjects.split(",") if p.strip()][:10]
    hub: LiveHub = request.app.state.live_hub
    last_id = (request.headers.get("last-event-id") or last_event_id).strip()[:64]
    queue = hub.connect()  # before reading the missed events, so that nothing falls between the two

    def wanted(ev: Event) -> bool:
        return visible(principal, ev) and any(subject_matches(p, ev.subject) for p in patterns)

    async def gen() -> AsyncIterator[str]:
        sent: set[str] = set()
        try:
            yield "retry: 3000\n: connected\n\n"
            if last_id:
                missed = await asyncio.to_thread(missed_events, request, principal, last_id)
                if missed is None:
                    yield "event: reset\ndata: {}\n\n"
                else:
                    for ev in missed:
                        if wanted(ev):
                            sent.add(ev.id)
                            yield _sse(ev)
            while True:
                try:
                    ev = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    if await request.is_disconnected():
                        break
                    yield ": keep-alive\n\n"
                    continue
                if not wanted(ev):
                    continue
                if ev.id in sent:  # replayed just now: do not send twice
                    sent.discard(ev.id)
                    continue
                yield _sse(ev)
        finally:
            hub.disconnect(queue)

    return StreamingResponse(
        gen(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/recent")
def recent(
    db: SessionDep,
    principal: CurrentPrincipal,
    limit: int = Query(default=30, ge=1, le=200),
) -> list[dict[str, Any]]:
    """The newest events the caller may see (fills the ticker before live events arrive)."""
    stmt = scoped(select(OutboxEvent), principal, OutboxEvent, "events.read")
    rows = db.scalars(stmt.order_by(OutboxEvent.id.desc()).limit(limit))
    return [event_json(r.to_event()) for r in rows]
