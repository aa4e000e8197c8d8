"""Motion first (Frigate's order): where the picture changed, as a few merged boxes.

A grey, blurred frame is compared with a running-average background; the difference is thresholded, cleaned
with morphology (opening removes speckle noise, dilation joins the parts of one moving thing) and cut into
blobs. Masked areas (privacy, swaying trees, a road outside the scene) never count as motion. The background
learns at 1/`history` a frame, so a thing that stops stays visible for a while (with the default 150 frames,
about 50 s at 5 fps for a clear contrast) before it melts into the background; so does the "ghost" of a thing
that was there when the analysis started and then left. When most of the frame changes at once (a cloud,
lamps switched on) the background starts again from the current frame.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from toancanh.modules.vision.schemas import MotionConfig

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in 0..1 of the image


def mask_image(width: int, height: int, masks: Sequence[Sequence[Sequence[float]]]) -> np.ndarray | None:
    """255 where motion counts, 0 inside the mask polygons (normalised points); None without masks."""
    if not masks:
        return None
    img = np.full((height, width), 255, np.uint8)
    scale = np.array([width, height], np.float64)
    polys = [np.round(np.asarray(m, np.float64) * scale).astype(np.int32) for m in masks]
    cv2.fillPoly(img, polys, 0)
    return img


def merge_boxes(boxes: list[Box], gap: float) -> list[Box]:
    """Boxes that overlap or lie within `gap` of each other, merged until none do."""
    out = list(boxes)
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                if a[0] - gap <= b[2] and b[0] - gap <= a[2] and a[1] - gap <= b[3] and b[1] - gap <= a[3]:
                    out[i] = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return out


class MotionDetector:
    def __init__(self, config: MotionConfig, masks: Sequence[Sequence[Sequence[float]]] = ()) -> None:
        self.config = config
        self.masks = [list(m) for m in masks]
        self._bg: np.ndarray | None = None
        self._mask: np.ndarray | None = None
        self._kernel_open = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
        self._kernel_join = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))

    def detect(self, image: np.ndarray) -> list[Box]:
        """Motion boxes of a BGR (or grey) frame, normalised; the first frame only primes the background."""
        h, w = image.shape[:2]
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        grey = cv2.GaussianBlur(grey, (5, 5), 0)
        if self._bg is None or self._bg.shape != grey.shape:
            self._bg = grey.astype(np.float32)
            self._mask = mask_image(w, h, self.masks)
            return []
        diff = cv2.absdiff(grey, cv2.convertScaleAbs(self._bg))
        _, moving = cv2.threshold(diff, self.config.threshold, 255, cv2.THRESH_BINARY)
        if self._mask is not None:
            moving = cv2.bitwise_and(moving, self._mask)
        moving = cv2.morphologyEx(moving, cv2.MORPH_OPEN, self._kernel_open)
        moving = cv2.dilate(moving, self._kernel_join, iterations=2)
        if cv2.countNonZero(moving) > self.config.reset_share * w * h:
            self._bg = grey.astype(np.float32)  # the light changed (a cloud, lamps on): start again
            return []
        cv2.accumulateWeighted(grey, self._bg, 1.0 / self.config.history)
        contours, _ = cv2.findContours(moving, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        min_area = self.config.min_area * w * h
        boxes: list[Box] = []
        for c in contours:
            if cv2.contourArea(c) < min_area:
                continue
            x, y, bw, bh = cv2.boundingRect(c)
            boxes.append((x / w, y / h, (x + bw) / w, (y + bh) / h))
        return merge_boxes(boxes, self.config.merge_gap)
