"""Wiring the pipeline to the rest of the IOC: a camera's zones and schedules from the cameras module, events
with their snapshot into the alerts module's event log, and runners for the cameras of this process.

An event is recorded as the alerts module records every source: `EventIn` with source `camera`, a category
`vision.<kind>`, the camera's asset (which gives the unit, domain and place), and as evidence the track's best
snapshot, a JPEG kept in the blob store (`core.files`). `source_ref` makes a replayed event a duplicate.
A few seconds later the event's clip (`clips`: from before to after it, out of the camera's ring buffer)
is stored as MP4 and added to the event's evidence and to the alerts it raised.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from toancanh.core.assets import Asset
from toancanh.core.files import BlobStore
from toancanh.core.worktime import WorkCalendar
from toancanh.modules.alerts import service as alerts
from toancanh.modules.cameras import service as cameras
from toancanh.modules.cameras.service import Camera
from toancanh.modules.vision.clips import ClipRecorder, PacketRing
from toancanh.modules.vision.detectors import Detector
from toancanh.modules.vision.pipeline import Pipeline, PipelineRunner, VisionEvent
from toancanh.modules.vision.schemas import DetectorConfig, NoneDetectorConfig, PipelineConfig
from toancanh.modules.vision.zones import ScheduleCheck, ZoneSpec

log = logging.getLogger(__name__)

TITLES = {  # kind -> (Vietnamese, English, severity)
    "enter": ("Đối tượng vào vùng {zone}", "Object entered zone {zone}", "unknown"),
    "leave": ("Đối tượng rời vùng {zone}", "Object left zone {zone}", "unknown"),
    "loitering": (
        "Lảng vảng {seconds:.0f} giây trong vùng {zone}",
        "Loitering for {seconds:.0f} s in zone {zone}",
        "minor",
    ),
    "line_crossing": ("Vượt vạch {zone} ({way})", "Crossed line {zone} ({way})", "unknown"),
}
CATEGORIES = {
    "enter": "vision.zone_enter",
    "leave": "vision.zone_leave",
    "loitering": "vision.loitering",
    "line_crossing": "vision.line_crossing",
}
WAYS = {"a_to_b": "A → B", "b_to_a": "B → A"}


def schedule_check(calendar: WorkCalendar | None = None) -> ScheduleCheck:
    cal = calendar or WorkCalendar.default()

    def active(schedule: dict[str, Any], at: datetime) -> bool:
        return cameras.zone_active(schedule, at, cal)

    return active


def zone_specs(db: Session, camera: Camera) -> list[ZoneSpec]:
    """The camera's enabled zones, lines and masks."""
    return [ZoneSpec.of(z.summary()) for z in cameras.list_zones(db, camera) if z.enabled]


def pipeline_config(camera: Camera, detector: DetectorConfig | None = None) -> PipelineConfig:
    return PipelineConfig(detect_fps=camera.detect_fps, detector=detector or NoneDetectorConfig())


def build_pipeline(
    db: Session,
    camera: Camera,
    config: PipelineConfig | None = None,
    calendar: WorkCalendar | None = None,
    detector: Detector | None = None,
) -> Pipeline:
    return Pipeline(
        config or pipeline_config(camera),
        zone_specs(db, camera),
        schedule_active=schedule_check(calendar),
        detector=detector,
    )


def store_snapshot(db: Session, blobs: BlobStore, event: VisionEvent) -> str | None:
    """The sha256 of the event's best snapshot as a JPEG in the blob store, or None without one."""
    if event.snapshot is None or event.snapshot.size == 0:
        return None
    data = cameras.encode_jpeg(event.snapshot)
    return blobs.put(db, data, allowed=frozenset({"image/jpeg"})).sha256


def source_ref(camera_id: int, event: VisionEvent) -> str:
    """The event's own id (a replayed event is a duplicate; its clip finds it by this)."""
    return f"vision:{camera_id}:{event.zone.id}:{event.track_id}:{event.kind}:{event.at.isoformat()}"


