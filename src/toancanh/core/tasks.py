"""Background tasks tied to the app's lifetime, for core and for modules' startup hooks.

A module must not import `toancanh.app`; it starts its loops with `spawn(app, ...)` from here, and the app
cancels every task in `app.state.background` at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

log = logging.getLogger("toancanh.tasks")


def spawn(app: Any, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
    """Run a background task tied to the app's lifetime (cancelled at shutdown, errors logged)."""
    task: asyncio.Task[Any] = asyncio.create_task(coro, name=name)
    app.state.background.add(task)

    def done(t: asyncio.Task[Any]) -> None:
        app.state.background.discard(t)
        if not t.cancelled() and t.exception() is not None:
            log.error("background task %s failed", name, exc_info=t.exception())

    task.add_done_callback(done)
    return task


async def run_every(
    interval_s: float, fn: Callable[[], Any], name: str, *, first_after_s: float = 0.0
) -> None:
    """Call the blocking `fn` in a worker thread after `first_after_s`, then every `interval_s` seconds.

    A failing call is logged and the loop goes on: one bad round must not stop the next ones.
    """
    await asyncio.sleep(first_after_s)
    while True:
        try:
            await asyncio.to_thread(fn)
        except Exception:
            log.exception("periodic task %s failed", name)
        await asyncio.sleep(interval_s)


def spawn_leased(app: Any, factory: Callable[[], Coroutine[Any, Any, Any]], name: str) -> None:
    """Background work that must run in one process at a time (a periodic job, a deadline loop): it runs
    where the lease `job:<name>` is held (core.leases), moves to another worker if that process dies, and
    never runs in an API replica (`role = "api"`)."""
    app.state.leases.add(f"job:{name}", factory)
