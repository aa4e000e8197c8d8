"""The permission matrix for cameras and zones: list, detail, create, live view, zones, for every role."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import WORLD_USERS
from tests.modules.cameras.conftest import make_video
from tests.permission_matrix import Resource, covers
from toancanh.core.assets import Asset
from toancanh.core.auth.permissions import role_has
from toancanh.modules.cameras.models import Camera


def _path(w: Any, unit_id: int) -> str:
    return next(u.path for u in w.units.values() if u.id == unit_id)


@pytest.fixture
def cam_world(world: Any, db: Any, settings: Any) -> Any:
    """Cameras on cam-a1 (hamlet H1, traffic), cam-b1 (commune B, traffic) and a kitchen camera (A, education)."""
    video = make_video((settings.data_dir / "media").resolve() / "v.mp4", seconds=0.5)
    world.cameras = {}
    with db.session() as s:
        kitchen = Asset(
            code="cam-a-kitchen",
            type="camera",
            domain="education",
            name="Camera bếp",
            unit_id=world.units["A"].id,
            lat=20.91,
            lon=105.81,
        )
        s.add(kitchen)
        s.flush()
        for key, asset_id in (
            ("cam-a1", world.assets["cam-a1"].id),
            ("cam-b1", world.assets["cam-b1"].id),
            ("kitchen", kitchen.id),
        ):
            asset = s.get(Asset, asset_id)
            cam = Camera(
                asset_id=asset_id,
                source_kind="file",
                substream_url=video.as_uri(),
                main_url="",
                groups=["intersection"],
            )
            s.add(cam)
            s.flush()
            world.cameras[key] = (cam.id, _path(world, asset.unit_id), asset.domain)
    return world


def _body(w: Any, unit: str, sfx: str) -> dict[str, Any]:
    return {
        "asset": {
            "code": f"c-{sfx}",
            "name": "Camera mới",
            "unit_id": w.units[unit].id,
            "domain": "traffic",
            "lat": 20.9,
            "lon": 105.8,
        },
        "source_kind": "rtsp",
        "substream_url": "rtsp://192.0.2.20/sub",
    }


CAMERAS = Resource(
    name="cameras",
    list_url="/api/v1/cameras",
    detail_url=lambda i: f"/api/v1/cameras/{i}",
    read_permission="cameras.read",
    objects=lambda w: w.cameras,
    ids_from_list=lambda body: {c["id"] for c in body},
    create_url="/api/v1/cameras",
    write_permission="cameras.write",
    create_body=_body,
    create_targets=[("A", "traffic"), ("B", "traffic"), ("H1", "traffic")],
)


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_list_and_detail_follow_grants(client: Any, cam_world: Any, who: str) -> None:
    w, res = cam_world, CAMERAS
    resp = client.get(res.list_url, headers=w.auth(who))
    expected = {oid for oid, path, dom in w.cameras.values() if covers(who, res.read_permission, path, dom)}
    if resp.status_code == 403:
        assert not role_has(WORLD_USERS[who][0], res.read_permission)
        return
    assert resp.status_code == 200, resp.text
    assert res.ids_from_list(resp.json()) == expected
    for oid, path, dom in w.cameras.values():
        r = client.get(res.detail_url(oid), headers=w.auth(who))
        want = 200 if covers(who, res.read_permission, path, dom) else 404
        assert r.status_code == want, f"{who} GET {oid}: {r.status_code} != {want}"


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_create_follows_grants(client: Any, cam_world: Any, who: str) -> None:
    w, res = cam_world, CAMERAS
    for n, (unit, domain) in enumerate(res.create_targets):
        before = len(client.get(res.list_url, headers=w.auth("admin")).json())
        r = client.post(
            res.create_url, json=_body(w, unit, f"{who}-{n}".replace("_", "-")), headers=w.auth(who)
        )
        allowed = covers(who, "cameras.write", w.units[unit].path, domain)
        assert r.status_code == (201 if allowed else 403), f"{who} create in {unit}: {r.status_code} {r.text}"
        after = len(client.get(res.list_url, headers=w.auth("admin")).json())
        assert after == before + (1 if allowed else 0)


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_update_delete_and_live_view_follow_grants(client: Any, cam_world: Any, who: str) -> None:
    w = cam_world
    for oid, path, dom in w.cameras.values():
        sees = covers(who, "cameras.read", path, dom)
        writes = covers(who, "cameras.write", path, dom)
        views = covers(who, "cameras.view", path, dom)
        r = client.patch(f"/api/v1/cameras/{oid}", json={"detect_fps": 3}, headers=w.auth(who))
        assert r.status_code == (200 if writes else 403 if sees else 404), (who, oid, r.text)
        r = client.get(f"/api/v1/cameras/{oid}/snapshot.jpg", headers=w.auth(who))
        assert r.status_code == (200 if views else 403 if sees else 404), (who, oid, r.text)
        r = client.delete(f"/api/v1/cameras/{oid}", headers=w.auth("citizen"))
        assert r.status_code == 404


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_zones_follow_the_camera_grants(client: Any, cam_world: Any, who: str) -> None:
    w = cam_world
    zone = {"kind": "zone", "name": "Vùng", "points": [[0.1, 0.1], [0.4, 0.1], [0.4, 0.4]]}
    for oid, path, dom in w.cameras.values():
        sees = covers(who, "cameras.read", path, dom)
        writes = covers(who, "cameras.write", path, dom)
        before = client.get(f"/api/v1/cameras/{oid}/zones", headers=w.auth("admin")).json()
        r = client.get(f"/api/v1/cameras/{oid}/zones", headers=w.auth(who))
        assert r.status_code == (200 if sees else 404)
        r = client.post(f"/api/v1/cameras/{oid}/zones", json=zone, headers=w.auth(who))
        assert r.status_code == (201 if writes else 403 if sees else 404), (who, oid, r.text)
        after = client.get(f"/api/v1/cameras/{oid}/zones", headers=w.auth("admin")).json()
        assert len(after) == len(before) + (1 if writes else 0)
        if writes:
            zid = r.json()["id"]
            for other in WORLD_USERS:
                if not covers(other, "cameras.write", path, dom):
                    r2 = client.patch(
                        f"/api/v1/cameras/{oid}/zones/{zid}", json={"name": "x"}, headers=w.auth(other)
                    )
                    assert r2.status_code in (403, 404), (other, r2.status_code)


def test_unauthenticated_requests_are_refused(client: Any, cam_world: Any) -> None:
    oid = cam_world.cameras["cam-a1"][0]
    for url in (
        "/api/v1/cameras",
        f"/api/v1/cameras/{oid}",
        f"/api/v1/cameras/{oid}/zones",
        f"/api/v1/cameras/{oid}/snapshot.jpg",
    ):
        r = client.get(url)
        assert r.status_code == 401 and set(r.json()["error"]) >= {"code", "message", "message_en"}


def test_matrix_is_not_trivial(app: Any) -> None:  # the app registers the module permissions
    assert covers("police_a", "cameras.read", "/01/00664/0066401/", "traffic")
    assert not covers("police_a", "cameras.read", "/01/00664/", "education")
    assert not covers("police_a", "cameras.view", "/01/00664/0066401/", "traffic")
    assert covers("leader_a", "cameras.view", "/01/00664/", "education")
    assert not covers("leader_a", "cameras.write", "/01/00664/", "education")
    assert not covers("viewer_a", "cameras.view", "/01/00664/", "traffic")
    assert covers("traffic_center", "cameras.write", "/01/00070/", "traffic")
    assert not covers("citizen", "cameras.read", "/01/00664/", "traffic")
