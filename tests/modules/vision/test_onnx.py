"""The `onnx` detector on tiny models built on the fly (`vision.synthetic`): letterbox and both YOLO output
layouts decoded back to frame boxes, non-maximum suppression, motion regions only, labels, errors; and the
shared detector queue: crops of several cameras in one batch, and "skipped fps" when it is overloaded."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from tests.modules.vision.conftest import analyse, events, make_clip
from tests.modules.vision.test_pipeline import UP_LINE, across
from toancanh.modules.vision.detector_queue import DetectorQueue, QueuedDetector
from toancanh.modules.vision.detectors import DetectorBusy, DetectorNotConfigured, build_detector
from toancanh.modules.vision.onnx_detector import OnnxDetector, OnnxModel, letterbox, nms, square_region
from toancanh.modules.vision.pipeline import Pipeline
from toancanh.modules.vision.runtime import SharedDetectors
from toancanh.modules.vision.schemas import OnnxDetectorConfig, PipelineConfig
from toancanh.modules.vision.synthetic import fixed_boxes_model

WHOLE = [(0.0, 0.0, 1.0, 1.0)]
CENTRE_BOX = [(32.0, 32.0, 16.0, 16.0)]  # centre x, y, width, height in the 64x64 input


def _model(tmp_path: Path, name: str = "m.onnx", **kw: object) -> OnnxModel:
    labels = kw.pop("labels", ["person", "car"])
    config = {k: kw.pop(k) for k in list(kw) if k in OnnxDetectorConfig.model_fields and k != "output"}
    if "output" in kw:
        config["output"] = kw["output"]
    path = fixed_boxes_model(tmp_path / name, **kw)  # type: ignore[arg-type]
    return OnnxModel(OnnxDetectorConfig(model_path=str(path), input_size=(64, 64), labels=labels, **config))


def test_letterbox_and_yolov8_boxes_map_back_to_the_frame(tmp_path: Path) -> None:
    model = _model(tmp_path, boxes=CENTRE_BOX, scores=[[0.1, 0.9]])
    image = np.full((180, 320, 3), 90, np.uint8)
    boxed, r, left, top = letterbox(image, (64, 64))
    assert boxed.shape == (64, 64, 3) and r == pytest.approx(0.2) and (left, top) == (0, 14)
    assert (boxed[0, 0] == 114).all() and (boxed[32, 32] == 90).all()  # grey bands above and below
    [d] = OnnxDetector(model).detect(image, WHOLE)
    assert d.label == "car" and d.score == pytest.approx(0.9)
    # centre (32, 32) of the input is the centre of the frame; 16 input px are 80 frame px
    assert d.box == pytest.approx((120 / 320, 50 / 180, 200 / 320, 130 / 180), abs=1e-4)


def test_yolov5_layout_multiplies_objectness(tmp_path: Path) -> None:
    boxes = [(16.0, 16.0, 8.0, 8.0), (48.0, 48.0, 8.0, 8.0)]
    model = _model(
        tmp_path, boxes=boxes, scores=[[0.9, 0.0], [0.9, 0.0]], objectness=[0.5, 0.3], output="yolov5"
    )
    found = OnnxDetector(model).detect(np.zeros((64, 64, 3), np.uint8), WHOLE)
    assert [(d.label, round(d.score, 2)) for d in found] == [("person", 0.45)]  # 0.3 * 0.9 < 0.4


def test_nms_is_per_class() -> None:
    boxes = np.array([[0.1, 0.1, 0.5, 0.5], [0.12, 0.1, 0.5, 0.52], [0.1, 0.1, 0.5, 0.5]], np.float32)
    scores = np.array([0.8, 0.9, 0.7], np.float32)
    assert sorted(nms(boxes, scores, np.array([0, 0, 1]), 0.45)) == [1, 2]
    assert nms(boxes, scores, np.array([0, 0, 0]), 0.45) == [1]
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64), 0.5) == []


def test_runs_only_on_motion_regions(tmp_path: Path) -> None:
    """Scores are gated on the crop's brightness: a bright thing in a region is found, a dark region gives
    nothing, no region runs nothing; the box lies in the region's crop."""
    model = _model(tmp_path, boxes=CENTRE_BOX, scores=[[0.95, 0.0]], gate_on_brightness=True)
    det = OnnxDetector(model)
    image = np.zeros((360, 640, 3), np.uint8)
    image[200:260, 400:460] = 255  # a bright object, 60 px
    calls = 0
    run = model.run

    def counting(inputs: np.ndarray) -> np.ndarray:
        nonlocal calls
        calls += len(inputs)
        return run(inputs)

    model.run = counting  # type: ignore[method-assign]
    assert det.detect(image, []) == [] and calls == 0
    region = (400 / 640, 200 / 360, 460 / 640, 260 / 360)
    [d] = det.detect(image, [region])
    cx, cy = (d.box[0] + d.box[2]) / 2 * 640, (d.box[1] + d.box[3]) / 2 * 360
    assert (cx, cy) == pytest.approx((430, 230), abs=2)  # the centre of the object's crop
    assert det.detect(image, [(0.05, 0.05, 0.15, 0.15)]) == []  # a dark corner: scores gated to 0
    assert calls == 2
    # two regions: one batch of two crops
    assert len(det.detect(image, [region, (0.05, 0.05, 0.15, 0.15)])) == 1 and calls == 4


