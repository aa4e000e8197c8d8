"""Video analytics throughput: frames per second per CPU core for decode + motion + tracking (+ zones), at
640x360 and 1280x720, on a clip generated here (mpeg4: a few squares moving over a noisy still scene).

Measured, in frames per second on one thread (so per core):

- ``decode`` (the baseline, same file, same run): PyAV decoding every frame to a picture in the codec's own
  format, nothing else. Any analysis must at least decode, so it is the ceiling.
- ``pipeline``: decode every frame, and for the frames due at the detect rate convert to BGR, downscale to
  640 wide, motion, the `none` detector, tracking and a zone and a line. Reported per decoded frame
  (``pipeline_fps``) as ``ratio_to_decode``, and per analysed frame (``analysed_fps``: analysed frames per
  second of CPU with their share of decoding).
- ``cameras_per_2_cores_at_5fps``: a camera sends ``SOURCE_FPS`` frames a second, all decoded, 5 of which
  are analysed; two cores give ``2 / (SOURCE_FPS / pipeline_fps)`` cameras (decode dominates: lowering the
  substream rate to the detect rate raises it).

``--seconds N`` sets the clip length (default 10 s; the smoke run uses 3).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av
import numpy as np

from bench._common import main, print_table, sig
from toancanh.modules.vision.pipeline import Pipeline
from toancanh.modules.vision.schemas import PipelineConfig
from toancanh.modules.vision.zones import ZoneSpec

NAME = "vision_pipeline"
SOURCE_FPS = 15
DETECT_FPS = 5.0
SIZES = [(640, 360), (1280, 720)]
ROUNDS = 3


def make_clip(path: Path, size: tuple[int, int], seconds: float) -> Path:
    w, h = size
    rng = np.random.default_rng(0)
    bg = rng.integers(40, 120, (h // 8, w // 8, 3), dtype=np.uint8).repeat(8, 0).repeat(8, 1)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=SOURCE_FPS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.bit_rate = w * h * 2
        n = int(seconds * SOURCE_FPS)
        for i in range(n):
            img = np.clip(bg + rng.normal(0, 4, bg.shape), 0, 255).astype(np.uint8)
            for k in range(3):  # three objects walking across at different heights and speeds
                x = int(((i * (k + 1) * 7) % (w + 60)) - 30)
                y = int(h * (0.35 + 0.2 * k))
                img[max(0, y - h // 10) : y, max(0, x) : max(0, x + w // 30)] = (30 + 80 * k, 200, 240)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def decode_only(path: Path) -> tuple[int, float]:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        start = time.process_time()
        n = sum(1 for _ in c.decode(stream))
        return n, time.process_time() - start


def pipeline_run(path: Path) -> tuple[int, int, float]:
    zones = [
        ZoneSpec(1, "zone", "zone", ((0.5, 0.2), (1.0, 0.2), (1.0, 1.0), (0.5, 1.0))),
        ZoneSpec(2, "line", "line", ((0.3, 1.0), (0.3, 0.0)), direction="both"),
    ]
    pipeline = Pipeline(PipelineConfig(detect_fps=DETECT_FPS, detect_width=640), zones)
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        start = time.process_time()
        decoded = 0

        def counted() -> Any:
            nonlocal decoded
            for frame in c.decode(stream):
                decoded += 1
                yield frame

        analysed = sum(1 for _ in pipeline.run(counted(), t0))
        return decoded, analysed, time.process_time() - start


def run(seconds: float = 10.0) -> dict[str, Any]:
    import cv2

    cv2.setNumThreads(1)  # per core: OpenCV's own threads would hide the cost
    figures: dict[str, Any] = {"source_fps": SOURCE_FPS, "detect_fps": DETECT_FPS, "seconds": seconds}
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for w, h in SIZES:
            clip = make_clip(Path(tmp) / f"{w}x{h}.mp4", (w, h), seconds)
            dec = max(n / s for n, s in (decode_only(clip) for _ in range(ROUNDS)))
            best = max((pipeline_run(clip) for _ in range(ROUNDS)), key=lambda r: r[0] / r[2])
            decoded, analysed, cpu = best
            pipe_fps = decoded / cpu
            cams = 2 / (SOURCE_FPS / pipe_fps)
            key = f"{w}x{h}"
            figures[key] = {
                "decode_fps": sig(dec),
                "pipeline_fps": sig(pipe_fps),
                "analysed_fps": sig(analysed / cpu),
                "ratio_to_decode": sig(pipe_fps / dec),
                "cameras_per_2_cores_at_5fps": sig(cams, 3),
            }
            rows += [
                (f"{key} decode only (frames/s/core)", f"{dec:,.0f}"),
                (f"{key} decode+motion+track (frames/s/core)", f"{pipe_fps:,.0f}"),
                (f"{key} analysed frames/s/core", f"{analysed / cpu:,.0f}"),
                (f"{key} ratio to decode", f"{pipe_fps / dec:.2f}"),
                (f"{key} cameras per 2 cores ({SOURCE_FPS} fps in, 5 fps analysed)", f"{cams:,.1f}"),
            ]
    print_table("Video analytics pipeline (CPU, one thread)", rows)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    main(NAME, lambda: run(args.seconds))
