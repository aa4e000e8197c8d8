"""The camera registry: create, read, update, delete; credentials encrypted and never shown; URLs checked."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select, text

from tests.modules.cameras.conftest import camera_body
from toancanh.core.assets import Asset
from toancanh.core.audit import AuditEntry
from toancanh.modules.cameras.models import Camera
from toancanh.modules.cameras.vault import Vault

PASSWORD = "Hik-Secret#2026"


def _counts(db: Any) -> tuple[int, int]:
    with db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(Camera)),
            s.scalar(select(func.count()).select_from(Asset)),
        )


def test_create_with_credentials_encrypted_and_hidden(
    client: Any, world: Any, db: Any, settings: Any
) -> None:
    body = camera_body(world, username="admin", password=PASSWORD)
    r = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a"))
    assert r.status_code == 201, r.text
    cam = r.json()
    assert cam["has_credentials"] is True and cam["status"] == "offline"
    assert cam["groups"] == ["school_gate", "intersection"]
    for url in ("/api/v1/cameras", f"/api/v1/cameras/{cam['id']}"):
        resp = client.get(url, headers=world.auth("admin"))
        assert PASSWORD not in resp.text and "username" not in resp.text and "password" not in resp.text
    with db.engine.connect() as c:
        user_raw, pw_raw = c.execute(
            text("SELECT username_enc, password_enc FROM cameras WHERE id = :i"), {"i": cam["id"]}
        ).one()
    assert PASSWORD not in pw_raw and "admin" not in user_raw
    vault = Vault.from_settings(settings)
    assert vault.open(pw_raw) == PASSWORD and vault.open(user_raw) == "admin"
    with db.session() as s:  # the audit trail says credentials changed, never what they are
        changes = [json.dumps(e.changes) for e in s.scalars(select(AuditEntry))]
    assert not any(PASSWORD in c for c in changes)


def test_key_is_generated_once_into_the_data_dir(settings: Any) -> None:
    assert not settings.camera_secret_key
    a = Vault.from_settings(settings).seal("x")
    assert (settings.data_dir / "camera_secret_key").exists()
    assert Vault.from_settings(settings).open(a) == "x"


def test_update_and_clear_credentials(client: Any, world: Any) -> None:
    cam = client.post(
        "/api/v1/cameras", json=camera_body(world, password=PASSWORD), headers=world.auth("op_a")
    ).json()
    url = f"/api/v1/cameras/{cam['id']}"
    r = client.patch(
        url,
        json={"detect_fps": 8, "direction_deg": 270, "name": "Camera cổng phụ"},
        headers=world.auth("op_a"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["detect_fps"] == 8 and r.json()["name"] == "Camera cổng phụ"
    r = client.patch(url, json={"clear_credentials": True}, headers=world.auth("op_a"))
    assert r.json()["has_credentials"] is False
    assert client.delete(url, headers=world.auth("op_a")).status_code == 204
    assert client.get(url, headers=world.auth("op_a")).status_code == 404
    # the asset stays: its history refers to it
    assert any(
        a["code"] == "cam-new"
        for a in client.get("/api/v1/assets?format=json", headers=world.auth("admin")).json()
    )


def test_register_an_existing_camera_asset_once(client: Any, world: Any) -> None:
    body = {
        "asset_id": world.assets["cam-a1"].id,
        "source_kind": "file",
        "substream_url": "file:///nowhere.mp4",
    }
    r = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a"))
    assert r.status_code == 400  # outside the media folder
    body = {
        "asset_id": world.assets["cam-a1"].id,
        "source_kind": "http_mjpeg",
        "substream_url": "http://192.0.2.5/mjpg",
    }
    assert client.post("/api/v1/cameras", json=body, headers=world.auth("op_a")).status_code == 201
    r = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a"))
    assert r.status_code == 409
    not_camera = {**body, "asset_id": world.assets["sch-a"].id}
    assert client.post("/api/v1/cameras", json=not_camera, headers=world.auth("admin")).status_code == 400


@pytest.mark.parametrize(
    ("changes", "word"),
    [
        ({"substream_url": "http://192.0.2.10/stream"}, "rtsp://"),  # scheme does not match the kind
        ({"substream_url": "rtsp://admin:12345@192.0.2.10/stream"}, "credentials"),
        ({"main_url": "rtsp://user@192.0.2.10/main"}, "credentials"),
        ({"substream_url": "rtsp:///no-host"}, "host"),
        ({"source_kind": "file", "substream_url": "file:///etc/passwd"}, "must lie in"),
        ({"source_kind": "hls", "substream_url": "ftp://192.0.2.1/x.m3u8"}, "http://"),
        ({"substream_url": "rtsp://192.0.2.10:99999/x"}, "invalid URL"),
    ],
)
def test_bad_urls_are_refused_and_change_nothing(
    client: Any, world: Any, db: Any, changes: dict[str, Any], word: str
) -> None:
    before = _counts(db)
    r = client.post("/api/v1/cameras", json=camera_body(world, **changes), headers=world.auth("op_a"))
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert word in err["message_en"] and err["message"]
    assert _counts(db) == before


def test_bad_bodies_are_refused(client: Any, world: Any, db: Any) -> None:
    before = _counts(db)
    for body in (
        camera_body(world, source_kind="onvif"),
        camera_body(world, groups=["casino"]),
        camera_body(world, detect_fps=0),
        camera_body(world, direction_deg=360),
        {**camera_body(world), "asset_id": world.assets["cam-a1"].id},  # both
        {k: v for k, v in camera_body(world).items() if k != "asset"},  # neither
    ):
        r = client.post("/api/v1/cameras", json=body, headers=world.auth("op_a"))
        assert r.status_code in (400, 422), (body, r.text)
        assert set(r.json()["error"]) >= {"code", "message", "message_en"}
    assert _counts(db) == before


def test_list_filters(client: Any, world: Any) -> None:
    client.post("/api/v1/cameras", json=camera_body(world, code="c1"), headers=world.auth("op_a"))
    client.post(
        "/api/v1/cameras",
        json=camera_body(world, unit="H1", code="c2", groups=["waste_point"]),
        headers=world.auth("op_a"),
    )

    def get(q: str) -> set[str]:
        return {c["code"] for c in client.get(f"/api/v1/cameras?{q}", headers=world.auth("admin")).json()}

    assert get("") == {"c1", "c2"}
    assert get("group=waste_point") == {"c2"}
    assert get(f"unit_id={world.units['H1'].id}") == {"c2"}
    assert get("status=online") == set()
    assert get("q=c1") == {"c1"}
    assert client.get("/api/v1/cameras?group=casino", headers=world.auth("admin")).status_code == 400
    fc = client.get("/api/v1/cameras?format=geojson", headers=world.auth("admin")).json()
    assert fc["type"] == "FeatureCollection" and fc["features"][0]["properties"]["direction_deg"] == 135
