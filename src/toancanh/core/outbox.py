"""The transactional outbox and its relay.

`emit()` adds an event row in the same transaction as the change it describes, so an event exists if and
only if the change committed. The `Relay` publishes unpublished rows in id order to the bus and marks them;
a crash between publish and mark re-publishes, and the bus de-duplicates on the event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, event, insert, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from toancanh.core.bus import Bus, Event, validate_subject
from toancanh.core.db import Base, BigId, Database, IdMixin, utcnow
from toancanh.core.units import Unit

log = logging.getLogger("toancanh.outbox")


class OutboxEvent(IdMixin, Base):
    __tablename__ = "outbox"

    uid: Mapped[str] = mapped_column(String(32), unique=True, default=lambda: uuid.uuid4().hex)
    subject: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[int | None] = mapped_column(BigId)
    unit_path: Mapped[str | None] = mapped_column(String(120))
    domain: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)

    def to_event(self) -> Event:
        return Event(
            id=self.uid,
            subject=self.subject,
            at=self.created_at,
            data=self.data,
            unit_id=self.unit_id,
            unit_path=self.unit_path,
            domain=self.domain,
        )


def emit(
    db: Session,
    subject: str,
    data: dict[str, Any],
    *,
    unit_id: int | None = None,
    domain: str | None = None,
    unit_path: str | None = None,
) -> OutboxEvent:
    """Record a domain event in the current transaction."""
    validate_subject(subject)
    if unit_id is not None and unit_path is None:
        unit_path = db.scalar(select(Unit.path).where(Unit.id == unit_id))
    row = OutboxEvent(subject=subject, data=data, unit_id=unit_id, unit_path=unit_path, domain=domain)
    db.add(row)
    db.info["outbox_dirty"] = True
    return row


def emit_many(db: Session, events: Iterable[tuple[str, dict[str, Any], int | None, str | None]]) -> int:
    """Record many domain events (subject, data, unit id, domain) in the current transaction at once: one
    read of their units' paths and one bulk insert, for a job that changes thousands of records (a week's
    epidemic levels). Returns how many were recorded."""
    rows = list(events)
    for subject, *_ in rows:
        validate_subject(subject)
    if not rows:
        return 0
    unit_ids = sorted({u for _, _, u, _ in rows if u is not None})
    paths: dict[int, str] = {}
    for i in range(0, len(unit_ids), 5000):
        chunk = unit_ids[i : i + 5000]
        paths.update(
            {uid: path for uid, path in db.execute(select(Unit.id, Unit.path).where(Unit.id.in_(chunk)))}
        )
    db.execute(
        insert(OutboxEvent),
        [
            {
                "subject": subject,
                "data": data,
                "unit_id": uid,
                "unit_path": paths.get(uid) if uid else None,
                "domain": domain,
            }
            for subject, data, uid, domain in rows
        ],
    )
    db.info["outbox_dirty"] = True
    return len(rows)


# Commits that wrote outbox rows wake the relays of this process at once instead of at the next poll.
_wakers: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
_wakers_lock = threading.Lock()


@event.listens_for(Session, "after_commit")
def _wake_relays(session: Session) -> None:
    if session.info.pop("outbox_dirty", False):
        with _wakers_lock:
            for loop, ev in list(_wakers):
                if not loop.is_closed():
                    loop.call_soon_threadsafe(ev.set)


class Relay:
    """Publishes outbox rows to the bus. Safe to run in several processes at once on PostgreSQL."""

    def __init__(self, db: Database, bus: Bus, *, interval_s: float = 0.5, batch: int = 500) -> None:
        self.db = db
        self.bus = bus
        self.interval_s = interval_s
        self.batch = batch
        self.published = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        with _wakers_lock:
            _wakers.append((loop, self._wake))
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        self._stopping = True
        with _wakers_lock:
            _wakers[:] = [(lp, ev) for lp, ev in _wakers if ev is not self._wake]
        self._wake.set()
        if self._task:
            try:
                await asyncio.wait_for(self._task, timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
        await self.drain()

    async def _run(self) -> None:
        backoff = self.interval_s
        while not self._stopping:
            try:
                n = await self.drain()
                backoff = self.interval_s
                if n:
                    continue
            except Exception:
                log.exception("outbox relay failed; retrying in %.1fs", backoff)
                backoff = min(backoff * 2, 30.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)
            self._wake.clear()

    async def drain(self) -> int:
        """Publish everything pending now; returns how many were published."""
        total = 0
        while True:
            n = await self._publish_batch()
            total += n
            if n < self.batch:
                return total

    async def _publish_batch(self) -> int:
        loop = asyncio.get_running_loop()
        if self.db.is_postgres:
            # Row locks (SKIP LOCKED) must be held while publishing, so several relays never publish the
            # same rows at once: claim, publish and mark in one transaction on a worker thread.
            n = await asyncio.to_thread(self._claim_publish_mark, loop)
        else:
            # SQLite has a single writer: read, publish on the loop, then mark.
            pending = await asyncio.to_thread(self._pending)
            done: list[int] = []
            try:
                for row_id, ev in pending:
                    await self.bus.publish(ev)
                    done.append(row_id)
            finally:
                if done:
                    await asyncio.to_thread(self._mark, done)
            n = len(done)
        self.published += n
        return n

    def _pending(self) -> list[tuple[int, Event]]:
        with self.db.read_session() as s:  # never waits behind a writer: publishing is on the alert path
            stmt = (
                select(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None))
                .order_by(OutboxEvent.id)
                .limit(self.batch)
            )
            return [(r.id, r.to_event()) for r in s.scalars(stmt)]

    def _mark(self, ids: list[int]) -> None:
        with self.db.session() as s:
            s.execute(update(OutboxEvent).where(OutboxEvent.id.in_(ids)).values(published_at=utcnow()))

    def _claim_publish_mark(self, loop: asyncio.AbstractEventLoop) -> int:
        with self.db.session() as s:
            rows = list(
                s.scalars(
                    select(OutboxEvent)
                    .where(OutboxEvent.published_at.is_(None))
                    .order_by(OutboxEvent.id)
                    .limit(self.batch)
                    .with_for_update(skip_locked=True)
                )
            )
            now = utcnow()
            for r in rows:
                asyncio.run_coroutine_threadsafe(self.bus.publish(r.to_event()), loop).result(timeout=30)
                r.published_at = now
                r.attempts += 1
            return len(rows)


def pending_count(db: Session) -> int:
    from sqlalchemy import func

    return db.scalar(select(func.count()).where(OutboxEvent.published_at.is_(None))) or 0
