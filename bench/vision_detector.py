"""Detector throughput with a YOLO-shaped ONNX model (built on the fly: strided convolutions and an 84-channel
YOLOv8 head at 320x320, random weights), on the CPU or on a GPU when onnxruntime has one.

- ``bare_batch1`` / ``bare_batch8``: images per second of the model alone (``session.run``), one image a
  call and eight a call: the baseline.
- ``queue``: the same model behind the shared `DetectorQueue`, fed by ``CAMERAS`` camera threads, each
  putting one frame's crop at a time and waiting for the answer (as a pipeline does), with letterboxing
  and decoding included; ``ratio_to_bare`` is its images per second over the bare model's best.
- ``cameras_at_5fps``: the queue's images per second over 5 (one motion crop per analysed frame).

``--seconds N`` sets how long each measure runs (default 2 s).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench._common import main, print_table, sig
from toancanh.modules.vision.detector_queue import DetectorQueue, QueuedDetector
from toancanh.modules.vision.onnx_detector import OnnxModel
from toancanh.modules.vision.schemas import OnnxDetectorConfig
from toancanh.modules.vision.synthetic import conv_model

NAME = "vision_detector"
SIZE = (320, 320)
CAMERAS = 8


def bare(model: OnnxModel, batch: int, seconds: float) -> float:
    inputs = np.random.default_rng(0).random((batch, 3, SIZE[1], SIZE[0]), np.float32)
    model.session.run(None, {model.input_name: inputs})  # warm-up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        model.session.run(None, {model.input_name: inputs})
        n += batch
    return n / (time.perf_counter() - start)


def queued(model: OnnxModel, seconds: float) -> tuple[float, float, float]:
    shared = DetectorQueue(model, max_pending=4 * CAMERAS).start()
    image = np.random.default_rng(1).integers(0, 255, (360, 640, 3), np.uint8)
    region = [(0.4, 0.4, 0.6, 0.7)]
    stop = threading.Event()
    done = [0] * CAMERAS

    def camera(k: int) -> None:
        det = QueuedDetector(shared, str(k))
        while not stop.is_set():
            det.detect(image, region)
            done[k] += 1

    threads = [threading.Thread(target=camera, args=(k,), daemon=True) for k in range(CAMERAS)]
    start = time.perf_counter()
    for th in threads:
        th.start()
    time.sleep(seconds)
    stop.set()
    for th in threads:
        th.join(10)
    elapsed = time.perf_counter() - start
    shared.stop()
    return sum(done) / elapsed, shared.mean_batch, shared.skipped_fps()


def run(seconds: float = 2.0) -> dict[str, Any]:
    import onnxruntime as ort

    gpu = "CUDAExecutionProvider" in ort.get_available_providers()
    providers: list[Any] = ["CUDA", "CPU"] if gpu else ["CPU"]
    with tempfile.TemporaryDirectory() as tmp:
        path = conv_model(Path(tmp) / "yolo_like.onnx", input_size=SIZE)
        config = OnnxDetectorConfig(
            model_path=str(path), input_size=SIZE, providers=providers, min_score=0.9, max_batch=8
        )
        model = OnnxModel(config)
        b1 = bare(model, 1, seconds)
        b8 = bare(model, 8, seconds)
        q, mean_batch, skipped = queued(model, seconds)
    base = max(b1, b8)
    figures = {
        "device": "gpu" if gpu else "cpu",
        "providers": model.providers,
        "input": f"{SIZE[0]}x{SIZE[1]}",
        "bare_batch1_ips": sig(b1),
        "bare_batch8_ips": sig(b8),
        "queue_ips": sig(q),
        "queue_mean_batch": sig(mean_batch),
        "queue_skipped_fps": sig(skipped),
        "ratio_to_bare": sig(q / base),
        "cameras_at_5fps": sig(q / 5, 3),
    }
    rows = [
        ("execution providers", ", ".join(model.providers)),
        ("bare model, batch 1 (images/s)", f"{b1:,.0f}"),
        ("bare model, batch 8 (images/s)", f"{b8:,.0f}"),
        (f"shared queue, {CAMERAS} cameras (images/s)", f"{q:,.0f}"),
        ("queue: mean batch", f"{mean_batch:.1f}"),
        ("queue: ratio to the bare model's best", f"{q / base:.2f}"),
        ("cameras at 5 fps (one crop a frame)", f"{q / 5:,.0f}"),
    ]
    print_table("Detector throughput (YOLO-shaped ONNX model)", rows)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    main(NAME, lambda: run(args.seconds))
