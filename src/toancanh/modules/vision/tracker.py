"""A simple tracker: detections matched to tracks by overlap (IoU), then by centroid distance.

Each track keeps an id, its age (frames since it began), how many frames it has been lost, its bottom-centre
now and one frame before (for zones and lines), a velocity (image widths/heights per second, smoothed) and
its best snapshot: the crop with the largest area times score seen so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from toancanh.modules.vision.detectors import Detection
from toancanh.modules.vision.motion import Box

Point = tuple[float, float]


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def centre(b: Box) -> Point:
    return ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)


def bottom_centre(b: Box) -> Point:
    return ((b[0] + b[2]) / 2, b[3])


@dataclass
class Track:
    id: int
    box: Box
    label: str
    score: float
    first_t: float
    last_t: float
    age: int = 1  # frames since the track began
    hits: int = 1  # frames it was seen
    lost: int = 0  # frames in a row it was not seen
    prev_point: Point | None = None  # bottom-centre one frame before
    velocity: Point = (0.0, 0.0)
    best: np.ndarray | None = field(default=None, repr=False)  # the best crop (BGR)
    best_score: float = 0.0
    best_t: float = 0.0

    @property
    def point(self) -> Point:
        return bottom_centre(self.box)


def crop(image: np.ndarray, box: Box, margin: float = 0.1) -> np.ndarray:
    h, w = image.shape[:2]
    mx, my = (box[2] - box[0]) * margin, (box[3] - box[1]) * margin
    c1, r1 = max(0, int((box[0] - mx) * w)), max(0, int((box[1] - my) * h))
    c2, r2 = min(w, int(np.ceil((box[2] + mx) * w))), min(h, int(np.ceil((box[3] + my) * h)))
    return image[r1:r2, c1:c2].copy()


class Tracker:
    def __init__(self, *, min_iou: float = 0.2, max_jump: float = 0.15, max_lost: int = 5) -> None:
        self.min_iou, self.max_jump, self.max_lost = min_iou, max_jump, max_lost
        self.tracks: dict[int, Track] = {}
        self._next = 1

    def update(self, detections: list[Detection], t: float, image: np.ndarray | None = None) -> list[Track]:
        """Match this frame's detections at video time `t` (seconds); returns the tracks that ended (lost for
        longer than `max_lost` frames). Unmatched detections start new tracks."""
        tracks = list(self.tracks.values())
        pairs: list[tuple[float, int, int]] = []
        for ti, tr in enumerate(tracks):
            for di, d in enumerate(detections):
                if d.label != tr.label:
                    continue
                overlap = iou(tr.box, d.box)
                if overlap >= self.min_iou:
                    pairs.append((2.0 + overlap, ti, di))  # overlap always ranks before distance
                    continue
                (ax, ay), (bx, by) = centre(tr.box), centre(d.box)
                dist = float(np.hypot(ax - bx, ay - by))
                if dist <= self.max_jump * (1 + tr.lost):
                    pairs.append((1.0 - dist, ti, di))
        pairs.sort(reverse=True)
        used_t: set[int] = set()
        used_d: set[int] = set()
        for _, ti, di in pairs:
            if ti in used_t or di in used_d:
                continue
            used_t.add(ti)
            used_d.add(di)
            self._seen(tracks[ti], detections[di], t, image)
        ended: list[Track] = []
        for ti, tr in enumerate(tracks):
            if ti in used_t:
                continue
            tr.lost += 1
            tr.age += 1
            tr.prev_point = tr.point
            if tr.lost > self.max_lost:
                ended.append(self.tracks.pop(tr.id))
        for di, d in enumerate(detections):
            if di not in used_d:
                tr = Track(self._next, d.box, d.label, d.score, t, t)
                self._next += 1
                self._snapshot(tr, d, t, image)
                self.tracks[tr.id] = tr
        return ended

    def _seen(self, tr: Track, d: Detection, t: float, image: np.ndarray | None) -> None:
        before = tr.point
        dt = t - tr.last_t
        tr.prev_point = before
        tr.box, tr.score = d.box, d.score
        tr.age += 1
        tr.hits += 1
        tr.lost = 0
        if dt > 0:
            now = tr.point
            vx, vy = (now[0] - before[0]) / dt, (now[1] - before[1]) / dt
            tr.velocity = (0.5 * tr.velocity[0] + 0.5 * vx, 0.5 * tr.velocity[1] + 0.5 * vy)
        tr.last_t = t
        self._snapshot(tr, d, t, image)

    @staticmethod
    def _snapshot(tr: Track, d: Detection, t: float, image: np.ndarray | None) -> None:
        if image is None:
            return
        quality = (d.box[2] - d.box[0]) * (d.box[3] - d.box[1]) * max(d.score, 1e-3)
        if tr.best is None or quality > tr.best_score:
            tr.best, tr.best_score, tr.best_t = crop(image, d.box), quality, t
