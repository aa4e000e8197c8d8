"""The camera form: an operator adds a camera from the page and edits it; a bad form is shown again with the
reasons and the typed values and changes nothing; a wrong CSRF token, a leader, another commune's operator
are refused; credentials are stored encrypted and never shown back."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from tests.modules.media.test_pages import login
from toancanh.modules.cameras.models import Camera


def _csrf(client: Any, path: str) -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def _count(db: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Camera)) or 0)


def _form(world: Any, csrf: str, **extra: Any) -> dict[str, Any]:
    data = {
        "csrf": csrf,
        "code": "cam-cong-th",
        "name": "Camera cổng trường Tiểu học Đại Thanh",
        "unit_id": str(world.units["A"].id),
        "domain": "education",
        "lat": "20.9301",
        "lon": "105.8202",
        "source_kind": "rtsp",
        "substream_url": "rtsp://192.0.2.10:554/Streaming/Channels/102",
        "main_url": "rtsp://192.0.2.10:554/Streaming/Channels/101",
        "username": "admin",
        "password": "mat-khau-bi-mat",
        "detect_fps": "5",
        "direction_deg": "135",
        "fov_deg": "90",
        "range_m": "50",
        "groups": ["school_gate"],
        "enabled": "on",
    }
    data.update(extra)
    return data


def test_an_operator_adds_and_edits_a_camera_from_the_page(client: Any, world: Any, db: Any) -> None:
    login(client, "op_a")
    page = client.get("/cameras")
    assert 'href="/cameras/new"' in page.text
    csrf = _csrf(client, "/cameras/new")
    r = client.post("/cameras/new", data=_form(world, csrf), follow_redirects=False)
    assert r.status_code == 303, r.text
    cam_id = int(r.headers["location"].rsplit("/", 1)[1])
    cam = client.get(f"/api/v1/cameras/{cam_id}", headers=world.auth("op_a")).json()
    assert cam["name"] == "Camera cổng trường Tiểu học Đại Thanh" and cam["groups"] == ["school_gate"]
    assert cam["direction_deg"] == 135 and cam["has_credentials"] is True
    with db.session() as s:
        row = s.get(Camera, cam_id)
        assert row is not None and "mat-khau-bi-mat" not in (row.password_enc or "")
    detail = client.get(f"/cameras/{cam_id}")
    assert f'href="/cameras/{cam_id}/edit"' in detail.text
    edit = client.get(f"/cameras/{cam_id}/edit")
    assert "mat-khau-bi-mat" not in edit.text and "rtsp://192.0.2.10:554/Streaming/Channels/102" in edit.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', edit.text).group(1)  # type: ignore[union-attr]
    r = client.post(
        f"/cameras/{cam_id}/edit",
        data={
            "csrf": csrf,
            "name": "Camera cổng sau",
            "source_kind": "rtsp",
            "substream_url": "rtsp://192.0.2.11:554/sub",
            "main_url": "",
            "detect_fps": "3",
            "direction_deg": "",
            "fov_deg": "70",
            "range_m": "40",
            "groups": ["school_gate", "public_place"],
            "clear_credentials": "on",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    cam = client.get(f"/api/v1/cameras/{cam_id}", headers=world.auth("op_a")).json()
    assert cam["name"] == "Camera cổng sau" and cam["substream_url"] == "rtsp://192.0.2.11:554/sub"
    assert cam["enabled"] is False and cam["has_credentials"] is False and cam["detect_fps"] == 3
    assert cam["groups"] == ["school_gate", "public_place"]


def test_a_bad_form_shows_the_reasons_and_changes_nothing(client: Any, world: Any, db: Any) -> None:
    login(client, "op_a")
    csrf = _csrf(client, "/cameras/new")
    cases = [
        {"substream_url": "ftp://192.0.2.10/x"},  # not the source kind's scheme
        {"lat": "north"},
        {"lat": "120"},
        {"code": "có dấu"},
        {"unit_id": str(world.units["B"].id)},  # another commune's unit
        {"detect_fps": "0"},
        {"direction_deg": "400"},
        {"source_kind": "webcam"},
    ]
    for extra in cases:
        r = client.post("/cameras/new", data=_form(world, csrf, **extra))
        assert r.status_code in (400, 403), (extra, r.status_code)
        if r.status_code == 400:
            assert 'id="form-errors"' in r.text and "Chưa lưu được" in r.text, extra
            assert "Camera cổng trường Tiểu học Đại Thanh" in r.text  # the typed values are kept
            assert "mat-khau-bi-mat" not in r.text  # but never the password
    assert _count(db) == 0
    r = client.post("/cameras/new", data=_form(world, "wrong"))
    assert r.status_code == 403 and _count(db) == 0


def test_who_may_use_the_form(client: Any, world: Any, db: Any) -> None:
    login(client, "op_a")
    r = client.post("/cameras/new", data=_form(world, _csrf(client, "/cameras/new")), follow_redirects=False)
    cam_id = int(r.headers["location"].rsplit("/", 1)[1])
    for who in ("leader_a", "viewer_a"):
        client.cookies.clear()
        login(client, who)
        assert 'href="/cameras/new"' not in client.get("/cameras").text, who
        assert client.get("/cameras/new").status_code == 403, who
        assert client.get(f"/cameras/{cam_id}/edit").status_code == 403, who
    # another commune's operator adds cameras in their own commune only, and cannot edit this one
    client.cookies.clear()
    login(client, "op_b")
    page = client.get("/cameras/new").text
    assert f'value="{world.units["B"].id}"' in page and f'value="{world.units["A"].id}"' not in page
    assert client.get(f"/cameras/{cam_id}/edit").status_code == 404
    client.cookies.clear()
    assert client.get("/cameras/new", follow_redirects=False).status_code in (302, 303)  # to the login page
    assert _count(db) == 1
