"""The analysis pipeline of one camera: sample at the detect rate, downscale, motion, detector on the motion
regions, tracking, zones; and `PipelineRunner`, which runs it on a live source in threads.

Frames arrive at the camera's rate (often 15-25 fps) and are all decoded (a video codec needs every frame),
but only those due at the detect rate are converted to pixels and analysed; the rest are dropped at once.
The runner's reader never waits for the analysis: it keeps only the latest due frame in a one-frame slot,
so a slow analysis skips frames (counted) instead of buffering without end.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import cv2
import numpy as np

from toancanh.modules.cameras import service as cameras
from toancanh.modules.cameras.service import Source
from toancanh.modules.vision.clips import ClipRecorder
from toancanh.modules.vision.detectors import Detector, DetectorBusy, build_detector
from toancanh.modules.vision.motion import Box, MotionDetector
from toancanh.modules.vision.schemas import PipelineConfig
from toancanh.modules.vision.tracker import Track, Tracker
from toancanh.modules.vision.zones import ScheduleCheck, ZoneEvent, ZoneLogic, ZoneSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VisionEvent:
    """A zone event with when it happened (the frame's time) and the track's best snapshot (BGR crop)."""

    kind: str  # enter | leave | loitering | line_crossing
    zone: ZoneSpec
    track_id: int
    label: str
    at: datetime
    t: float
    snapshot: np.ndarray | None
    direction: str | None = None
    seconds: float | None = None


@dataclass
class FrameResult:
    motion: list[Box]
    tracks: list[Track]
    events: list[VisionEvent]
    skipped: bool = False  # the shared detector was overloaded: this frame was not analysed further


class FrameSampler:
    """Which frames to analyse at `fps`, by their timestamps (video time, not the wall clock)."""

    def __init__(self, fps: float) -> None:
        self.interval = 1.0 / fps
        self._next: float | None = None

    def due(self, t: float) -> bool:
        if self._next is not None and t < self._next - 1e-6:
            return False
        nxt = (self._next if self._next is not None else t) + self.interval
        self._next = nxt if nxt > t else t + self.interval  # after a gap, start again from now
        return True


def downscale(image: np.ndarray, width: int) -> np.ndarray:
    h, w = image.shape[:2]
    if w <= width:
        return image
    return cv2.resize(image, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)


class Pipeline:
    def __init__(
        self,
        config: PipelineConfig,
        zones: Sequence[ZoneSpec] = (),
        *,
        schedule_active: ScheduleCheck | None = None,
        detector: Detector | None = None,
    ) -> None:
        self.config = config
        self.sampler = FrameSampler(config.detect_fps)
        self.motion = MotionDetector(config.motion, [z.points for z in zones if z.kind == "mask"])
        self.detector = detector if detector is not None else build_detector(config.detector)
        self.tracker = Tracker(min_iou=config.min_iou, max_jump=config.max_jump, max_lost=config.max_lost)
        self.zones = ZoneLogic(
            zones,
            inertia=config.inertia,
            loiter_s=config.loiter_s,
            min_hits=config.min_hits,
            schedule_active=schedule_active,
        )
        self.frames = 0
        self.detector_skipped = 0

    def process(self, image: np.ndarray, t: float, at: datetime) -> FrameResult:
        """Analyse one (due) BGR frame taken at video time `t` seconds, wall time `at`."""
        self.frames += 1
        small = downscale(image, self.config.detect_width)
        motion = self.motion.detect(small)
        try:
            detections = self.detector.detect(small, motion) if motion else []
        except DetectorBusy:
            # the tracker and zones do not see this frame at all: an object is not "lost" for it
            self.detector_skipped += 1
            return FrameResult(motion, [copy.copy(tr) for tr in self.tracker.tracks.values()], [], True)
        ended = self.tracker.update(detections, t, image)
        tracks = [copy.copy(tr) for tr in self.tracker.tracks.values()]  # as they are at this frame
        events = [self._event(e, at) for e in self.zones.update(tracks, ended, t, at)]
        return FrameResult(motion, tracks, events)

    @staticmethod
    def _event(e: ZoneEvent, at: datetime) -> VisionEvent:
        return VisionEvent(
            e.kind, e.zone, e.track.id, e.track.label, at, e.t, e.track.best, e.direction, e.seconds
        )

    def run(self, frames: Iterable[Any], start: datetime) -> Iterable[FrameResult]:
        """Analyse decoded PyAV frames of a recording: due frames by their own timestamps, `start` being the
        wall time of the recording's time 0."""
        n = 0
        for frame in frames:
            t = float(frame.time) if frame.time is not None else n / self.config.detect_fps
            n += 1
            if not self.sampler.due(t):
                continue
            yield self.process(cameras.to_image(frame), t, start + timedelta(seconds=t))


@dataclass
class RunnerStats:
    decoded: int = 0
    analysed: int = 0
    skipped: int = 0  # due frames dropped because the analysis was still busy
    events: int = 0
    errors: int = 0
    last_error: str = ""
    started_at: float = field(default_factory=time.monotonic)


class PipelineRunner:
    """Runs a pipeline on a live source until stopped: a reader thread decodes and samples, an analysis
    thread processes the latest due frame and hands events to `sink` (which records them). A lost stream
    is opened again after a back-off."""

    def __init__(
        self,
        source: Source,
        pipeline: Pipeline,
        sink: Callable[[list[VisionEvent]], None],
        *,
        name: str = "vision",
        backoff_s: float = 2.0,
        backoff_max_s: float = 60.0,
        clock: Callable[[], datetime] | None = None,
        clips: ClipRecorder | None = None,
        clip_source: Source | None = None,
    ) -> None:
        self.source, self.pipeline, self.sink, self.clips = source, pipeline, sink, clips
        # the stream the evidence clips are cut from: the main stream (full resolution), read apart and
        # only demuxed; None: the analysed substream's own packets
        self.clip_source = clip_source if clips is not None else None
        self._t0 = time.monotonic()
        self.name, self.backoff_s, self.backoff_max_s = name, backoff_s, backoff_max_s
        self.clock = clock or (lambda: datetime.now().astimezone())
        self.stats = RunnerStats()
        self._stop = threading.Event()
        self._ready = threading.Condition()
        self._slot: tuple[np.ndarray, float, datetime] | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._t0 = time.monotonic()  # the clock of event times and clip packets alike
        self._threads = [
            threading.Thread(target=self._read, name=f"{self.name}-read", daemon=True),
            threading.Thread(target=self._analyse, name=f"{self.name}-analyse", daemon=True),
        ]
        if self.clip_source is not None:
            self._threads.append(threading.Thread(target=self._record, name=f"{self.name}-main", daemon=True))
        for th in self._threads:
            th.start()
        if self.clips is not None:
            self.clips.start(f"{self.name}-clips")

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        with self._ready:
            self._ready.notify_all()
        for th in self._threads:
            th.join(timeout)
        if self.clips is not None:
            self.clips.poll(float("inf"))  # the clips still waiting: cut with what the ring holds
            self.clips.stop(timeout)

    @property
    def running(self) -> bool:
        return any(th.is_alive() for th in self._threads)

    def _read(self) -> None:
        backoff = self.backoff_s
        t0 = self._t0
        sampler = FrameSampler(self.pipeline.config.detect_fps)
        clips = self.clips if self.clip_source is None else None
        hook = (lambda p, st: clips.on_packet(p, st, time.monotonic() - t0)) if clips is not None else None
        while not self._stop.is_set():
            try:
                for frame in cameras.frames(self.source, self._stop, hook):
                    self.stats.decoded += 1
                    t = time.monotonic() - t0
                    if not sampler.due(t):
                        continue
                    item = (cameras.to_image(frame), t, self.clock())
                    with self._ready:
                        if self._slot is not None:
                            self.stats.skipped += 1
                        self._slot = item
                        self._ready.notify()
                    backoff = self.backoff_s
            except cameras.StreamError as exc:
                self.stats.errors += 1
                self.stats.last_error = str(exc)
                log.info("%s: stream lost (%s), again in %.1f s", self.name, exc, backoff)
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, self.backoff_max_s)

    def _record(self) -> None:
        """Feed the main stream's packets to the clip ring; a lost main stream is opened again after a
        back-off (the analysis of the substream goes on meanwhile)."""
        assert self.clips is not None and self.clip_source is not None
        backoff = self.backoff_s
        while not self._stop.is_set():
            try:
                for packet, stream in cameras.packets(self.clip_source, self._stop):
                    self.clips.on_packet(packet, stream, time.monotonic() - self._t0)
                    backoff = self.backoff_s
            except cameras.StreamError as exc:
                self.stats.errors += 1
                self.stats.last_error = f"main stream: {exc}"
                log.info("%s: main stream lost (%s), again in %.1f s", self.name, exc, backoff)
            if self._stop.wait(backoff):
                return
            backoff = min(backoff * 2, self.backoff_max_s)

    def _analyse(self) -> None:
        while True:
            with self._ready:
                while self._slot is None and not self._stop.is_set():
                    self._ready.wait(0.5)
                if self._stop.is_set():
                    return
                item, self._slot = self._slot, None
            if item is None:
                continue
            image, t, at = item
            try:
                result = self.pipeline.process(image, t, at)
                self.stats.analysed += 1
                if result.events:
                    self.sink(result.events)
                    self.stats.events += len(result.events)  # counted once recorded
                    if self.clips is not None:
                        for event in result.events:
                            self.clips.request(event, event.t)
            except Exception as exc:  # one bad frame or a failed write must not end the camera's analysis
                self.stats.errors += 1
                self.stats.last_error = str(exc)
                log.exception("%s: analysing a frame", self.name)
