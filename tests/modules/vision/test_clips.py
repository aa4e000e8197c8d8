"""Evidence clips: the ring buffer of encoded packets (from a keyframe, a looping file kept in order, a new
stream starting afresh), clips from before to after an event as playable MP4, and on a live camera the clip
stored in the blob store and linked to its recorded event."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import av
import pytest
from sqlalchemy import select

from tests.modules.cameras.conftest import wait_for
from tests.modules.vision.conftest import make_clip
from tests.modules.vision.test_events import _camera, _clip
from tests.modules.vision.test_pipeline import across
from toancanh.core.assets import Asset
from toancanh.core.db import utcnow
from toancanh.core.files import sniff
from toancanh.modules.alerts import service as alerts
from toancanh.modules.alerts.models import Alert, Event
from toancanh.modules.cameras.models import Camera
from toancanh.modules.vision import service
from toancanh.modules.vision.clips import ClipRecorder, PacketRing
from toancanh.modules.vision.pipeline import VisionEvent
from toancanh.modules.vision.zones import ZoneSpec


def _feed(ring_or_recorder: Any, path: Path, offset_t: float = 0.0) -> int:
    """Every packet of the file, arriving at its own timestamp (+ `offset_t`)."""
    n = 0
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        for packet in c.demux(stream):
            if packet.pts is None:
                continue
            t = offset_t + float(packet.pts * stream.time_base)
            if isinstance(ring_or_recorder, PacketRing):
                ring_or_recorder.add(packet, stream, t)
            else:
                ring_or_recorder.on_packet(packet, stream, t)
            n += 1
    return n


def _frames(mp4: bytes) -> tuple[int, float]:
    with av.open(io.BytesIO(mp4)) as c:
        times = [float(f.time) for f in c.decode(video=0)]
    return len(times), times[0]


@pytest.fixture
def clip5(tmp_path: Path) -> Path:
    return make_clip(tmp_path / "five.mp4", across, 5.0)  # 10 fps, a keyframe every 12 frames


def test_ring_keeps_the_last_seconds_from_a_keyframe(clip5: Path) -> None:
    ring = PacketRing(2.0)
    assert _feed(ring, clip5) == 50
    assert ring.newest_t == pytest.approx(4.9)
    oldest = ring.oldest_t
    assert oldest is not None and 4.9 - 2.0 - 1.2 <= oldest <= 4.9 - 2.0  # at most one GOP more
    packets = ring.cut(3.5, 4.5)
    assert packets[0].key and packets[0].t <= 3.5 and packets[-1].t == pytest.approx(4.5)
    count, first = _frames(ring.write_mp4(packets))
    assert count == len(packets) and first == 0.0


def test_a_looping_file_keeps_counting_and_a_new_stream_starts_afresh(clip5: Path, tmp_path: Path) -> None:
    ring = PacketRing(20.0)
    _feed(ring, clip5)
    _feed(ring, clip5, offset_t=5.0)  # the file again: its timestamps start at 0 again
    packets = ring.cut(3.0, 7.0)  # across the loop
    assert [p.dts for p in packets] == sorted(p.dts for p in packets)
    count, _ = _frames(ring.write_mp4(packets))
    assert count == len(packets) >= 40
    other = make_clip(tmp_path / "big.mp4", across, 1.0, size=(160, 90))
    _feed(ring, other, offset_t=10.0)
    assert ring.format is not None and ring.format.width == 160
    assert ring.oldest_t == pytest.approx(10.0)  # the old stream's packets are gone


def test_recorder_cuts_before_and_after_the_event(clip5: Path) -> None:
    got: list[tuple[Any, bytes, float]] = []
    recorder = ClipRecorder(
        PacketRing(10.0), lambda r, d, s: got.append((r, d, s)), before_s=1.0, after_s=1.5
    )
    recorder.start()
    try:
        recorder.request("ev-1", 2.5)
        _feed(recorder, clip5)
        wait_for(lambda: got, timeout=5, what="a clip")
    finally:
        recorder.stop()
    [(ref, mp4, seconds)] = got
    assert ref == "ev-1" and sniff(mp4) == "video/mp4"
    assert 2.5 <= seconds <= 2.5 + 1.2  # 1 s before (from the keyframe before it) to 1.5 s after
    count, first = _frames(mp4)
    assert first == 0.0 and count == round(seconds * 10) + 1
    assert recorder.written == 1 and recorder.failed == 0


def test_add_evidence_links_to_the_event_and_its_alerts(
    client: Any, world: Any, db: Any, app: Any, settings: Any
) -> None:
    camera_id = _camera(client, world, settings, _clip(settings))
    zone = ZoneSpec(1, "Vạch", "line", ((0.5, 1.0), (0.5, 0.0)))
    event = VisionEvent("line_crossing", zone, 3, "object", utcnow(), 1.0, None, "a_to_b")
    item = {"kind": "clip", "ref": "ab" * 32, "label": "clip"}
    with db.session() as s:
        camera = s.get(Camera, camera_id)
        [event_id] = service.record(s, app.state.blobs, camera, s.get(Asset, camera.asset_id), [event]).ids
        recorded = s.get(Event, event_id)
        s.add(
            Alert(
                dedup_key="k",
                event_id=event_id,
                unit_id=recorded.unit_id,
                domain=recorded.domain,
                category=recorded.category,
                severity="minor",
                title="t",
                first_at=recorded.at,
                last_at=recorded.at,
                evidence=list(recorded.evidence),
            )
        )
        s.flush()
        ref = service.source_ref(camera_id, event)
        assert alerts.add_evidence(s, "camera", ref, item) == event_id
        assert alerts.add_evidence(s, "camera", ref, item) == event_id  # twice is once
        assert alerts.add_evidence(s, "camera", "vision:none", item) is None
    with db.session() as s:
        assert s.get(Event, event_id).evidence == [item]
        assert s.scalars(select(Alert)).one().evidence == [item]


def test_live_camera_event_gets_its_clip(client: Any, world: Any, db: Any, app: Any, settings: Any) -> None:
    clip = _clip(settings)
    camera_id = _camera(client, world, settings, clip)
    quick = settings.model_copy(update={"vision_clip_before_s": 1.0, "vision_clip_after_s": 0.5})
    runner = service.runner_for(db, app.state.blobs, quick, camera_id)
    runner.start()
    try:

        def with_clip() -> list[Event]:
            with db.session() as s:
                found = s.scalars(select(Event).where(Event.category == "vision.line_crossing"))
                return [e for e in found if any(x["kind"] == "clip" for x in e.evidence)]

        events = wait_for(with_clip, timeout=30, what=f"an event with its clip ({runner.stats})")
    finally:
        runner.stop()
    kinds = [x["kind"] for x in events[0].evidence]
    assert kinds == ["photo", "clip"]
    clip_ref = events[0].evidence[1]
    data = app.state.blobs.read(clip_ref["ref"])
    assert sniff(data) == "video/mp4"
    count, _ = _frames(data)
    assert count >= 10 and 1.4 <= clip_ref["seconds"] <= 1.5 + 1.3


def test_clips_come_from_the_main_stream_when_the_camera_has_one(
    client: Any, world: Any, db: Any, app: Any, settings: Any
) -> None:
    """The substream is analysed, the evidence is cut from the main stream: full resolution, never decoded."""
    from tests.modules.cameras.conftest import camera_body
    from tests.modules.vision.conftest import H, W
    from tests.modules.vision.test_events import UP_LINE

    media = (settings.data_dir / "media").resolve()
    sub = make_clip(media / "across-sub.mp4", across, 5.0)
    main = make_clip(media / "across-main.mp4", across, 5.0, size=(W * 2, H * 2))
    body = camera_body(world, source_kind="file", substream_url=f"file://{sub}", main_url=f"file://{main}")
    cam = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a")).json()
    line = {
        "kind": "line",
        "name": "Vạch cổng",
        "points": UP_LINE,
        "direction": "both",
        "purposes": ["crossing"],
    }
    assert (
        client.post(f"/api/v1/cameras/{cam['id']}/zones", json=line, headers=world.auth("op_a")).status_code
        == 201
    )
    quick = settings.model_copy(update={"vision_clip_before_s": 1.0, "vision_clip_after_s": 0.5})
    runner = service.runner_for(db, app.state.blobs, quick, cam["id"])
    assert runner.clip_source is not None and runner.clip_source.url.endswith("across-main.mp4")
    runner.start()
    try:

        def with_clip() -> list[Event]:
            with db.session() as s:
                found = s.scalars(select(Event).where(Event.category == "vision.line_crossing"))
                return [e for e in found if any(x["kind"] == "clip" for x in e.evidence)]

        events = wait_for(with_clip, timeout=30, what=f"an event with its clip ({runner.stats})")
    finally:
        runner.stop()
    clip_ref = next(x for x in events[0].evidence if x["kind"] == "clip")
    data = app.state.blobs.read(clip_ref["ref"])
    with av.open(io.BytesIO(data)) as c:
        v = c.streams.video[0]
        assert (v.codec_context.width, v.codec_context.height) == (W * 2, H * 2)  # the main stream's
        assert sum(1 for _ in c.decode(video=0)) >= 10
    assert runner.stats.decoded > 0  # the substream was decoded for the analysis