def test_square_region_grows_and_stays_inside() -> None:
    assert square_region((0.45, 0.45, 0.55, 0.55), 640, 360, pad=0.0, min_side=100) == (270, 130, 370, 230)
    x1, y1, x2, y2 = square_region((0.95, 0.9, 1.0, 1.0), 640, 360, pad=0.5, min_side=64)
    assert x2 == 640 and y2 == 360 and x2 - x1 == y2 - y1 == 72  # 36 px tall, grown by half on each side
    assert square_region((0.0, 0.0, 1.0, 1.0), 640, 360, pad=0.1, min_side=64) == (0, 0, 640, 360)


def test_labels_from_model_metadata_and_config_errors(tmp_path: Path) -> None:
    path = fixed_boxes_model(tmp_path / "named.onnx", CENTRE_BOX, [[0.0, 0.9]], labels=["no_hat", "hat"])
    model = OnnxModel(
        OnnxDetectorConfig(model_path=str(path), input_size=(64, 64), providers=["CUDA", "CPU"])
    )
    assert model.labels == ["no_hat", "hat"] and model.providers == ["CPUExecutionProvider"]
    [d] = OnnxDetector(model).detect(np.zeros((64, 64, 3), np.uint8), WHOLE)
    assert d.label == "hat"
    # (a real model's thousands of boxes tell the layouts apart; one box needs saying)
    unnamed = _model(
        tmp_path, "u.onnx", boxes=CENTRE_BOX, scores=[[0.0, 0.0, 0.8]], labels=[], output="yolov8"
    )
    assert OnnxDetector(unnamed).detect(np.zeros((64, 64, 3), np.uint8), WHOLE)[0].label == "class_2"
    with pytest.raises(DetectorNotConfigured) as err:
        build_detector(OnnxDetectorConfig())
    assert "model_path" in err.value.vi and "model_path" in err.value.en
    with pytest.raises(DetectorNotConfigured) as err:
        build_detector(OnnxDetectorConfig(model_path=str(tmp_path / "missing.onnx")))
    assert "Không mở được" in err.value.vi and "missing.onnx" in err.value.en
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    with pytest.raises(DetectorNotConfigured):
        build_detector(OnnxDetectorConfig(model_path=str(tmp_path / "bad.onnx")))


def test_fixed_batch_model_runs_in_pieces(tmp_path: Path) -> None:
    model = _model(tmp_path, boxes=CENTRE_BOX, scores=[[0.9, 0.0]], fixed_batch=1)
    assert model.max_batch == 1
    out = model.run(np.zeros((3, 3, 64, 64), np.float32))
    assert out.shape == (3, 6, 1)


def test_pipeline_with_onnx_counts_a_labelled_crossing(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "across.mp4", across, 5.0)
    path = fixed_boxes_model(tmp_path / "c.onnx", CENTRE_BOX, [[0.9]], labels=["person"])
    detector = {"type": "onnx", "model_path": str(path), "input_size": [64, 64]}
    line = {"kind": "line", "name": "Vạch", "points": UP_LINE, "direction": "both"}
    _, results = analyse(clip, [line], detector=detector)
    [crossing] = events(results, "line_crossing")
    assert crossing.label == "person" and crossing.direction == "a_to_b"  # type: ignore[attr-defined]


