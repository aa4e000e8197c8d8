"""Events of a registered camera through the alerts module's event log, with the snapshot as a JPEG blob; and
the runner on a live (paced, looping) file source, stopped cleanly."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import av
from sqlalchemy import select

from tests.modules.cameras.conftest import camera_body, wait_for
from tests.modules.vision.conftest import make_clip
from tests.modules.vision.test_pipeline import UP_LINE, across
from toancanh.core.assets import Asset
from toancanh.core.db import utcnow
from toancanh.core.files import sniff
from toancanh.modules.alerts.models import Event
from toancanh.modules.cameras.models import Camera
from toancanh.modules.vision import service
from toancanh.modules.vision.pipeline import VisionEvent


def _camera(client: Any, world: Any, settings: Any, clip: Path) -> int:
    body = camera_body(world, source_kind="file", substream_url=f"file://{clip}", main_url="")
    r = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a"))
    assert r.status_code == 201, r.text
    cam = r.json()
    line = {
        "kind": "line",
        "name": "Vạch cổng",
        "points": UP_LINE,
        "direction": "both",
        "purposes": ["crossing"],
    }
    r = client.post(f"/api/v1/cameras/{cam['id']}/zones", json=line, headers=world.auth("op_a"))
    assert r.status_code == 201, r.text
    return int(cam["id"])


def _clip(settings: Any) -> Path:
    return make_clip((settings.data_dir / "media").resolve() / "across.mp4", across, 5.0)


def test_events_are_recorded_with_a_jpeg_snapshot(
    client: Any, world: Any, db: Any, app: Any, settings: Any
) -> None:
    clip = _clip(settings)
    camera_id = _camera(client, world, settings, clip)
    start = utcnow() - timedelta(minutes=10)
    with db.session() as s:
        camera = s.get(Camera, camera_id)
        asset = s.get(Asset, camera.asset_id)
        pipeline = service.build_pipeline(s, camera)
        found: list[VisionEvent] = []
        with av.open(str(clip)) as c:
            for result in pipeline.run(c.decode(video=0), start):
                found.extend(result.events)
        assert [e.kind for e in found] == ["line_crossing"]
        rec = service.record(s, app.state.blobs, camera, asset, found)
        assert rec.rejected == [] and len(rec.ids) == 1
        again = service.record(s, app.state.blobs, camera, asset, found)
        assert again.ids == [] and again.duplicates == 1  # the same event twice is one event
    with db.session() as s:
        event = s.scalars(select(Event)).one()
        asset = s.get(Asset, camera.asset_id)
        assert (event.source, event.category) == ("camera", "vision.line_crossing")
        assert event.asset_id == asset.id and event.unit_id == asset.unit_id and event.domain == asset.domain
        assert event.payload["direction"] == "a_to_b" and event.payload["zone"] == "Vạch cổng"
        assert event.at == found[0].at
        assert "Vượt vạch Vạch cổng" in event.title and event.title_en.startswith("Crossed line")
        [evidence] = event.evidence
        assert evidence["kind"] == "photo"
        data = app.state.blobs.read(evidence["ref"])
        assert sniff(data) == "image/jpeg" and data[:3] == b"\xff\xd8\xff"


def test_runner_on_a_live_source_records_and_stops(
    client: Any, world: Any, db: Any, app: Any, settings: Any
) -> None:
    clip = _clip(settings)
    camera_id = _camera(client, world, settings, clip)
    runner = service.runner_for(db, app.state.blobs, settings, camera_id)
    runner.start()
    try:

        def recorded() -> list[Event]:
            with db.session() as s:
                return list(s.scalars(select(Event).where(Event.category == "vision.line_crossing")))

        events = wait_for(recorded, timeout=30, what=f"a recorded line crossing ({runner.stats})")
        assert events and all(e.evidence for e in events)
        assert runner.stats.analysed <= runner.stats.decoded
    finally:
        runner.stop()
    assert not runner.running
