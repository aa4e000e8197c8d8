"""A camera's analysis settings: the detect rate and size, motion, the detector plugin, zone timing.

The detector is chosen by its `type` key (a pydantic discriminated union, as Frigate does): `none` (motion
only: moving blobs become `object` boxes), `hog` (OpenCV's built-in HOG people detector, no weights) or
`onnx` (a user-supplied YOLO-style model run with onnxruntime, see `onnx_detector`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoneDetectorConfig(_Strict):
    type: Literal["none"] = "none"


class HogDetectorConfig(_Strict):
    type: Literal["hog"] = "hog"
    min_score: float = Field(default=0.3, ge=-5.0, le=10.0)  # the SVM margin a person must pass
    min_height_px: int = Field(default=48, ge=16, le=2000)  # HOG's window is 64x128; smaller regions grow


Side = Annotated[int, Field(ge=16, le=4096)]
Provider = Literal["CUDA", "TensorRT", "OpenVINO", "CPU"]


class OnnxDetectorConfig(_Strict):
    type: Literal["onnx"] = "onnx"
    model_path: str = Field(default="", max_length=1000)
    input_size: tuple[Side, Side] = (640, 640)  # width, height
    layout: Literal["nchw", "nhwc"] = "nchw"
    output: Literal["auto", "yolov8", "yolov5"] = "auto"  # auto: told apart by the output's shape
    labels: list[str] = Field(default_factory=list, max_length=1000)
    providers: list[Provider] = Field(default_factory=lambda: list[Provider](["CPU"]), min_length=1)
    min_score: float = Field(default=0.4, ge=0.0, le=1.0)
    iou_threshold: float = Field(default=0.45, ge=0.0, le=1.0)  # overlap above which the weaker box goes
    region_min: int = Field(default=0, ge=0, le=4096)  # smallest crop side around motion; 0: the input size
    region_pad: float = Field(default=0.15, ge=0.0, le=1.0)  # a motion region grows by this on each side
    max_batch: int = Field(default=16, ge=1, le=256)  # crops per model call (a fixed-batch model: its own)
    threads: int = Field(default=0, ge=0, le=256)  # onnxruntime intra-op threads; 0: its default

    def model_key(self) -> str:
        """What makes two cameras' detectors the same model (they then share one detector queue); the
        thresholds and regions stay each camera's own."""
        return self.model_dump_json(
            include={"model_path", "input_size", "layout", "output", "labels", "providers", "threads"}
        )


DetectorConfig = Annotated[
    NoneDetectorConfig | HogDetectorConfig | OnnxDetectorConfig, Field(discriminator="type")
]


class MotionConfig(_Strict):
    threshold: int = Field(default=25, ge=1, le=255)  # grey-level difference that counts as change
    min_area: float = Field(default=0.002, ge=0.0, le=1.0)  # a blob's share of the frame, smaller is noise
    history: int = Field(default=150, ge=2, le=10_000)  # frames the background model remembers
    reset_share: float = Field(default=0.5, gt=0.0, le=1.0)  # this much of the frame changed: new background
    merge_gap: float = Field(default=0.02, ge=0.0, le=0.5)  # boxes closer than this (share of width) merge
    pad: float = Field(default=0.05, ge=0.0, le=0.5)  # a motion region grows by this before detection


class PipelineConfig(_Strict):
    detect_fps: float = Field(default=5.0, gt=0.0, le=30.0)
    detect_width: int = Field(default=640, ge=64, le=1920)  # frames are downscaled to this width
    motion: MotionConfig = Field(default_factory=MotionConfig)
    detector: DetectorConfig = Field(default_factory=NoneDetectorConfig)
    inertia: int = Field(default=3, ge=1, le=100)  # consecutive frames before an enter or leave counts
    loiter_s: float = Field(default=30.0, gt=0.0, le=86_400.0)  # seconds in a zone before loitering
    max_lost: int = Field(default=5, ge=0, le=1000)  # frames a track survives unseen
    min_iou: float = Field(default=0.2, ge=0.0, le=1.0)
    max_jump: float = Field(default=0.15, ge=0.0, le=1.0)  # centroid match radius (share of the width)
    min_hits: int = Field(default=2, ge=1, le=100)  # frames before a track is real (and may cross a line)
