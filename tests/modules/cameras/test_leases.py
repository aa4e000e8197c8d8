"""Cameras under leases: each enabled camera is watched by exactly one process, the one holding `camera:<id>`;
a second process takes its share, and takes everything back when the other stops; an API replica watches
none and still answers snapshots and the live view from the image the watching process leaves on disk."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.modules.cameras.conftest import H, W, camera_body, wait_for
from toancanh.app import create_app
from toancanh.core import leases
from toancanh.modules.cameras.runtime import runtime_of
from toancanh.settings import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"camera_monitor": True, "lease_ttl_s": 1.5, "camera_snapshot_disk_s": 0.2}
    )


def _watching(app: Any) -> set[int]:
    monitor = runtime_of(app).monitor
    return set(monitor.watching()) if monitor is not None else set()


def test_each_camera_is_watched_by_one_process_and_moves_with_its_lease(
    settings: Settings, client: Any, world: Any, db: Any, video: Any
) -> None:
    ids = set()
    for i in range(3):
        body = camera_body(
            world, code=f"cam-{i}", source_kind="file", substream_url=video.as_uri(), main_url=""
        )
        r = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a"))
        assert r.status_code == 201, r.text
        ids.add(r.json()["id"])
    one = client.app
    wait_for(lambda: _watching(one) == ids, what="the first process watching every camera at once")
    assert {n for n in leases.holders(db) if n.startswith("camera:")} == {f"camera:{i}" for i in ids}

    two_app = create_app(settings.model_copy(update={"role": "worker"}), database=db)
    with TestClient(two_app):
        # the second process joins: the first gives back work beyond its share, cameras included
        wait_for(lambda: _watching(two_app), timeout=30, what="the second process taking cameras")
        both = wait_for(
            lambda: (a := _watching(one), b := _watching(two_app)) and a | b == ids and (a, b),
            timeout=30,
            what="every camera watched somewhere",
        )
        assert not both[0] & both[1], "a camera watched by two processes at once"
        held = leases.holders(db)
        for cam in both[1]:
            assert held[f"camera:{cam}"] == two_app.state.leases.holder
    # the second stops (its leases given back): the first takes its cameras over
    wait_for(lambda: _watching(one) == ids, timeout=30, what="the cameras back in the first process")

    # a camera removed through the API: its watcher stops and its lease is no longer registered
    gone = min(ids)
    assert client.delete(f"/api/v1/cameras/{gone}", headers=world.auth("admin")).status_code == 204
    wait_for(lambda: _watching(one) == ids - {gone}, what="the removed camera's watcher stopped")
    assert f"camera:{gone}" not in one.state.leases.work


def test_an_api_replica_watches_nothing_and_serves_the_watchers_images(
    settings: Settings, client: Any, world: Any, db: Any, video: Any
) -> None:
    body = camera_body(world, source_kind="file", substream_url=video.as_uri(), main_url="")
    cam = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a")).json()
    wait_for(lambda: _watching(client.app) == {cam["id"]}, what="the watcher")
    replica = create_app(settings.model_copy(update={"role": "api"}), database=db)
    with TestClient(replica) as api:
        assert _watching(replica) == set()
        assert not any(h == replica.state.leases.holder for h in leases.holders(db).values())
        snap = wait_for(
            lambda: (
                (
                    r := api.get(f"/api/v1/cameras/{cam['id']}/snapshot.jpg", headers=world.auth("op_a"))
                ).status_code
                == 200
                and r
            ),
            what="a snapshot through the replica",
        )
        assert snap.headers["content-type"] == "image/jpeg"
        with api.stream(
            "GET", f"/api/v1/cameras/{cam['id']}/mjpeg?limit=2&fps=10", headers=world.auth("op_a")
        ) as r:
            assert r.status_code == 200
            data = b"".join(r.iter_bytes())
        parts = [p for p in data.split(b"--frame\r\n") if p]
        assert len(parts) == 2  # two different images: the file on disk is replaced as the worker watches
        jpegs = [p.split(b"\r\n\r\n", 1)[1].rstrip(b"\r\n") for p in parts]
        assert jpegs[0] != jpegs[1]
        import cv2
        import numpy as np

        img = cv2.imdecode(np.frombuffer(jpegs[0], np.uint8), cv2.IMREAD_COLOR)
        assert img is not None and img.shape == (H, W, 3)
        # health through the replica is the stored state, not a local watcher's
        detail = api.get(f"/api/v1/cameras/{cam['id']}", headers=world.auth("op_a")).json()
        assert detail["status"] == "online"