def event_in(event: VisionEvent, camera: Camera, asset: Asset, snapshot: str | None) -> alerts.EventIn:
    vi, en, severity = TITLES[event.kind]
    words = {
        "zone": event.zone.name,
        "seconds": event.seconds or 0.0,
        "way": WAYS.get(event.direction or "", ""),
    }
    payload: dict[str, Any] = {
        "camera_id": camera.id,
        "zone_id": event.zone.id,
        "zone": event.zone.name,
        "purposes": list(event.zone.purposes),
        "track_id": event.track_id,
        "label": event.label,
        "video_t": round(event.t, 3),
    }
    if event.direction:
        payload["direction"] = event.direction
    if event.seconds is not None:
        payload["seconds"] = round(event.seconds, 1)
    evidence = (
        [{"kind": "photo", "ref": snapshot, "label": "Ảnh chụp đối tượng / Best snapshot"}]
        if snapshot
        else []
    )
    return alerts.EventIn(
        source="camera",
        category=CATEGORIES[event.kind],
        title=vi.format(**words),
        title_en=en.format(**words),
        at=event.at,
        asset_code=asset.code,
        severity=severity,
        certainty="observed",
        source_ref=source_ref(camera.id, event),
        payload=payload,
        evidence=evidence,
    )


def record(
    db: Session, blobs: BlobStore, camera: Camera, asset: Asset, events: Sequence[VisionEvent]
) -> alerts.Recorded:
    """Record the events (and store their snapshots) in the caller's transaction."""
    items = [event_in(e, camera, asset, store_snapshot(db, blobs, e)) for e in events]
    rec = alerts.record_events(db, items)
    for r in rec.rejected:
        log.warning("camera %s: vision event rejected: %s", camera.id, r["reason_en"])
    return rec


def sink_for(db: Any, blobs: BlobStore, camera_id: int) -> Callable[[list[VisionEvent]], None]:
    """What a runner calls with a frame's events: one transaction per batch (`db` is `core.db.Database`)."""

    def sink(events: list[VisionEvent]) -> None:
        with db.session() as s:
            camera = s.get(Camera, camera_id)
            if camera is None:
                return
            asset = s.get(Asset, camera.asset_id)
            if asset is None:
                return
            record(s, blobs, camera, asset, events)

    return sink


def clip_store_for(db: Any, blobs: BlobStore, camera_id: int) -> Callable[[VisionEvent, bytes, float], None]:
    """What a camera's clip recorder calls with an event's clip: the MP4 into the blob store, linked to the
    recorded event (and the alerts it raised) as evidence."""

    def store(event: VisionEvent, mp4: bytes, seconds: float) -> None:
        with db.session() as s:
            ref = blobs.put(s, mp4, allowed=frozenset({"video/mp4"}))
            item = {
                "kind": "clip",
                "ref": ref.sha256,
                "label": "Đoạn phim sự kiện / Event clip",
                "seconds": round(seconds, 1),
            }
            if alerts.add_evidence(s, "camera", source_ref(camera_id, event), item) is None:
                log.warning("camera %s: clip of an event that was not recorded (%s)", camera_id, event.kind)

    return store


def runner_for(
    db: Any,
    blobs: BlobStore,
    settings: Any,
    camera_id: int,
    config: PipelineConfig | None = None,
    detector: Callable[[PipelineConfig], Detector | None] | None = None,
) -> PipelineRunner:
    """A (not yet started) runner for a registered camera: its substream, zones and detect rate; `detector`
    gives the shared detector for the camera's config (None: the camera builds its own)."""
    with db.session() as s:
        camera = s.get(Camera, camera_id)
        if camera is None:
            raise LookupError(f"camera {camera_id} not found")
        config = config or pipeline_config(camera)
        pipeline = build_pipeline(s, camera, config, detector=detector(config) if detector else None)
        vault = cameras.Vault.from_settings(settings)
        source = cameras.source_of(camera, vault, settings)
        # evidence from the main stream (full resolution) when the camera has one
        main = cameras.source_of(camera, vault, settings, main=True) if camera.main_url else None
    before, after = settings.vision_clip_before_s, settings.vision_clip_after_s
    clips = None
    if before > 0 or after > 0:
        ring = PacketRing(before + after + 10.0)  # room for a group of pictures before the clip's start
        store = clip_store_for(db, blobs, camera_id)
        clips = ClipRecorder(ring, store, before_s=before, after_s=after)
    return PipelineRunner(
        source,
        pipeline,
        sink_for(db, blobs, camera_id),
        name=f"vision-{camera_id}",
        backoff_s=settings.camera_backoff_initial_s,
        backoff_max_s=settings.camera_backoff_max_s,
        clips=clips,
        clip_source=main,
    )
