"""Leases: which process does which share of the background work, moved to another when one dies.

A province runs several `toancanh worker` processes (and API replicas that do no background work). Each piece
of work that must run exactly once at a time (a connector's session with its broker, a periodic job such as
the retention purge or deadline escalation, later a camera's analytics) has a named lease in the `leases`
table. A process holds a lease by renewing it before it expires (`lease_ttl_s`); a process that dies stops
renewing and, within one lease period, another process takes the lease over and starts the work. Every
takeover increments the lease's `token` (a fencing token), so work can tell that it was superseded.

Fair share: each keeper also holds a membership lease (`member:<holder>`), and takes at most
ceil(work / live members) work leases, so the work spreads over the workers and moves back as they join.
Times are the processes' clocks (UTC): machines of one installation keep them in step with NTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from toancanh.core.db import Base, Database, utcnow

log = logging.getLogger("toancanh.leases")
MEMBER = "member:"


class Lease(Base):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    token: Mapped[int] = mapped_column(default=1)
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    renewed_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


def _count(result: Any) -> int:
    """Rows an UPDATE/DELETE touched (a CursorResult's rowcount)."""
    return int(getattr(result, "rowcount", 0) or 0)


def new_holder_id() -> str:
    """host:pid:random — unique per process start, readable in the leases table."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def try_acquire(db: Database, name: str, holder: str, ttl_s: float) -> int | None:
    """Take or renew `name` for `holder` for `ttl_s` seconds: its fencing token, or None if another has it."""
    now = utcnow()
    until = now + timedelta(seconds=ttl_s)
    with db.session() as s:
        mine = s.execute(
            update(Lease)
            .where(Lease.name == name, Lease.holder == holder, Lease.expires_at >= now)
            .values(renewed_at=now, expires_at=until)
        )
        if _count(mine):
            return s.scalar(select(Lease.token).where(Lease.name == name))
        taken = s.execute(
            update(Lease)
            .where(Lease.name == name, (Lease.expires_at < now) | (Lease.holder == holder))
            .values(holder=holder, token=Lease.token + 1, acquired_at=now, renewed_at=now, expires_at=until)
        )
        if _count(taken):
            return s.scalar(select(Lease.token).where(Lease.name == name))
        if s.get(Lease, name) is not None:
            return None
    try:
        with db.session() as s:
            s.add(Lease(name=name, holder=holder, token=1, acquired_at=now, renewed_at=now, expires_at=until))
        return 1
    except IntegrityError:  # another process created it first
        return None


def release(db: Database, name: str, holder: str) -> None:
    """Give `name` up at once (a clean shutdown), so that another process need not wait for it to expire."""
    with db.session() as s:
        s.execute(update(Lease).where(Lease.name == name, Lease.holder == holder).values(expires_at=utcnow()))


def holders(db: Database) -> dict[str, str]:
    """Live leases: name -> holder."""
    with db.read_session() as s:
        rows = s.execute(select(Lease.name, Lease.holder).where(Lease.expires_at >= utcnow()))
        return {n: h for n, h in rows}


def forget_expired(db: Database, older_than_s: float = 3600.0) -> int:
    """Delete membership leases long expired (dead processes' rows); work leases stay for their tokens."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    with db.session() as s:
        r = s.execute(delete(Lease).where(Lease.name.startswith(MEMBER), Lease.expires_at < cutoff))
        return _count(r)


Start = Callable[[], Awaitable[None]]


@dataclass
class _Work:
    name: str
    start: Start  # called when the lease is taken; runs until stop
    stop: Callable[[], Awaitable[None]] | None = None  # called when the lease is lost or at shutdown
    task: asyncio.Task[None] | None = None
    token: int | None = None


@dataclass
class LeaseKeeper:
    """Holds this process's share of the named work leases and runs the work of those it holds.

    `add(name, start, stop)` registers work; `start()` takes what it can at once (so a single process runs
    everything before it answers its first request) and then renews every ttl/3 seconds. A work's `start`
    is awaited as a task while the lease is held: a loop that runs until cancelled, or a setup returning at
    once with `stop` to undo it. When `enabled` is False (an API replica) nothing is ever taken.
    """

    db: Database
    ttl_s: float = 15.0
    enabled: bool = True
    holder: str = field(default_factory=new_holder_id)
    work: dict[str, _Work] = field(default_factory=dict)
    takeovers: int = 0
    last_round_ok: float = 0.0
    _task: asyncio.Task[None] | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def add(self, name: str, start: Start, stop: Callable[[], Awaitable[None]] | None = None) -> None:
        if name in self.work:
            raise ValueError(f"lease {name!r} registered twice")
        self.work[name] = _Work(name, start, stop)  # registered after start: taken at the next round

    async def remove(self, name: str) -> None:
        """Unregister work (a camera deleted or disabled): stop it here if held and give its lease back."""
        async with self._lock:
            w = self.work.pop(name, None)
            if w is not None and w.token is not None:
                await self._lose(w)
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(release, self.db, w.name, self.holder)

    async def nudge(self) -> None:
        """Run a round now (new work was just added) instead of at the next tick; nothing before start()."""
        if self.enabled and self._task is not None:
            await self.round()

    def held(self) -> list[str]:
        return sorted(n for n, w in self.work.items() if w.token is not None)

    async def start(self) -> None:
        if not self.enabled:
            return
        await self.round()
        self._task = asyncio.create_task(self._loop(), name="lease-keeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for w in list(self.work.values()):
            if w.token is not None:
                await self._lose(w)
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(release, self.db, w.name, self.holder)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(release, self.db, MEMBER + self.holder, self.holder)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            try:
                await self.round()
            except Exception:
                log.exception("lease round failed")
                if time.monotonic() - self.last_round_ok > self.ttl_s * 0.9:
                    # the leases may have gone to another process by now: stop before two run the work
                    for w in list(self.work.values()):
                        if w.token is not None:
                            log.warning("lease %s not renewed in time; stopping its work", w.name)
                            await self._lose(w)

    async def round(self) -> None:
        """Renew what is held, drop what was lost, take free work up to the fair share."""
        async with self._lock:  # rounds from the loop and from nudge() never interleave with remove()
            await self._round()

    async def _round(self) -> None:
        started = time.monotonic()
        await asyncio.to_thread(try_acquire, self.db, MEMBER + self.holder, self.holder, self.ttl_s)
        live = await asyncio.to_thread(holders, self.db)
        members = max(1, sum(1 for n in live if n.startswith(MEMBER)))
        share = math.ceil(len(self.work) / members)
        for w in list(self.work.values()):
            if w.token is not None:
                token = await asyncio.to_thread(try_acquire, self.db, w.name, self.holder, self.ttl_s)
                if token != w.token:
                    log.warning("lease %s lost to another process; stopping its work", w.name)
                    await self._lose(w)
        mine = len(self.held())
        for w in list(self.work.values()):
            if mine >= share:
                break
            if w.token is None and live.get(w.name) in (None, self.holder):
                token = await asyncio.to_thread(try_acquire, self.db, w.name, self.holder, self.ttl_s)
                if token is not None:
                    if token > 1:
                        self.takeovers += 1
                    log.info("lease %s taken (token %d)", w.name, token)
                    w.token = token
                    w.task = asyncio.create_task(self._run(w), name=f"lease:{w.name}")
                    mine += 1
        # more than our share (a worker joined): give one back per round, the others take it
        if mine > share:
            w = next(w for w in reversed(list(self.work.values())) if w.token is not None)
            await self._lose(w)
            await asyncio.to_thread(release, self.db, w.name, self.holder)
        self.last_round_ok = started

    async def _run(self, w: _Work) -> None:
        try:
            await w.start()
        except asyncio.CancelledError:
            raise
        except Exception:
            # give the lease up: the next round (here or elsewhere) starts the work afresh
            log.exception("work %s failed; its lease is given up", w.name)
            w.token = None
            w.task = None
            with contextlib.suppress(Exception):
                await asyncio.to_thread(release, self.db, w.name, self.holder)

    async def _lose(self, w: _Work) -> None:
        w.token = None
        task, w.task = w.task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if w.stop is not None:
            with contextlib.suppress(Exception):
                await w.stop()
