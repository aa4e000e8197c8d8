"""The connector contract: every `connectors/<name>/__init__.py` exposes `connector = Connector(...)`.

A connector links one kind of outside system (an MQTT broker, CAP feeds, a sector database) to the IOC. Its
folder holds `manifest.json` (name, titles, what it needs), `__init__.py` (setup/teardown), `coordinator.py`
(the loop that talks to the outside system) and `const.py`. The app starts the connectors named in
`settings.connectors`; a `Coordinator` turns failures into "unavailable" with a reason and a backoff
instead of
an exception storm, and `/readyz` and `/api/v1/connectors` show each one's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from toancanh.core.db import utcnow

log = logging.getLogger("toancanh.connectors")
REQUIRED_FILES = ("__init__.py", "manifest.json", "coordinator.py", "const.py")


class Coordinator:
    """Runs a connector's loop and remembers whether its source is available, and why not.

    Subclasses implement `run_once()`: connect and serve until the connection ends (a push source), or poll
    once
    (a polling source, with `poll_interval_s` set). An exception marks the source unavailable, is logged with
    its reason, and the loop tries again after a growing delay (1 s doubling up to `max_backoff_s`).
    """

    poll_interval_s: float | None = None
    max_backoff_s: float = 30.0

    def __init__(self, name: str) -> None:
        self.name = name
        self.available = False
        self.last_error = ""
        self.last_success_at: datetime | None = None
        self.failures = 0
        self.counters: dict[str, int] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def run_once(self) -> None:
        raise NotImplementedError

    def count(self, what: str, n: int = 1) -> None:
        self.counters[what] = self.counters.get(what, 0) + n

    def mark_available(self) -> None:
        if not self.available:
            log.info("connector %s: available", self.name)
        self.available = True
        self.last_error = ""
        self.last_success_at = utcnow()
        self.failures = 0

    def mark_unavailable(self, reason: str) -> None:
        if self.available or reason != self.last_error:
            log.warning("connector %s: unavailable: %s", self.name, reason)
        self.available = False
        self.last_error = reason
        self.failures += 1

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"connector:{self.name}")

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _loop(self) -> None:
        backoff = 1.0
        while not self._stopping:
            try:
                await self.run_once()
                backoff = 1.0
                if self.poll_interval_s is None:  # a push source whose connection ended: reconnect soon
                    await asyncio.sleep(0.5)
                    continue
                await asyncio.sleep(self.poll_interval_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.mark_unavailable(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff_s)

    def status(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "available": self.available,
            "last_error": self.last_error,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "failures": self.failures,
            "counters": dict(self.counters),
        }


@dataclass
class Connector:
    name: str
    title_vi: str
    title_en: str
    setup: Callable[[Any], Awaitable[Coordinator | None]]
    """setup(app) -> the started coordinator (or None when the settings leave nothing to do)."""
    teardown: Callable[[Any], Awaitable[None]] | None = None
    cli: Any = None  # typer.Typer, added as `toancanh <name> ...`
    routers: list[Any] = field(default_factory=list)
    # pages of the connector (its own dashboard), served by every process, lease holder or not
    web_routers: list[Any] = field(default_factory=list)
    templates_dir: str | None = None
    nav: list[Any] = field(default_factory=list)  # core.modules.NavItem
