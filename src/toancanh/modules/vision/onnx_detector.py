"""The `onnx` detector: a user-supplied YOLO-style model run with onnxruntime on the motion regions only.

Each motion region becomes a square crop of the (downscaled) frame around it, at least `region_min` pixels
wide so that a small object keeps its context; the crop is letterboxed to the model's input size (scaled
to fit, centred, grey 114 padding, RGB, 0..1, the Ultralytics convention) and all crops of a frame go to
the model as one batch. The output is decoded in either YOLO layout:

- YOLOv8 and later: `(batch, 4 + classes, boxes)`, class scores only;
- YOLOv5/v7: `(batch, boxes, 5 + classes)`, an objectness column times the class score;

boxes as centre x, centre y, width, height in input pixels. They are mapped back through the letterbox and
the crop to the frame, then overlapping boxes of one class (from the same or neighbouring crops) are
suppressed (non-maximum suppression). Labels come from the config, else from the model's `names` metadata
(what an Ultralytics export writes), else `class_<n>`.

Execution providers are tried in the configured order (CUDA, TensorRT, OpenVINO, CPU); those this
onnxruntime build lacks are left out with a log line, and the CPU is always the last resort.
"""

from __future__ import annotations

import ast
import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from toancanh.modules.vision.detectors import Detection, DetectorNotConfigured
from toancanh.modules.vision.motion import Box
from toancanh.modules.vision.schemas import OnnxDetectorConfig

log = logging.getLogger(__name__)

