"""The pipelines of this process, one runner per enabled camera (only with `vision_enabled`)."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from toancanh.modules.cameras.service import Camera
from toancanh.modules.vision.pipeline import PipelineRunner
from toancanh.modules.vision.service import runner_for

log = logging.getLogger(__name__)


class VisionRuntime:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.runners: dict[int, PipelineRunner] = {}

    def start(self) -> None:
        state = self.app.state
        with state.db.session() as s:
            ids = list(s.scalars(select(Camera.id).where(Camera.enabled.is_(True)).order_by(Camera.id)))
        for camera_id in ids:
            try:
                runner = runner_for(state.db, state.blobs, state.settings, camera_id)
            except Exception:
                log.exception("vision: camera %s not started", camera_id)
                continue
            runner.start()
            self.runners[camera_id] = runner

    def stop(self) -> None:
        for runner in self.runners.values():
            runner.stop()
        self.runners.clear()
