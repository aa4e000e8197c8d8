"""Privacy in camera views (che khuôn mặt và biển số): faces and plates blurred for whoever lacks the
permission `cameras.unblurred` (Nghị định 13/2023/NĐ-CP on personal data; DESIGN.md "Privacy by default").

Faces: OpenCV's bundled Haar cascades (frontal and profile; no weights fetched). Plates: rapidocr's bundled
text detector: every text region is covered, which takes plates whatever their layout, and shop signs too
(cheaper to over-blur than to miss a plate). A region is pixelated and then smoothed, so the result cannot be
sharpened back. A view refreshed every few seconds repeats its images: results are kept for the last images.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

import cv2
import numpy as np

from toancanh.modules.cameras.stream import encode_jpeg

UNBLURRED = "cameras.unblurred"
Box = tuple[int, int, int, int]
_CASCADES = ("haarcascade_frontalface_default.xml", "haarcascade_profileface.xml")
_CACHE = 256


def rapid_ocr(threads: int = 1) -> Any:
    """rapidocr's engine (PP-OCR ONNX models it ships) on `threads` cores, quiet."""
    from rapidocr import RapidOCR

    return RapidOCR(
        params={
            "Global.log_level": "error",
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
    )


class PrivacyFilter:
    """Finds faces and text in an image and blurs them; one per process, thread-safe."""

    def __init__(self, *, threads: int = 1) -> None:
        self.threads = threads
        self._lock = threading.Lock()
        self._cascades: list[Any] | None = None
        self._ocr: Any = None
        self._cache: OrderedDict[bytes, bytes] = OrderedDict()

    def _models(self) -> tuple[list[Any], Any]:
        with self._lock:
            if self._cascades is None:
                self._cascades = [cv2.CascadeClassifier(cv2.data.haarcascades + n) for n in _CASCADES]
                self._ocr = rapid_ocr(self.threads)
            return self._cascades, self._ocr

    def regions(self, image: np.ndarray) -> list[tuple[Box, int]]:
        """Faces and text regions in pixels, with a margin, each with the blocks across its shorter side
        that hide it: four for a face, one for a line of text (a block as tall as the characters)."""
        cascades, ocr = self._models()
        h, w = image.shape[:2]
        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
        found: list[tuple[float, float, float, float, int]] = []
        side = max(20, min(h, w) // 40)
        for cascade in cascades:
            for x, y, fw, fh in cascade.detectMultiScale(gray, 1.1, 3, minSize=(side, side)):
                found.append((x, y, x + fw, y + fh, 4))
        result = ocr(image, use_det=True, use_cls=False, use_rec=False)
        for quad in result.boxes if result.boxes is not None else []:
            q = np.asarray(quad)
            found.append((q[:, 0].min(), q[:, 1].min(), q[:, 0].max(), q[:, 1].max(), 1))
        out: list[tuple[Box, int]] = []
        for x0, y0, x1, y1, blocks in found:
            mx, my = (x1 - x0) * 0.15, (y1 - y0) * 0.15
            box = (max(0, int(x0 - mx)), max(0, int(y0 - my)), min(w, int(x1 + mx)), min(h, int(y1 + my)))
            if box[2] > box[0] and box[3] > box[1]:
                out.append((box, blocks))
        return out

    def blur(self, image: np.ndarray) -> np.ndarray:
        """A copy of `image` with every face and text region pixelated and smoothed."""
        out = image.copy()
        for (x0, y0, x1, y1), blocks in self.regions(image):
            patch = out[y0:y1, x0:x1]
            ph, pw = patch.shape[:2]
            scale = blocks / min(pw, ph)
            small = cv2.resize(
                patch, (max(1, round(pw * scale)), max(1, round(ph * scale))), interpolation=cv2.INTER_AREA
            )
            coarse = cv2.resize(small, (pw, ph), interpolation=cv2.INTER_NEAREST)
            k = max(3, (min(pw, ph) // blocks // 2) | 1)
            out[y0:y1, x0:x1] = cv2.GaussianBlur(coarse, (k, k), 0)
        return out

    def blur_jpeg(self, data: bytes) -> bytes:
        """The JPEG `data` with faces and plates blurred (kept for the last images seen)."""
        key = hashlib.blake2b(data, digest_size=16).digest()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError("not a JPEG image")
        blurred = encode_jpeg(self.blur(image))
        with self._lock:
            self._cache[key] = blurred
            while len(self._cache) > _CACHE:
                self._cache.popitem(last=False)
        return blurred