def test_queue_batches_crops_of_several_cameras(tmp_path: Path) -> None:
    model = _model(tmp_path, boxes=CENTRE_BOX, scores=[[0.9, 0.0]])
    shared = DetectorQueue(model, max_wait_s=0.5)
    image = np.full((180, 320, 3), 90, np.uint8)
    direct = OnnxDetector(model).detect(image, WHOLE)
    answers: dict[str, object] = {}

    def camera(key: str) -> None:
        answers[key] = QueuedDetector(shared, key).detect(image, WHOLE)

    threads = [threading.Thread(target=camera, args=(str(k),)) for k in range(3)]
    for th in threads:
        th.start()
    while shared._queue.qsize() < 3:  # all three cameras waiting before the detector starts
        threading.Event().wait(0.005)
    shared.start()
    for th in threads:
        th.join(10)
    shared.stop()
    assert answers == {"0": direct, "1": direct, "2": direct}
    assert shared.batches == 1 and shared.images == 3 and shared.mean_batch == 3.0
    assert {k: (v.frames, v.skipped) for k, v in shared.loads.items()} == {
        "0": (1, 0),
        "1": (1, 0),
        "2": (1, 0),
    }


def test_overloaded_queue_skips_frames_and_reports_skipped_fps(tmp_path: Path) -> None:
    model = _model(tmp_path, boxes=CENTRE_BOX, scores=[[0.9, 0.0]])
    shared = DetectorQueue(model, max_pending=2, window_s=10.0)  # not started: nothing drains it
    inputs = np.zeros((1, 3, 64, 64), np.float32)
    shared.submit("a", inputs)
    shared.submit("b", inputs)
    for _ in range(5):
        with pytest.raises(DetectorBusy):
            shared.submit("a", inputs)
    assert shared.loads["a"].skipped == 5 and shared.loads["b"].skipped == 0
    assert shared.skipped_fps("a") == pytest.approx(0.5) and shared.skipped_fps() == pytest.approx(0.5)
    assert shared.skipped_fps("b") == 0.0 and shared.skipped_fps("nobody") == 0.0
    # a pipeline on the overloaded detector skips its frames: the tracker does not lose its objects
    pipeline = Pipeline(PipelineConfig(), detector=QueuedDetector(shared, "a"))
    pipeline.tracker.tracks[7] = _track()
    image = np.full((180, 320, 3), 90, np.uint8)
    pipeline.process(image, 0.0, _at())  # primes the background: no motion, the track unseen once
    lost = pipeline.tracker.tracks[7].lost
    image[100:140, 100:130] = 250
    result = pipeline.process(image, 0.2, _at())
    assert result.skipped and result.motion and pipeline.detector_skipped == 1
    assert [t.id for t in result.tracks] == [7] and pipeline.tracker.tracks[7].lost == lost
    shared.start()
    shared.stop()


def test_shared_detectors_one_queue_per_model(tmp_path: Path) -> None:
    path = fixed_boxes_model(tmp_path / "s.onnx", CENTRE_BOX, [[0.9]], labels=["person"])
    onnx = PipelineConfig.model_validate({"detector": {"type": "onnx", "model_path": str(path)}})
    other = PipelineConfig.model_validate(
        {"detector": {"type": "onnx", "model_path": str(path), "min_score": 0.8}}
    )
    shared = SharedDetectors()
    try:
        a, b = shared.for_camera(1, onnx), shared.for_camera(2, other)
        assert isinstance(a, QueuedDetector) and isinstance(b, QueuedDetector) and a.shared is b.shared
        assert shared.for_camera(3, PipelineConfig()) is None  # `none` needs no shared detector
        [summary] = shared.summary()
        assert summary["model"] == "s.onnx" and summary["running"] and summary["skipped_fps"] == 0.0
    finally:
        shared.stop()


def _track():  # type: ignore[no-untyped-def]
    from toancanh.modules.vision.tracker import Track

    return Track(7, (0.1, 0.1, 0.2, 0.3), "object", 1.0, 0.0, 0.0)


def _at():  # type: ignore[no-untyped-def]
    from tests.modules.vision.conftest import MONDAY_10

    return MONDAY_10
