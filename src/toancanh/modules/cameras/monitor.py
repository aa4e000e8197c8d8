"""Camera health (tình trạng camera): one watcher per enabled camera, in the process that holds its lease.

Each watcher opens the camera's substream in a thread of its own (PyAV blocks), measures the frame rate,
keeps the latest image (in memory, and every few seconds a JPEG on disk for other processes), and reconnects
with capped, jittered exponential backoff. Online/offline changes reach the asset and the outbox through
`service.set_health`. A stream that breaks after giving frames is retried at once; only a failed connect
marks the camera offline, so a blip does not page anyone.

With a lease keeper (the app's), each camera is the work of the lease `camera:<id>` (core.leases): a commune's
single process holds them all, an API replica (`role = "api"`) none (it answers from the stored state and the
snapshots on disk), and a province's workers share them, a dead worker's cameras moving to the others within
one lease period. Without one (a bare monitor) it watches every enabled camera itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from toancanh.core.db import Database, utcnow
from toancanh.core.leases import LeaseKeeper
from toancanh.modules.cameras import service
from toancanh.modules.cameras.models import Camera
from toancanh.modules.cameras.stream import Source, StreamError, encode_jpeg, frames, to_image
from toancanh.modules.cameras.vault import Vault
from toancanh.settings import Settings

log = logging.getLogger("toancanh.cameras")
SYNC_EVERY_S = 30.0


@dataclass
class Health:
    """What the watcher knows of one camera, shared between its thread and the event loop."""

    camera_id: int
    status: str = "connecting"  # connecting | online | offline
    fps: float | None = None
    last_frame_at: datetime | None = None
    width: int = 0
    height: int = 0
    error: str = ""
    reconnects: int = 0
    retry_in_s: float | None = None
    session_frames: int = 0
    _times: deque[float] = field(default_factory=lambda: deque(maxlen=60))
    _image: np.ndarray | None = None
    _image_at: float = 0.0
    _jpeg: bytes | None = None
    _jpeg_of: float = -1.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def frame_arrived(self, now: float) -> None:
        self._times.append(now)
        # a rate from at least ten frames over a second: the first frames of a session arrive in a burst
        if len(self._times) >= 10 and self._times[-1] - self._times[0] >= 1.0:
            self.fps = round((len(self._times) - 1) / (self._times[-1] - self._times[0]), 2)
        self.last_frame_at = utcnow()
        self.session_frames += 1

    def keep(self, image: np.ndarray, now: float) -> None:
        with self._lock:
            self._image, self._image_at = image, now
        self.height, self.width = image.shape[:2]

    def latest_image(self) -> np.ndarray | None:
        with self._lock:
            return self._image

    def jpeg(self) -> bytes | None:
        """The latest image as a JPEG, encoded once per image."""
        with self._lock:
            image, at = self._image, self._image_at
            if image is None:
                return None
            if self._jpeg_of == at and self._jpeg is not None:
                return self._jpeg
        data = encode_jpeg(image)
        with self._lock:
            self._jpeg, self._jpeg_of = data, at
        return data

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "fps": self.fps,
            "last_frame_at": self.last_frame_at.isoformat() if self.last_frame_at else None,
            "width": self.width or None,
            "height": self.height or None,
            "error": self.error or None,
            "reconnects": self.reconnects,
            "retry_in_s": self.retry_in_s,
            "source": "monitor",
        }


def backoff_delays(initial: float, cap: float, rnd: random.Random | None = None) -> Any:
    """Exponential delays, capped, with "equal jitter" (half fixed, half random) so that cameras that fell
    together do not all knock again at the same instant."""
    rnd = rnd or random.Random()  # noqa: S311 (jitter, not a secret)
    delay = initial
    while True:
        yield delay / 2 + rnd.uniform(0, delay / 2)
        delay = min(cap, delay * 2)


class CameraMonitor:
    """Watches every enabled camera; `health(id)` and `jpeg(id)` answer the API."""

    def __init__(self, db: Database, settings: Settings, leases: LeaseKeeper | None = None) -> None:
        self.db = db
        self.settings = settings
        self.leases = leases
        self.vault = Vault.from_settings(settings)
        self.snapshot_dir = settings.data_dir / "cameras" / "snapshots"
        self._health: dict[int, Health] = {}
        self._sources: dict[int, Source] = {}  # the cameras this monitor is responsible for (leased or not)
        self._tasks: dict[int, asyncio.Task[None]] = {}  # without leases: the watcher tasks
        self._stops: dict[int, threading.Event] = {}  # the watchers running here
        self._sync_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------------------------------ control

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.snapshot_dir.mkdir(parents=True, exist_ok=True)
        await self.sync()
        self._sync_task = asyncio.create_task(self._sync_forever(), name="camera-monitor-sync")

    async def stop(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task
        for camera_id in list(self._sources):
            await self._stop_one(camera_id)

    async def sync(self) -> None:
        """Start watchers (or register leases) for new or changed cameras, stop those of removed or
        disabled ones."""
        wanted = await asyncio.to_thread(self._wanted)
        for camera_id in list(self._sources):
            if camera_id not in wanted or wanted[camera_id] != self._sources[camera_id]:
                await self._stop_one(camera_id)
        for camera_id, source in wanted.items():
            if camera_id in self._sources:
                continue
            self._sources[camera_id] = source
            if self.leases is None:
                self._tasks[camera_id] = asyncio.create_task(
                    self._watcher(camera_id, source), name=f"camera-{camera_id}"
                )
            else:
                self.leases.add(lease_name(camera_id), functools.partial(self._watcher, camera_id, source))
        if self.leases is not None:
            await self.leases.nudge()  # a camera added through the API is watched at once, not next round

    async def _watcher(self, camera_id: int, source: Source) -> None:
        """One camera's watcher, until cancelled (its lease lost, the camera changed, shutdown)."""
        stop = threading.Event()
        self._stops[camera_id] = stop
        try:
            await self._watch(camera_id, source, stop)
        finally:
            stop.set()
            if self._stops.get(camera_id) is stop:
                del self._stops[camera_id]
                self._health.pop(camera_id, None)

    def _wanted(self) -> dict[int, Source]:
        with self.db.read_session() as s:
            cams = s.scalars(select(Camera).where(Camera.enabled.is_(True))).all()
            return {c.id: service.source_of(c, self.vault, self.settings) for c in cams}

    async def _stop_one(self, camera_id: int) -> None:
        self._sources.pop(camera_id, None)
        if self.leases is not None:
            await self.leases.remove(lease_name(camera_id))
        task = self._tasks.pop(camera_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        stop = self._stops.pop(camera_id, None)
        if stop is not None:
            stop.set()
        self._health.pop(camera_id, None)

    async def _sync_forever(self) -> None:
        while True:
            await asyncio.sleep(SYNC_EVERY_S)
            try:
                await self.sync()
            except Exception:
                log.exception("camera monitor: sync failed")

    # ------------------------------------------------------------------------------------------ answers

    def health(self, camera_id: int) -> Health | None:
        return self._health.get(camera_id)

    def jpeg(self, camera_id: int) -> bytes | None:
        h = self._health.get(camera_id)
        return h.jpeg() if h is not None else None

    def watching(self) -> list[int]:
        """The cameras whose watcher runs in this process."""
        return sorted(self._stops)

    # ------------------------------------------------------------------------------------------ watcher

    async def _watch(self, camera_id: int, source: Source, stop: threading.Event) -> None:
        health = self._health.setdefault(camera_id, Health(camera_id))
        delays = backoff_delays(self.settings.camera_backoff_initial_s, self.settings.camera_backoff_max_s)
        try:
            while not stop.is_set():
                health.session_frames = 0
                try:
                    await self._in_thread(camera_id, source, health, stop)
                    reason = "stream ended"
                except StreamError as exc:
                    reason = str(exc)
                except Exception as exc:  # a bug, not a camera fault: log it, keep watching
                    log.exception("camera %s: watcher failed", camera_id)
                    reason = exc.__class__.__name__
                if stop.is_set():
                    return
                health.error = reason
                health.reconnects += 1
                if health.session_frames > 0:  # it worked and broke: try again at once
                    delays = backoff_delays(
                        self.settings.camera_backoff_initial_s, self.settings.camera_backoff_max_s
                    )
                    log.info("camera %s: stream broke (%s), reconnecting", camera_id, reason)
                    continue
                if health.status != "offline":
                    health.status = "offline"
                    health.fps = None
                    await self._record(camera_id, "offline", health, reason)
                delay = next(delays)
                health.retry_in_s = round(delay, 2)
                log.info("camera %s offline (%s); retry in %.1f s", camera_id, reason, delay)
                await asyncio.sleep(delay)
                health.retry_in_s = None
        finally:
            stop.set()

    async def _in_thread(self, camera_id: int, source: Source, health: Health, stop: threading.Event) -> None:
        """Run one stream session on a daemon thread (a hung read must not keep the process alive)."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()

        def finish(exc: BaseException | None) -> None:
            if done.done():
                return
            if exc is None:
                done.set_result(None)
            else:
                done.set_exception(exc)

        def run() -> None:
            error: BaseException | None = None
            try:
                self._session(camera_id, source, health, stop)
            except BaseException as exc:
                error = exc
            with contextlib.suppress(RuntimeError):  # the loop closed while the read hung
                loop.call_soon_threadsafe(finish, error)

        threading.Thread(target=run, name=f"camera-{camera_id}", daemon=True).start()
        try:
            await done
        except asyncio.CancelledError:
            stop.set()
            raise

    def _session(self, camera_id: int, source: Source, health: Health, stop: threading.Event) -> None:
        keep_every = 1.0 / max(1.0, self.settings.camera_mjpeg_max_fps)
        last_kept = last_disk = last_state = 0.0
        for frame in frames(source, stop):
            now = time.monotonic()
            health.frame_arrived(now)
            if now - last_kept >= keep_every:
                health.keep(to_image(frame), now)
                last_kept = now
            if health.session_frames == 1 or health.status != "online":
                health.status, health.error = "online", ""
                self._call(self._record(camera_id, "online", health, ""))
                last_state = now
            elif now - last_state >= self.settings.camera_state_interval_s:
                self._call(self._record(camera_id, "online", health, ""))
                last_state = now
            if now - last_disk >= self.settings.camera_snapshot_disk_s:
                self._to_disk(camera_id, health)
                last_disk = now

    def _call(self, coro: Any) -> None:
        assert self._loop is not None
        try:
            asyncio.run_coroutine_threadsafe(coro, self._loop)
        except RuntimeError:
            coro.close()

    def _to_disk(self, camera_id: int, health: Health) -> None:
        data = health.jpeg()
        if data is None:
            return
        path = self.snapshot_dir / f"{camera_id}.jpg"
        tmp = path.with_suffix(".tmp")
        try:
            tmp.write_bytes(data)
            tmp.replace(path)
        except OSError:
            log.warning("camera %s: cannot write the snapshot cache %s", camera_id, path, exc_info=True)

    async def _record(self, camera_id: int, status: str, health: Health, reason: str) -> None:
        state = {
            "fps": health.fps,
            "last_frame_at": health.last_frame_at.isoformat() if health.last_frame_at else None,
            "camera_error": reason or None,
        }

        def write() -> None:
            with self.db.session() as s:
                service.set_health(s, camera_id, status, state, reason=reason)

        try:
            await asyncio.to_thread(write)
        except Exception:
            log.exception("camera %s: cannot record %s", camera_id, status)


def lease_name(camera_id: int) -> str:
    return f"camera:{camera_id}"


def cached_snapshot(settings: Settings, camera_id: int) -> Path | None:
    """The on-disk snapshot another process's monitor left, if any."""
    path = settings.data_dir / "cameras" / "snapshots" / f"{camera_id}.jpg"
    return path if path.is_file() else None
