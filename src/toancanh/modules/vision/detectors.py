"""Detector plugins, chosen by the `type` of a camera's detector config; each looks only at motion regions.

- `none`: motion only, every motion box is an `object`.
- `hog`: OpenCV's built-in HOG + linear SVM people detector (no weights to download), run on each motion
  region grown by a margin and scaled up to the detector's 64x128 window when small.
- `onnx`: a user-supplied YOLO-style model with onnxruntime (`onnx_detector`); cameras using the same model
  share one `DetectorQueue` (`detector_queue`) that batches their crops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

from toancanh.modules.vision.motion import Box
from toancanh.modules.vision.schemas import (
    DetectorConfig,
    HogDetectorConfig,
    NoneDetectorConfig,
)


class DetectorBusy(Exception):
    """The shared detector is overloaded: this frame is skipped (and counted) instead of waiting."""


class DetectorNotConfigured(Exception):
    """The detector cannot run as configured (a missing model, a plugin not available yet)."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi, self.en = vi, en


@dataclass(frozen=True, slots=True)
class Detection:
    box: Box  # normalised x1, y1, x2, y2
    label: str
    score: float


class Detector(Protocol):
    def detect(self, image: np.ndarray, regions: list[Box]) -> list[Detection]: ...


class MotionOnly:
    """`none`: the motion boxes themselves, labelled `object`."""

    def detect(self, image: np.ndarray, regions: list[Box]) -> list[Detection]:
        return [Detection(r, "object", 1.0) for r in regions]


def _grow(box: Box, pad: float) -> Box:
    x1, y1, x2, y2 = box
    px, py = (x2 - x1) * pad + 0.01, (y2 - y1) * pad + 0.01
    return (max(0.0, x1 - px), max(0.0, y1 - py), min(1.0, x2 + px), min(1.0, y2 + py))


class HogPeople:
    """`hog`: people, from OpenCV's default HOG people detector, on motion regions only."""

    def __init__(self, config: HogDetectorConfig, pad: float = 0.25) -> None:
        self.config = config
        self.pad = pad
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())  # type: ignore[attr-defined]

    def detect(self, image: np.ndarray, regions: list[Box]) -> list[Detection]:
        h, w = image.shape[:2]
        out: list[Detection] = []
        for region in regions:
            x1, y1, x2, y2 = _grow(region, self.pad)
            c1, r1, c2, r2 = int(x1 * w), int(y1 * h), int(np.ceil(x2 * w)), int(np.ceil(y2 * h))
            crop = image[r1:r2, c1:c2]
            if crop.shape[0] < 8 or crop.shape[1] < 8:
                continue
            scale = max(1.0, self.config.min_height_px * 128 / 96 / crop.shape[0], 64 / crop.shape[1])
            if scale > 1.0:
                crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
            if crop.shape[0] < 128 or crop.shape[1] < 64:
                pad_y, pad_x = max(0, 128 - crop.shape[0]), max(0, 64 - crop.shape[1])
                crop = cv2.copyMakeBorder(crop, 0, pad_y, 0, pad_x, cv2.BORDER_REPLICATE)
            rects, weights = self.hog.detectMultiScale(crop, winStride=(8, 8), padding=(8, 8), scale=1.05)
            for (rx, ry, rw, rh), score in zip(rects, np.ravel(weights), strict=False):
                if float(score) < self.config.min_score:
                    continue
                bx1, by1 = c1 + rx / scale, r1 + ry / scale
                bx2, by2 = bx1 + rw / scale, by1 + rh / scale
                out.append(
                    Detection(
                        (bx1 / w, by1 / h, min(1.0, bx2 / w), min(1.0, by2 / h)), "person", float(score)
                    )
                )
        return out


def build_detector(config: DetectorConfig) -> Detector:
    if isinstance(config, NoneDetectorConfig):
        return MotionOnly()
    if isinstance(config, HogDetectorConfig):
        return HogPeople(config)
    from toancanh.modules.vision.onnx_detector import OnnxDetector, OnnxModel

    return OnnxDetector(OnnxModel(config))
