"""The pipelines of this process, one runner per enabled camera (only with `vision_enabled`), and the
shared detectors: cameras whose `onnx` config names the same model use one `DetectorQueue`.

Each camera's pipeline is the work of the lease `vision:<id>` (core.leases): one process runs everything, an
API replica nothing, and a province's workers share the cameras, a dead worker's moving to the others."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from sqlalchemy import select

from toancanh.modules.cameras.service import Camera
from toancanh.modules.vision.detector_queue import DetectorQueue, QueuedDetector
from toancanh.modules.vision.detectors import Detector
from toancanh.modules.vision.pipeline import PipelineRunner
from toancanh.modules.vision.schemas import OnnxDetectorConfig, PipelineConfig
from toancanh.modules.vision.service import runner_for

log = logging.getLogger(__name__)


class SharedDetectors:
    """One detector queue (and thread) per distinct onnx model of this process."""

    def __init__(self) -> None:
        self.queues: dict[str, DetectorQueue] = {}

    def for_camera(self, camera_id: int, config: PipelineConfig) -> Detector | None:
        """The camera's detector through the shared queue of its model; None for `none` and `hog` (cheap,
        per camera)."""
        det = config.detector
        if not isinstance(det, OnnxDetectorConfig):
            return None
        key = det.model_key()
        shared = self.queues.get(key)
        if shared is None:
            from toancanh.modules.vision.onnx_detector import OnnxModel

            shared = DetectorQueue(OnnxModel(det), name=f"detector-{len(self.queues) + 1}").start()
            self.queues[key] = shared
        return QueuedDetector(shared, str(camera_id), det)

    def summary(self) -> list[dict[str, Any]]:
        return [
            {
                "model": q.model.config.model_path.rsplit("/", 1)[-1],
                "providers": list(q.model.providers),
                "running": q.running,
                "batches": q.batches,
                "images": q.images,
                "mean_batch": round(q.mean_batch, 2),
                "skipped_fps": round(q.skipped_fps(), 2),
                "cameras": sorted(q.loads),
            }
            for q in self.queues.values()
        ]

    def stop(self) -> None:
        for q in self.queues.values():
            q.stop()
        self.queues.clear()


class VisionRuntime:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.runners: dict[int, PipelineRunner] = {}
        self.detectors = SharedDetectors()

    def start_camera(self, camera_id: int) -> PipelineRunner | None:
        state = self.app.state
        try:
            runner = runner_for(
                state.db,
                state.blobs,
                state.settings,
                camera_id,
                detector=lambda config: self.detectors.for_camera(camera_id, config),
            )
        except Exception:
            log.exception("vision: camera %s not started", camera_id)
            return None
        runner.start()
        self.runners[camera_id] = runner
        return runner

    def stop_camera(self, camera_id: int) -> None:
        runner = self.runners.pop(camera_id, None)
        if runner is not None:
            runner.stop()

    def enabled_cameras(self) -> list[int]:
        with self.app.state.db.read_session() as s:
            return list(s.scalars(select(Camera.id).where(Camera.enabled.is_(True)).order_by(Camera.id)))

    async def start(self) -> None:
        """Register one lease per enabled camera; the app's lease keeper starts the pipelines it holds."""
        for camera_id in await asyncio.to_thread(self.enabled_cameras):
            self.app.state.leases.add(
                lease_name(camera_id),
                functools.partial(asyncio.to_thread, self.start_camera, camera_id),
                functools.partial(asyncio.to_thread, self.stop_camera, camera_id),
            )

    def stop(self) -> None:
        for camera_id in list(self.runners):
            self.stop_camera(camera_id)
        self.detectors.stop()


def lease_name(camera_id: int) -> str:
    return f"vision:{camera_id}"
