"""Camera health with the monitor on: a file source and a local HTTP MJPEG server that drops its clients
and goes away; online/offline events in the outbox, reconnection with backoff, measured fps, snapshots and
the MJPEG live view, and the audit of every view."""

from __future__ import annotations

import itertools
import random
from typing import Any

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from tests.modules.cameras.conftest import FPS, H, MjpegServer, W, camera_body, device_events, wait_for
from toancanh.core.audit import AuditEntry
from toancanh.modules.cameras.monitor import backoff_delays
from toancanh.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"camera_monitor": True})


def _decode(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None, "not a JPEG"
    return img


def _health(client: Any, world: Any, cam_id: int) -> dict[str, Any]:
    return client.get(f"/api/v1/cameras/{cam_id}", headers=world.auth("op_a")).json()["health"]


def test_file_camera_goes_online_with_fps_and_snapshot(client: Any, world: Any, db: Any, video: Any) -> None:
    body = camera_body(world, source_kind="file", substream_url=video.as_uri(), main_url="")
    cam = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a")).json()
    wait_for(lambda: device_events(db, cam["asset_id"]) == ["online"], what="the online event")
    # a few seconds of frames: the measured rate is the file's own (played in real time)
    health = wait_for(
        lambda: (h := _health(client, world, cam["id"]))["fps"] is not None and h["status"] == "online" and h,
        what="a measured fps",
    )
    assert health["source"] == "monitor" and (health["width"], health["height"]) == (W, H)
    assert FPS * 0.5 <= health["fps"] <= FPS * 1.6, health["fps"]  # a loose range around the source rate
    r = client.get(f"/api/v1/cameras/{cam['id']}/snapshot.jpg", headers=world.auth("op_a"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert _decode(r.content).shape == (H, W, 3)
    detail = client.get(f"/api/v1/cameras/{cam['id']}", headers=world.auth("admin")).json()
    assert detail["status"] == "online"


def test_dropped_connection_goes_offline_then_back_online(
    client: Any, world: Any, db: Any, mjpeg: MjpegServer
) -> None:
    body = camera_body(world, source_kind="http_mjpeg", substream_url=mjpeg.url, main_url="")
    cam = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a")).json()
    wait_for(lambda: device_events(db, cam["asset_id"]) == ["online"], what="online")
    wait_for(lambda: _health(client, world, cam["id"])["fps"], what="fps over MJPEG")
    mjpeg.drop()  # the stream breaks and the server refuses new connections
    wait_for(lambda: device_events(db, cam["asset_id"]) == ["online", "offline"], what="offline")
    health = _health(client, world, cam["id"])
    assert health["status"] == "offline" and health["reconnects"] >= 1 and health["error"]
    assert (
        client.get(f"/api/v1/cameras/{cam['id']}", headers=world.auth("op_a")).json()["status"] == "offline"
    )
    mjpeg.resume()  # the camera comes back: the backoff retries find it
    wait_for(
        lambda: device_events(db, cam["asset_id"]) == ["online", "offline", "online"], what="back online"
    )
    assert _health(client, world, cam["id"])["status"] == "online"
    assert mjpeg.clients >= 2


def test_mjpeg_live_view_and_view_audit(client: Any, world: Any, db: Any, video: Any) -> None:
    body = camera_body(world, source_kind="file", substream_url=video.as_uri(), main_url="")
    cam = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a")).json()
    wait_for(lambda: device_events(db, cam["asset_id"]) == ["online"], what="online")
    wait_for(
        lambda: (
            client.get(
                f"/api/v1/cameras/{cam['id']}/snapshot.jpg", headers=world.auth("leader_a")
            ).status_code
            == 200
        ),
        what="a first image",
    )
    with client.stream(
        "GET", f"/api/v1/cameras/{cam['id']}/mjpeg?limit=3&fps=10", headers=world.auth("op_a")
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("multipart/x-mixed-replace; boundary=frame")
        data = b"".join(r.iter_bytes())
    parts = [p for p in data.split(b"--frame\r\n") if p]
    assert len(parts) == 3
    head, jpeg = parts[0].split(b"\r\n\r\n", 1)
    assert b"image/jpeg" in head and _decode(jpeg.rstrip(b"\r\n")).shape == (H, W, 3)
    for _ in range(3):  # the wall refreshes: one viewing session, one audit row
        client.get(f"/api/v1/cameras/{cam['id']}/snapshot.jpg", headers=world.auth("leader_a"))
    with db.session() as s:
        views = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "camera.view").order_by(AuditEntry.id)
        ).all()
        got = [(v.actor, v.entity_id, v.changes["kind"]) for v in views]
    assert got == [("leader_a", str(cam["id"]), "snapshot"), ("op_a", str(cam["id"]), "live")]


def test_viewers_without_the_live_permission_get_no_image(client: Any, world: Any, video: Any) -> None:
    body = camera_body(world, source_kind="file", substream_url=video.as_uri(), main_url="")
    cam = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a")).json()
    for who, code in (("viewer_a", 403), ("police_a", 403), ("op_b", 404), ("citizen", 404)):
        for suffix in ("snapshot.jpg", "mjpeg?limit=1"):
            r = client.get(f"/api/v1/cameras/{cam['id']}/{suffix}", headers=world.auth(who))
            assert r.status_code == code, (who, suffix, r.text)


def test_backoff_is_capped_and_jittered() -> None:
    delays = list(itertools.islice(backoff_delays(1.0, 8.0, random.Random(1)), 10))
    nominal = [1, 2, 4, 8, 8, 8, 8, 8, 8, 8]
    assert all(n / 2 <= d <= n for d, n in zip(delays, nominal, strict=True))
    assert len({round(d, 6) for d in delays[3:]}) > 1  # not all the same instant
