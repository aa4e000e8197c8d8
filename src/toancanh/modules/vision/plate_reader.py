"""Plate reading (nhận dạng biển số, ANPR) with rapidocr's bundled PP-OCR models, offline, on the CPU.

- `split_lines(crop)`: one line or two, decided from the crop (its shape, then the rows of ink: a two-line
  plate has an empty band across its middle); a two-line plate is read line by line, since the recognizer
  reads one line of text at a time.
- `PlateReader.read(crop)`: the raw text (lines joined by "/"), the recognizer's confidence (the lowest of the
  lines) and the normalized plate when the text is a valid Vietnamese plate.
- `PlateReader.find(frame, region)`: without a plate detector model, rapidocr's text detector inside a
  region of the frame (the lanes at an intersection camera's stop line), text boxes stacked one above the
  other merged into one two-line plate.

The recognizer is built lazily and once per reader; `threads=1` keeps one reader on one core, so a worker
runs one reader per core.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from toancanh.modules.cameras.privacy import rapid_ocr
from toancanh.modules.vision.plates import Plate, PlateError, parse_plate

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]
TWO_LINE_MAX_ASPECT = 2.6  # a one-line plate is about 4.7:1, a two-line one about 1.4:1


@dataclass(frozen=True, slots=True)
class PlateText:
    text: str  # raw, lines joined by "/"
    confidence: float
    lines: int
    plate: Plate | None  # None when the text is not a valid plate

    @property
    def valid(self) -> bool:
        return self.plate is not None


def _ink_mask(gray: np.ndarray) -> np.ndarray:
    """Characters as 1, background as 0, whatever the plate's colours (dark on light or light on blue)."""
    _, bw = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    ink = 1 - bw
    h, w = gray.shape[:2]
    centre = ink[
        int(h * 0.2) : int(h * 0.8), int(w * 0.2) : int(w * 0.8)
    ]  # inside the plate: mostly background
    return ink if centre.mean() < 0.5 else bw


def split_lines(crop: np.ndarray) -> list[np.ndarray]:
    """The crop's text lines, top first: [crop] for a one-line plate, [top, bottom] for a two-line one."""
    h, w = crop.shape[:2]
    if h == 0 or w == 0 or w / h > TWO_LINE_MAX_ASPECT:
        return [crop]
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    ink = _ink_mask(gray)
    x0, x1 = int(w * 0.12), int(w * 0.88)  # away from the border's vertical sides
    rows = ink[:, x0:x1].mean(axis=1)
    rows = np.where(rows > 0.85, 0.0, rows)  # the border and what is around the plate, not characters
    rows = np.convolve(rows, np.ones(3) / 3, mode="same")
    lo, hi = int(h * 0.3), int(h * 0.7)
    if hi <= lo:
        return [crop]
    mid = lo + int(np.argmin(rows[lo:hi]))
    peak_top, peak_bottom = rows[:mid].max(initial=0), rows[mid:].max(initial=0)
    if rows[mid] > 0.25 * min(peak_top, peak_bottom) or min(peak_top, peak_bottom) < 0.08:
        return [crop]
    return [crop[:mid], crop[mid:]]


class PlateReader:
    """rapidocr's recognizer (and, for `find`, its detector) with the plate rules on top."""

    def __init__(self, *, threads: int = 1, min_confidence: float = 0.5) -> None:
        self.threads = threads
        self.min_confidence = min_confidence
        self._engine: Any = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Any:
        with self._lock:
            if self._engine is None:
                self._engine = rapid_ocr(self.threads)
            return self._engine

    def recognize(self, line: np.ndarray) -> tuple[str, float]:
        """One line of text and its confidence."""
        result = self.engine(line, use_det=False, use_cls=False, use_rec=True)
        txts, scores = result.txts or (), result.scores or ()
        if not txts:
            return "", 0.0
        return "".join(txts), float(min(scores))

    def read(self, crop: np.ndarray, *, vehicle: str | None = None) -> PlateText:
        lines = split_lines(crop)
        texts, confs = [], []
        for line in lines:
            t, c = self.recognize(_pad(_tight(line)))
            texts.append(t)
            confs.append(c)
        text = "/".join(t for t in texts if t)
        conf = min(confs) if confs else 0.0
        plate: Plate | None
        try:
            plate = parse_plate(text, vehicle=vehicle) if text else None
        except PlateError:
            plate = None
        return PlateText(text, round(conf, 4), len(lines), plate)

    def find(self, frame: np.ndarray, region: Box | None = None) -> list[Box]:
        """Candidate plate boxes (pixels of `frame`) from the text detector inside `region` (fractions)."""
        h, w = frame.shape[:2]
        ox, oy = 0, 0
        view = frame
        if region is not None:
            ox, oy = int(region[0] * w), int(region[1] * h)
            view = frame[oy : int(region[3] * h), ox : int(region[2] * w)]
        result = self.engine(view, use_det=True, use_cls=False, use_rec=False)
        boxes: list[Box] = []
        for quad in result.boxes if result.boxes is not None else []:
            q = np.asarray(quad)
            boxes.append(
                (
                    float(q[:, 0].min()) + ox,
                    float(q[:, 1].min()) + oy,
                    float(q[:, 0].max()) + ox,
                    float(q[:, 1].max()) + oy,
                )
            )
        return merge_stacked(boxes)


def merge_stacked(boxes: list[Box]) -> list[Box]:
    """Merge text boxes stacked one above the other with overlapping columns (the lines of one plate)."""
    boxes = sorted(boxes, key=lambda b: (b[1], b[0]))
    merged: list[Box] = []
    used = [False] * len(boxes)
    for i, a in enumerate(boxes):
        if used[i]:
            continue
        cur = a
        for j in range(i + 1, len(boxes)):
            b = boxes[j]
            if used[j]:
                continue
            overlap = min(cur[2], b[2]) - max(cur[0], b[0])
            width = min(cur[2] - cur[0], b[2] - b[0])
            line_h = cur[3] - cur[1] if cur is a else (a[3] - a[1])
            gap = b[1] - cur[3]
            if width > 0 and overlap > 0.5 * width and -0.3 * line_h <= gap <= 0.8 * line_h:
                cur = (min(cur[0], b[0]), cur[1], max(cur[2], b[2]), b[3])
                used[j] = True
        merged.append(cur)
    return merged


def _tight(line: np.ndarray) -> np.ndarray:
    """The characters of a line without the plate's border and what is around it: more pixels per character
    once the recognizer scales the line to its input height."""
    h, w = line.shape[:2]
    if h < 8 or w < 8:
        return line
    gray = cv2.cvtColor(line, cv2.COLOR_BGR2GRAY) if line.ndim == 3 else line
    ink = _ink_mask(gray)
    rows, cols = ink.mean(axis=1), ink.mean(axis=0)
    text_rows = np.flatnonzero((rows > 0.03) & (rows < 0.85))
    text_cols = np.flatnonzero((cols > 0.03) & (cols < 0.85))
    if len(text_rows) < h * 0.2 or len(text_cols) < w * 0.2:
        return line
    m = max(1, h // 20)
    y0, y1 = max(0, text_rows[0] - m), min(h, text_rows[-1] + 1 + m)
    x0, x1 = max(0, text_cols[0] - m), min(w, text_cols[-1] + 1 + m)
    return line[y0:y1, x0:x1]


def _pad(line: np.ndarray) -> np.ndarray:
    """A margin of the line's own edge colour: the recognizer misses characters that touch the edge."""
    h = line.shape[0]
    m = max(2, h // 6)
    return cv2.copyMakeBorder(line, m, m, m, m, cv2.BORDER_REPLICATE)
