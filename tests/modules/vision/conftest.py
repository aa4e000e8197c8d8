"""Vision test helpers: synthetic clips made with PyAV and numpy (a square moving, stopping, noise)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import av
import numpy as np
import pytest

from toancanh.core.worktime import VN_TZ
from toancanh.modules.vision.pipeline import FrameResult, Pipeline
from toancanh.modules.vision.schemas import PipelineConfig
from toancanh.modules.vision.zones import ScheduleCheck, ZoneSpec
from toancanh.settings import Settings

W, H, FPS = 320, 180, 10
SIDE = 24  # the square's side in pixels
MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=VN_TZ)  # a Monday, a school day


def make_clip(
    path: Path,
    position: Callable[[int], tuple[float, float] | None],
    seconds: float,
    *,
    noise: float = 0.0,
    fps: int = FPS,
    size: tuple[int, int] = (W, H),
    seed: int = 0,
) -> Path:
    """A clip of a still grey background with a bright square whose bottom-centre is at `position(i)`
    (normalised; None: no square), plus Gaussian noise of standard deviation `noise` on every frame."""
    rng = np.random.default_rng(seed)
    w, h = size
    path.parent.mkdir(parents=True, exist_ok=True)
    bg = np.full((h, w, 3), 70, np.uint8)
    bg[: h // 3] = 110  # a horizon, so the picture is not flat
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"qscale": "2"}
        for i in range(int(seconds * fps)):
            img = bg.copy()
            pos = position(i)
            if pos is not None:
                cx, by = int(pos[0] * w), int(pos[1] * h)
                img[max(0, by - SIDE) : by, max(0, cx - SIDE // 2) : cx + SIDE // 2] = (40, 220, 240)
            if noise:
                img = np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def analyse(
    clip: Path,
    zones: list[dict[str, object]] = (),  # type: ignore[assignment]
    *,
    start: datetime = MONDAY_10,
    schedule_active: ScheduleCheck | None = None,
    **config: object,
) -> tuple[Pipeline, list[FrameResult]]:
    """Run a pipeline over the whole clip (by its own timestamps, as fast as it decodes)."""
    specs = [ZoneSpec.of({"id": i + 1, **z}) for i, z in enumerate(zones)]
    pipeline = Pipeline(PipelineConfig.model_validate(config), specs, schedule_active=schedule_active)
    with av.open(str(clip)) as c:
        results = list(pipeline.run(c.decode(video=0), start))
    return pipeline, results


def events(results: list[FrameResult], kind: str | None = None) -> list[object]:
    return [e for r in results for e in r.events if kind is None or e.kind == kind]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No camera health monitor in the app (these tests run their own pipelines); quick reconnects."""
    return settings.model_copy(
        update={"camera_monitor": False, "camera_backoff_initial_s": 0.1, "camera_backoff_max_s": 0.4}
    )
