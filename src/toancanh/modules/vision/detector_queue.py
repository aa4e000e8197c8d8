"""One detector for many cameras (Frigate's shape): every camera's pipeline puts its frame's crops on one
queue; one detector thread takes what is waiting (up to the model's batch, waiting a few milliseconds for
more to fill it), runs the model once for all of them and hands each camera its part back.

The detector is a thread, not a process: onnxruntime runs the model outside Python's GIL on its own
threads (CPU) or on the GPU, so the Python work left per batch (stacking, splitting) is small; one process
per GPU is then the worker process itself (`toancanh worker`).

When the detector cannot keep up, the queue does not grow without end: a camera whose crops would push the
waiting work past `max_pending` gets `DetectorBusy` at once, the pipeline skips that frame, and the
"skipped fps" figure (skipped frames per second over the last `window_s` seconds, per camera and in all)
says how overloaded the detector is.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

import numpy as np

from toancanh.modules.vision.detectors import Detection, DetectorBusy
from toancanh.modules.vision.motion import Box
from toancanh.modules.vision.onnx_detector import OnnxModel
from toancanh.modules.vision.schemas import OnnxDetectorConfig

log = logging.getLogger(__name__)


@dataclass
class _Request:
    key: str
    inputs: np.ndarray  # (crops, ...) model inputs
    future: Future[np.ndarray]


@dataclass
class CameraLoad:
    """One camera's use of the detector."""

    frames: int = 0
    crops: int = 0
    skipped: int = 0
    skipped_at: deque[float] = field(default_factory=lambda: deque(maxlen=10_000), repr=False)


class DetectorQueue:
    def __init__(
        self,
        model: OnnxModel,
        *,
        max_pending: int = 64,
        max_wait_s: float = 0.004,
        window_s: float = 10.0,
        name: str = "detector",
    ) -> None:
        self.model = model
        self.max_pending, self.max_wait_s, self.window_s, self.name = max_pending, max_wait_s, window_s, name
        self.loads: dict[str, CameraLoad] = {}
        self.batches = 0
        self.images = 0
        self.busy_s = 0.0
        self._queue: queue.Queue[_Request] = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> DetectorQueue:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        while True:  # whoever still waits is told at once
            try:
                req = self._queue.get_nowait()
            except queue.Empty:
                break
            req.future.set_exception(DetectorBusy("the detector stopped"))

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def submit(self, key: str, inputs: np.ndarray) -> Future[np.ndarray]:
        """Queue one frame's crops of camera `key`; DetectorBusy (the frame counted as skipped) when the
        waiting work is already at `max_pending` crops."""
        n = len(inputs)
        with self._lock:
            load = self.loads.setdefault(key, CameraLoad())
            if self._stop.is_set() or (self._pending and self._pending + n > self.max_pending):
                load.skipped += 1
                load.skipped_at.append(time.monotonic())
                raise DetectorBusy(f"{self._pending} crops waiting")
            self._pending += n
            load.frames += 1
            load.crops += n
        future: Future[np.ndarray] = Future()
        self._queue.put(_Request(key, inputs, future))
        return future

    def skipped_fps(self, key: str | None = None, now: float | None = None) -> float:
        """Frames skipped per second over the last `window_s` seconds, for one camera or all."""
        now = time.monotonic() if now is None else now
        since = now - self.window_s
        with self._lock:
            loads = [self.loads[key]] if key in self.loads else [] if key else list(self.loads.values())
            n = sum(sum(1 for t in load.skipped_at if t >= since) for load in loads)
        return n / self.window_s

    @property
    def mean_batch(self) -> float:
        return self.images / self.batches if self.batches else 0.0

    def _take(self) -> list[_Request]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch, n = [first], len(first.inputs)
        deadline = time.monotonic() + self.max_wait_s
        while n < self.model.max_batch:
            wait = deadline - time.monotonic()
            try:
                req = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            batch.append(req)
            n += len(req.inputs)
        return batch

    def _loop(self) -> None:
        while not self._stop.is_set():
            batch = self._take()
            if not batch:
                continue
            started = time.perf_counter()
            try:
                outputs = self.model.run(np.concatenate([r.inputs for r in batch]))
            except Exception as exc:  # a failing model must fail the frames, not the thread
                log.exception("%s: model run failed", self.name)
                for r in batch:
                    r.future.set_exception(exc)
            else:
                i = 0
                for r in batch:
                    r.future.set_result(outputs[i : i + len(r.inputs)])
                    i += len(r.inputs)
            finally:
                self.busy_s += time.perf_counter() - started
                self.batches += 1
                self.images += sum(len(r.inputs) for r in batch)
                with self._lock:
                    self._pending -= sum(len(r.inputs) for r in batch)


class QueuedDetector:
    """A camera's `onnx` detector through the shared queue: same answers as `OnnxDetector`."""

    def __init__(
        self,
        shared: DetectorQueue,
        key: str,
        config: OnnxDetectorConfig | None = None,
        *,
        timeout_s: float = 10.0,
    ) -> None:
        self.shared, self.key, self.timeout_s = shared, key, timeout_s
        self.config = config or shared.model.config  # this camera's thresholds and regions

    def detect(self, image: np.ndarray, regions: list[Box]) -> list[Detection]:
        model = self.shared.model
        crops = model.crops(image, regions, self.config)
        if not crops:
            return []
        prepared = [model.prepare(image, c) for c in crops]
        future = self.shared.submit(self.key, np.stack([t for t, _ in prepared]))
        try:
            outputs = future.result(self.timeout_s)
        except FutureTimeout as exc:
            raise DetectorBusy(f"no answer in {self.timeout_s} s") from exc
        return model.detections(outputs, [p for _, p in prepared], self.config)
