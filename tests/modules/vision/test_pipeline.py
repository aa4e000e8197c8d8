"""The pipeline on synthetic clips: motion, tracking, line crossing, zones with inertia and loitering, masks
and schedules. Every time is the clip's own (frame timestamps), never the wall clock."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from tests.modules.vision.conftest import FPS, MONDAY_10, analyse, events, make_clip
from toancanh.core.worktime import WorkCalendar
from toancanh.modules.vision.detectors import DetectorNotConfigured, HogPeople, build_detector
from toancanh.modules.vision.schemas import HogDetectorConfig, OnnxDetectorConfig, PipelineConfig
from toancanh.modules.vision.service import schedule_check
from toancanh.modules.vision.zones import crossing

UP_LINE = [[0.5, 0.95], [0.5, 0.05]]  # drawn bottom to top: side A is on the left of the screen
RIGHT_HALF = [[0.6, 0.0], [1.0, 0.0], [1.0, 1.0], [0.6, 1.0]]


def across(i: int) -> tuple[float, float] | None:
    """Off screen for half a second, then left to right along y = 0.8 in 4 s."""
    return None if i < 5 else (0.05 + 0.9 * (i - 5) / 40, 0.8)


def into_zone_and_stay(stay_until: int | None = None):  # type: ignore[no-untyped-def]
    """Enters from the left, stops at x = 0.8 (inside RIGHT_HALF) after 2.5 s; leaves upwards out of the
    zone again at frame `stay_until` if given."""

    def pos(i: int) -> tuple[float, float] | None:
        if i < 5:
            return None
        if stay_until is not None and i >= stay_until:
            return (0.3, 0.8)  # jumped back out of the zone (to the left)
        return (min(0.8, 0.05 + 0.75 * (i - 5) / 20), 0.8)

    return pos


@pytest.fixture
def clip_across(tmp_path: Path) -> Path:
    return make_clip(tmp_path / "across.mp4", across, 5.0)


def test_line_crossing_counts_once_with_direction_and_one_track(clip_across: Path) -> None:
    line = {"kind": "line", "name": "Vạch", "points": UP_LINE, "direction": "both"}
    pipeline, results = analyse(clip_across, [line])
    crossings = events(results, "line_crossing")
    assert [(e.direction, e.track_id) for e in crossings] == [("a_to_b", 1)]  # type: ignore[attr-defined]
    seen = {t.id for r in results for t in r.tracks}
    assert seen == {1}  # the tracker kept one id for the one object
    # analysed at the detect rate: 5 of the 10 frames a second
    assert len(results) == 25
    assert [r.events == [] for r in results].count(False) == 1

    # the same line drawn top to bottom: now the square goes from B to A
    down = {**line, "points": UP_LINE[::-1]}
    _, results = analyse(clip_across, [down])
    assert [e.direction for e in events(results, "line_crossing")] == ["b_to_a"]  # type: ignore[attr-defined]

    # a one-way line counts only its own way
    _, results = analyse(clip_across, [{**line, "direction": "b_to_a"}])
    assert events(results, "line_crossing") == []


def test_crossing_geometry() -> None:
    a, b = (0.5, 1.0), (0.5, 0.0)
    assert crossing(a, b, (0.4, 0.5), (0.6, 0.5)) == "a_to_b"
    assert crossing(a, b, (0.6, 0.5), (0.4, 0.5)) == "b_to_a"
    assert crossing(a, b, (0.4, 0.5), (0.45, 0.5)) is None  # same side
    short = ((0.5, 0.6), (0.5, 0.4))
    assert crossing(*short, (0.4, 0.9), (0.6, 0.9)) is None  # passes beside the segment


def test_enter_with_inertia_and_loitering_in_video_time(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "stay.mp4", into_zone_and_stay(), 8.0)
    zone = {"kind": "zone", "name": "Cổng trường", "points": RIGHT_HALF, "purposes": ["loitering"]}
    _, results = analyse(clip, [zone], inertia=3, loiter_s=3.0)
    enters, loiters = events(results, "enter"), events(results, "loitering")
    assert len(enters) == 1 and len(loiters) == 1
    # the first analysed frame with the square's bottom-centre inside (x >= 0.6)
    first_inside = min(r.tracks[0].last_t for r in results if r.tracks and r.tracks[0].point[0] >= 0.6)
    assert first_inside == pytest.approx(2.0)  # frame 20: x = 0.05 + 0.75 * 15 / 20 = 0.61
    # inertia 3 at 5 fps: the enter counts on the third frame inside, 0.4 s after the first
    assert enters[0].t == pytest.approx(first_inside + 2 / 5)  # type: ignore[attr-defined]
    assert enters[0].at == MONDAY_10 + timedelta(seconds=enters[0].t)  # type: ignore[attr-defined]
    assert loiters[0].seconds >= 3.0  # type: ignore[attr-defined]
    assert loiters[0].t == pytest.approx(first_inside + 3.0)  # type: ignore[attr-defined]
    assert events(results, "leave") == []

    # with inertia 1 the enter counts on the first frame inside
    _, results = analyse(clip, [zone], inertia=1, loiter_s=3.0)
    assert events(results, "enter")[0].t == pytest.approx(first_inside)  # type: ignore[attr-defined]

    # loitering takes longer than the clip: no event
    _, results = analyse(clip, [zone], loiter_s=60.0)
    assert events(results, "loitering") == []


def test_leave_counts_after_inertia(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "leave.mp4", into_zone_and_stay(stay_until=40), 6.0)
    zone = {"kind": "zone", "name": "Vùng", "points": RIGHT_HALF}
    _, results = analyse(clip, [zone], inertia=2, loiter_s=60.0, max_jump=0.6)
    kinds = [(e.kind, e.track_id) for e in events(results)]  # type: ignore[attr-defined]
    assert kinds == [("enter", 1), ("leave", 1)]
    leave = events(results, "leave")[0]
    assert leave.t == pytest.approx(4.0 + 1 / 5)  # type: ignore[attr-defined]


def test_static_noise_is_no_motion(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "noise.mp4", lambda i: None, 4.0, noise=10.0)
    _, results = analyse(clip, [{"kind": "zone", "name": "Z", "points": RIGHT_HALF}])
    assert len(results) == 20
    assert all(r.motion == [] and r.tracks == [] and r.events == [] for r in results)


def test_mask_removes_motion(clip_across: Path) -> None:
    band = [[0.0, 0.5], [1.0, 0.5], [1.0, 0.95], [0.0, 0.95]]  # over the square's whole path
    line = {"kind": "line", "name": "Vạch", "points": UP_LINE, "direction": "both"}
    _, results = analyse(clip_across, [line, {"kind": "mask", "name": "Che", "points": band}])
    assert all(r.motion == [] for r in results)
    assert events(results) == []

    left = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]  # half the frame: motion only on the right
    _, results = analyse(clip_across, [{"kind": "mask", "name": "Che", "points": left}])
    boxes = [b for r in results for b in r.motion]
    assert boxes and all(b[2] > 0.5 for b in boxes)


def test_schedule_off_means_no_events(clip_across: Path) -> None:
    check = schedule_check(WorkCalendar.default())
    line = {
        "kind": "line",
        "name": "Vạch",
        "points": UP_LINE,
        "direction": "both",
        "schedule": {"type": "custom", "weekly": {"mon": [["08:00", "09:00"]]}},
    }
    _, results = analyse(clip_across, [line], start=MONDAY_10, schedule_active=check)
    assert events(results) == []  # Monday 10:00 is outside 08:00-09:00
    _, results = analyse(
        clip_across, [line], start=MONDAY_10 - timedelta(hours=1, minutes=30), schedule_active=check
    )
    assert len(events(results, "line_crossing")) == 1  # Monday 08:30
    zone = {"kind": "zone", "name": "Cổng", "points": RIGHT_HALF, "schedule": {"type": "school_hours"}}
    sunday = MONDAY_10 - timedelta(days=1)
    _, results = analyse(clip_across, [zone], start=sunday, schedule_active=check)
    assert events(results) == []
    _, results = analyse(clip_across, [zone], start=MONDAY_10, schedule_active=check)
    assert [e.kind for e in events(results)] == ["enter"]  # type: ignore[attr-defined]


def test_best_snapshot_is_the_object(clip_across: Path) -> None:
    line = {"kind": "line", "name": "Vạch", "points": UP_LINE, "direction": "both"}
    _, results = analyse(clip_across, [line])
    snap = events(results, "line_crossing")[0].snapshot  # type: ignore[attr-defined]
    assert snap is not None and snap.shape[0] >= 20 and snap.shape[1] >= 20
    # the square is yellow (BGR 40, 220, 240): the crop's centre is that colour
    cy, cx = snap.shape[0] // 2, snap.shape[1] // 2
    assert np.abs(snap[cy, cx].astype(int) - (40, 220, 240)).max() < 40


def test_detector_configs() -> None:
    config = PipelineConfig.model_validate({"detector": {"type": "hog", "min_score": 0.5}})
    assert isinstance(config.detector, HogDetectorConfig)
    with pytest.raises(ValidationError):
        PipelineConfig.model_validate({"detector": {"type": "yolo"}})
    with pytest.raises(ValidationError):
        PipelineConfig.model_validate({"detector": {"type": "none", "model_path": "x"}})
    with pytest.raises(DetectorNotConfigured) as err:
        build_detector(OnnxDetectorConfig())
    assert "model_path" in str(err.value) and "model_path" in err.value.vi
    with pytest.raises(DetectorNotConfigured):
        build_detector(OnnxDetectorConfig(model_path="/models/yolo.onnx", labels=["person"]))


def test_hog_looks_only_at_motion_regions() -> None:
    hog = build_detector(HogDetectorConfig())
    assert isinstance(hog, HogPeople)
    image = np.full((180, 320, 3), 90, np.uint8)
    image[60:140, 150:180] = 30  # a dark upright block, no person
    assert hog.detect(image, []) == []  # no motion, nothing looked at
    found = hog.detect(image, [(0.4, 0.3, 0.6, 0.8)])
    assert all(d.label == "person" for d in found)


def test_frames_are_sampled_by_timestamp() -> None:
    from toancanh.modules.vision.pipeline import FrameSampler

    s = FrameSampler(5.0)
    kept = [t / FPS for t in range(30) if s.due(t / FPS)]
    assert kept == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.4, 2.6, 2.8])
    assert s.due(10.0) and not s.due(10.1) and s.due(10.2)  # after a gap it starts again from then