PROVIDERS = {
    "CUDA": "CUDAExecutionProvider",
    "TensorRT": "TensorrtExecutionProvider",
    "OpenVINO": "OpenVINOExecutionProvider",
    "CPU": "CPUExecutionProvider",
}
PAD_GREY = 114


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a model input came from: input pixel = (frame pixel - crop origin) * scale + pad."""

    x0: int  # the crop's origin in the frame (pixels)
    y0: int
    scale: float
    pad_x: float
    pad_y: float
    frame_w: int
    frame_h: int

    def to_frame(self, cx: np.ndarray, cy: np.ndarray, bw: np.ndarray, bh: np.ndarray) -> np.ndarray:
        """YOLO boxes (input pixels) as normalised x1, y1, x2, y2 of the frame, clipped to it."""
        x1 = (cx - bw / 2 - self.pad_x) / self.scale + self.x0
        y1 = (cy - bh / 2 - self.pad_y) / self.scale + self.y0
        x2 = (cx + bw / 2 - self.pad_x) / self.scale + self.x0
        y2 = (cy + bh / 2 - self.pad_y) / self.scale + self.y0
        out = np.stack([x1 / self.frame_w, y1 / self.frame_h, x2 / self.frame_w, y2 / self.frame_h], 1)
        return np.clip(out, 0.0, 1.0)


def letterbox(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float, float, float]:
    """`image` scaled to fit `size` (width, height) keeping its shape, centred on grey; with the scale and
    the left and top padding."""
    w, h = size
    ih, iw = image.shape[:2]
    r = min(w / iw, h / ih)
    nw, nh = max(1, round(iw * r)), max(1, round(ih * r))
    resized = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR if r > 1 else cv2.INTER_AREA)
    left, top = (w - nw) // 2, (h - nh) // 2
    out = np.full((h, w, 3), PAD_GREY, np.uint8)
    out[top : top + nh, left : left + nw] = resized
    return out, r, float(left), float(top)


def square_region(box: Box, w: int, h: int, *, pad: float, min_side: int) -> tuple[int, int, int, int]:
    """A square crop (x1, y1, x2, y2 pixels) around a normalised box grown by `pad`, at least `min_side`,
    shifted to stay inside the frame (and cut to it when the frame is smaller)."""
    x1, y1, x2, y2 = box[0] * w, box[1] * h, box[2] * w, box[3] * h
    side = max(x2 - x1, y2 - y1) * (1 + 2 * pad)
    side = max(side, float(min_side))
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    sw, sh = min(side, w), min(side, h)
    left = int(round(min(max(cx - sw / 2, 0), w - sw)))
    top = int(round(min(max(cy - sh / 2, 0), h - sh)))
    return left, top, left + int(round(sw)), top + int(round(sh))


def nms(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray, iou: float) -> list[int]:
    """Indices kept by per-class non-maximum suppression (boxes normalised x1, y1, x2, y2)."""
    if len(boxes) == 0:
        return []
    # the classes are moved apart so that one pass suppresses only within a class
    shifted = boxes + (classes.astype(np.float32) * 2.0)[:, None]
    order = np.argsort(-scores)
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        xx1 = np.maximum(shifted[i, 0], shifted[rest, 0])
        yy1 = np.maximum(shifted[i, 1], shifted[rest, 1])
        xx2 = np.minimum(shifted[i, 2], shifted[rest, 2])
        yy2 = np.minimum(shifted[i, 3], shifted[rest, 3])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        area_i = (shifted[i, 2] - shifted[i, 0]) * (shifted[i, 3] - shifted[i, 1])
        area_r = (shifted[rest, 2] - shifted[rest, 0]) * (shifted[rest, 3] - shifted[rest, 1])
        overlap = inter / np.maximum(area_i + area_r - inter, 1e-12)
        order = rest[overlap <= iou]
    return keep


def _labels_from_metadata(meta: Any) -> list[str]:
    names = (getattr(meta, "custom_metadata_map", None) or {}).get("names")
    if not names:
        return []
    try:
        parsed = ast.literal_eval(names)
    except (ValueError, SyntaxError):
        return []
    if isinstance(parsed, dict):
        return [str(parsed[k]) for k in sorted(parsed)]
    if isinstance(parsed, list):
        return [str(x) for x in parsed]
    return []


class OnnxModel:
    """An onnxruntime session of a YOLO-style model, with its preprocessing and decoding. `run` is safe to
    call from several threads (onnxruntime sessions are)."""

    def __init__(self, config: OnnxDetectorConfig) -> None:
        if not config.model_path:
            raise DetectorNotConfigured(
                "Bộ nhận dạng onnx chưa được cấu hình: cần đường dẫn tệp mô hình (model_path)",
                "The onnx detector is not configured: a model file (model_path) is required",
            )
        import onnxruntime as ort

        self.config = config
        available = set(ort.get_available_providers())
        wanted = [PROVIDERS[p] for p in config.providers]
        missing = [p for p in wanted if p not in available]
        if missing:
            log.warning("onnx: execution providers not in this onnxruntime build: %s", ", ".join(missing))
        providers = [p for p in wanted if p in available] or ["CPUExecutionProvider"]
        options = ort.SessionOptions()
        if config.threads:
            options.intra_op_num_threads = config.threads
        try:
            self.session = ort.InferenceSession(config.model_path, options, providers=providers)
        except Exception as exc:  # onnxruntime raises its own exception types for a missing or bad file
            raise DetectorNotConfigured(
                f"Không mở được mô hình onnx {config.model_path}: {exc.__class__.__name__}",
                f"Cannot load the onnx model {config.model_path}: {exc}",
            ) from exc
        self.providers = self.session.get_providers()
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        batch = inp.shape[0] if inp.shape else None
        self.max_batch = batch if isinstance(batch, int) and batch > 0 else config.max_batch
        self.labels = list(config.labels) or _labels_from_metadata(self.session.get_modelmeta())

    def label(self, k: int) -> str:
        return self.labels[k] if k < len(self.labels) else f"class_{k}"

    def prepare(self, image: np.ndarray, crop: tuple[int, int, int, int]) -> tuple[np.ndarray, Placement]:
        """One model input (without the batch axis) from a crop of a BGR frame, and where it came from."""
        x1, y1, x2, y2 = crop
        boxed, r, left, top = letterbox(image[y1:y2, x1:x2], self.config.input_size)
        rgb = cv2.cvtColor(boxed, cv2.COLOR_BGR2RGB).astype(np.float32) * (1.0 / 255.0)
        tensor = rgb.transpose(2, 0, 1) if self.config.layout == "nchw" else rgb
        h, w = image.shape[:2]
        return np.ascontiguousarray(tensor), Placement(x1, y1, r, left, top, w, h)

    def run(self, inputs: np.ndarray) -> np.ndarray:
        """Raw model output of a batch, in pieces of at most `max_batch`."""
        parts = []
        for i in range(0, len(inputs), self.max_batch):
            out = self.session.run(None, {self.input_name: inputs[i : i + self.max_batch]})[0]
            parts.append(np.asarray(out, np.float32))
        return np.concatenate(parts) if len(parts) > 1 else parts[0]

    def _layout(self, out: np.ndarray) -> str:
        fmt = self.config.output
        if fmt != "auto":
            return fmt
        a, b = out.shape[-2], out.shape[-1]
        if self.labels:
            nc = len(self.labels)
            if a == 4 + nc:
                return "yolov8"
            if b == 5 + nc:
                return "yolov5"
        return "yolov8" if a < b else "yolov5"

    def decode(
        self, out: np.ndarray, placement: Placement, min_score: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One image's raw output as frame boxes, scores and class indices of at least `min_score`."""
        if self._layout(out[None]) == "yolov8":
            pred = out.T  # (boxes, 4 + classes)
            cls_scores = pred[:, 4:]
        else:
            pred = out
            cls_scores = pred[:, 5:] * pred[:, 4:5]
        if cls_scores.shape[1] == 0:
            empty = np.zeros((0,), np.float32)
            return np.zeros((0, 4), np.float32), empty, empty.astype(np.int64)
        classes = np.argmax(cls_scores, axis=1)
        scores = cls_scores[np.arange(len(classes)), classes]
        keep = scores >= min_score
        pred, scores, classes = pred[keep], scores[keep], classes[keep]
        boxes = placement.to_frame(pred[:, 0], pred[:, 1], pred[:, 2], pred[:, 3])
        return boxes, scores, classes

    def detections(
        self, outputs: np.ndarray, placements: list[Placement], config: OnnxDetectorConfig | None = None
    ) -> list[Detection]:
        """All crops' outputs as the frame's detections, overlaps suppressed, by the thresholds of `config`
        (a camera's; the model's own by default)."""
        config = config or self.config
        parts = [self.decode(o, p, config.min_score) for o, p in zip(outputs, placements, strict=True)]
        if not parts:
            return []
        boxes = np.concatenate([p[0] for p in parts])
        scores = np.concatenate([p[1] for p in parts])
        classes = np.concatenate([p[2] for p in parts])
        valid = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        boxes, scores, classes = boxes[valid], scores[valid], classes[valid]
        out = []
        for i in nms(boxes, scores, classes, config.iou_threshold):
            b = boxes[i]
            out.append(
                Detection(
                    (float(b[0]), float(b[1]), float(b[2]), float(b[3])),
                    self.label(int(classes[i])),
                    float(scores[i]),
                )
            )
        return out

    def crops(
        self, image: np.ndarray, regions: list[Box], config: OnnxDetectorConfig | None = None
    ) -> list[tuple[int, int, int, int]]:
        """The distinct square crops (pixels) around the motion regions."""
        config = config or self.config
        h, w = image.shape[:2]
        min_side = config.region_min or min(self.config.input_size)
        seen: list[tuple[int, int, int, int]] = []
        for r in regions:
            c = square_region(r, w, h, pad=config.region_pad, min_side=min_side)
            if c not in seen and c[2] > c[0] and c[3] > c[1]:
                seen.append(c)
        return seen


class OnnxDetector:
    """`onnx` run in the caller's thread: the frame's motion regions as one batch."""

    def __init__(self, model: OnnxModel) -> None:
        self.model = model

    def detect(self, image: np.ndarray, regions: list[Box]) -> list[Detection]:
        crops = self.model.crops(image, regions)
        if not crops:
            return []
        prepared = [self.model.prepare(image, c) for c in crops]
        outputs = self.model.run(np.stack([t for t, _ in prepared]))
        return self.model.detections(outputs, [p for _, p in prepared])
