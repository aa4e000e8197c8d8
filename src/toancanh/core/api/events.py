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
from sqlalchemy import select

from toancanh.core.api import deps
from toancanh.core.api.deps import CurrentPrincipal, SessionDep
from toancanh.core.auth.scope import Principal, scoped
from toancanh.core.bus import Bus, Event, Subscription, subject_matches
from toancanh.core.outbox import OutboxEvent

log = logging.getLogger("toancanh.events")
router = APIRouter(prefix="/api/v1/events", tags=["events"])
QUEUE_SIZE = 1000


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


@router.get("/stream")
async def stream(
    request: Request,
    subjects: str = Query(default="toancanh.>", max_length=200),
) -> StreamingResponse:
    """Server-Sent Events: each new event the caller may see, as one JSON `data:` line (subject inside)."""
    # Authenticate in a short session of our own: a request-scoped session would stay open (and hold a
    # transaction) for as long as the browser listens.
    principal = await asyncio.to_thread(deps.principal_in_own_session, request)
    patterns = [p.strip() for p in subjects.split(",") if p.strip()][:10]
    hub: LiveHub = request.app.state.live_hub
    queue = hub.connect()

    async def gen() -> AsyncIterator[str]:
        try:
            yield "retry: 3000\n: connected\n\n"
            while True:
                try:
                    ev = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    if await request.is_disconnected():
                        break
                    yield ": keep-alive\n\n"
                    continue
                if not visible(principal, ev) or not any(subject_matches(p, ev.subject) for p in patterns):
                    continue
                payload = json.dumps(event_json(ev), ensure_ascii=False, default=str)
                yield f"id: {ev.id}\ndata: {payload}\n\n"
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
