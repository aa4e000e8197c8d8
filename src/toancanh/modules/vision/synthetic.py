"""Tiny YOLO-shaped ONNX models built on the fly with `onnx.helper`: no weights are ever downloaded, yet
tests, benches and the demo can run the `onnx` detector end to end.

- `fixed_boxes_model`: emits the given boxes (centre x, centre y, width, height in input pixels) with the
  given class scores for every image of a batch, in YOLOv8 layout `(batch, 4 + classes, boxes)` or YOLOv5
  layout `(batch, boxes, 5 + classes)` with an objectness column (`output`). With `gate_on_brightness`
  every score is multiplied by the image's mean brightness (0..1), so a dark region gives nothing: proof
  that the model ran on the pixels it was given.
- `conv_model`: a few strided convolutions ending in a YOLOv8-shaped head, about the cost per pixel of a
  very small real detector; the bench's throughput model.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _save(model: object, path: Path) -> Path:
    import onnx

    onnx.checker.check_model(model)  # type: ignore[arg-type]
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))  # type: ignore[arg-type]
    return path


def fixed_boxes_model(
    path: Path,
    boxes: Sequence[Sequence[float]],
    scores: Sequence[Sequence[float]],
    *,
    input_size: tuple[int, int] = (64, 64),
    output: str = "yolov8",
    objectness: Sequence[float] | None = None,
    gate_on_brightness: bool = False,
    labels: Sequence[str] = (),
    fixed_batch: int | None = None,
) -> Path:
    """A model whose output is `boxes` with per-class `scores` (one row per box), for every image."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w, h = input_size
    n = len(boxes)
    cols = [list(b) + list(s) for b, s in zip(boxes, scores, strict=True)]
    if output == "yolov5":
        obj = list(objectness) if objectness is not None else [1.0] * n
        cols = [c[:4] + [o] + c[4:] for c, o in zip(cols, obj, strict=True)]
    table = np.asarray(cols, np.float32)  # (boxes, channels)
    const = table.T[None] if output == "yolov8" else table[None]  # (1, C, N) or (1, N, C)
    # score channels get multiplied by the gate, box channels by one
    gate_mask = np.zeros_like(const)
    first_score = 4
    if output == "yolov8":
        gate_mask[:, first_score:, :] = 1.0
    else:
        gate_mask[:, :, first_score:] = 1.0
    batch: int | str = fixed_batch if fixed_batch is not None else "batch"
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [batch, 3, h, w])
    out_shape = [batch, *const.shape[1:]]
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, out_shape)
    inits = [
        numpy_helper.from_array(const, "boxes"),
        numpy_helper.from_array(np.array([-1, 1, 1], np.int64), "shape3"),
    ]
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean4"], axes=[1, 2, 3], keepdims=1),  # (N, 1, 1, 1)
        helper.make_node("Reshape", ["mean4", "shape3"], ["mean"]),  # (N, 1, 1)
    ]
    if gate_on_brightness:
        # factor = 1 + gate_mask * (mean - 1): boxes kept as they are, scores times the brightness
        inits += [
            numpy_helper.from_array(gate_mask, "gate_mask"),
            numpy_helper.from_array(np.ones_like(const), "ones"),
            numpy_helper.from_array(np.array([1.0], np.float32), "one"),
        ]
        nodes += [
            helper.make_node("Sub", ["mean", "one"], ["m1"]),
            helper.make_node("Mul", ["gate_mask", "m1"], ["gm"]),
            helper.make_node("Add", ["ones", "gm"], ["factor"]),
            helper.make_node("Mul", ["boxes", "factor"], ["output0"]),
        ]
    else:
        inits.append(numpy_helper.from_array(np.array([0.0], np.float32), "zero"))
        nodes += [
            helper.make_node("Mul", ["mean", "zero"], ["z"]),  # (N, 1, 1) of zeros: the batch dimension
            helper.make_node("Add", ["boxes", "z"], ["output0"]),
        ]
    graph = helper.make_graph(nodes, "fixed_boxes", [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if labels:
        names = "{" + ", ".join(f"{i}: {name!r}" for i, name in enumerate(labels)) + "}"
        onnx.helper.set_model_props(model, {"names": names})
    return _save(model, path)


def conv_model(
    path: Path, *, input_size: tuple[int, int] = (320, 320), classes: int = 80, width: int = 16, seed: int = 0
) -> Path:
    """Strided 3x3 convolutions (stride 2, five times: 32x smaller) and a 1x1 head of 4 + `classes`
    channels, reshaped to YOLOv8's `(batch, 4 + classes, cells)`; random weights, sigmoid scores."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w, h = input_size
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", 3, h, w])
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, ["batch", 4 + classes, "cells"])
    nodes, inits = [], []
    prev, channels = "images", 3
    for i in range(5):
        c = width * (2 ** min(i, 3))
        wname = f"w{i}"
        inits.append(
            numpy_helper.from_array(rng.normal(0, 0.1, (c, channels, 3, 3)).astype(np.float32), wname)
        )
        nodes.append(helper.make_node("Conv", [prev, wname], [f"c{i}"], strides=[2, 2], pads=[1, 1, 1, 1]))
        nodes.append(helper.make_node("Relu", [f"c{i}"], [f"r{i}"]))
        prev, channels = f"r{i}", c
    head = 4 + classes
    inits.append(numpy_helper.from_array(rng.normal(0, 0.1, (head, channels, 1, 1)).astype(np.float32), "wh"))
    inits.append(numpy_helper.from_array(np.array([0, head, -1], np.int64), "flat"))
    nodes += [
        helper.make_node("Conv", [prev, "wh"], ["head"]),
        helper.make_node("Sigmoid", ["head"], ["sig"]),
        helper.make_node("Reshape", ["sig", "flat"], ["output0"]),
    ]
    graph = helper.make_graph(nodes, "conv_yolo", [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return _save(model, path)
