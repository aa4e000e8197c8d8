"""What the cameras module keeps in the app: the vault, the view log and (when on) the health monitor."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from toancanh.modules.cameras.monitor import CameraMonitor
from toancanh.modules.cameras.privacy import PrivacyFilter
from toancanh.modules.cameras.vault import Vault


class ViewLog:
    """Decides which views to audit: one row per (user, camera, kind) per window, so that a wall refreshing a
    snapshot every few seconds leaves one row per viewing session instead of thousands."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._last: dict[tuple[int, int, str], float] = {}
        self._lock = threading.Lock()

    def due(self, user_id: int, camera_id: int, kind: str) -> bool:
        now = time.monotonic()
        key = (user_id, camera_id, kind)
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self.window_s:
                return False
            self._last[key] = now
            if len(self._last) > 50_000:  # forget old sessions
                cutoff = now - self.window_s
                self._last = {k: v for k, v in self._last.items() if v >= cutoff}
            return True


class CamerasRuntime:
    def __init__(self, app: Any) -> None:
        settings = app.state.settings
        self.app = app
        self.vault = Vault.from_settings(settings)
        self.views = ViewLog(settings.camera_view_audit_s)
        self.privacy = PrivacyFilter()
        self.monitor: CameraMonitor | None = None

    async def start(self) -> None:
        if self.app.state.settings.camera_monitor:
            leases = getattr(self.app.state, "leases", None)
            self.monitor = CameraMonitor(self.app.state.db, self.app.state.settings, leases)
            await self.monitor.start()

    async def stop(self) -> None:
        if self.monitor is not None:
            await self.monitor.stop()

    async def resync(self) -> None:
        """After a change through the API: watch new cameras, stop removed ones (other processes notice
        within the monitor's sync period)."""
        if self.monitor is not None:
            await asyncio.shield(self.monitor.sync())


def runtime_of(app: Any) -> CamerasRuntime:
    rt: CamerasRuntime | None = getattr(app.state, "cameras", None)
    if rt is None:  # an app whose lifespan did not run (a bare TestClient): no monitor
        rt = CamerasRuntime(app)
        app.state.cameras = rt
    return rt
