"""Pages of the cameras module as each role: the list, the wall and a camera's page render in Vietnamese,
need a session and the right permission, hide cameras outside the caller's units (404), escape names and
carry no inline script."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import WORLD_USERS
from tests.modules.alerts.test_pages import web_login
from tests.modules.cameras.conftest import camera_body

XSS = "<script>alert(1)</script>"

# who: (/cameras, /cameras/wall, camera in A, camera in B)
EXPECTED = {
    "admin": (200, 200, 200, 200),
    "leader_a": (200, 200, 200, 404),
    "op_a": (200, 200, 200, 404),
    "op_hamlet": (200, 200, 404, 404),
    "op_b": (200, 200, 404, 200),
    "police_a": (200, 403, 200, 404),
    "traffic_center": (200, 200, 200, 200),
    "viewer_a": (200, 403, 200, 404),
    "citizen": (403, 403, 403, 403),  # no camera permission anywhere
}


@pytest.fixture
def cams(client: Any, world: Any) -> dict[str, int]:
    a = client.post(
        "/api/v1/cameras",
        json=camera_body(
            world,
            code="cam-page-a",
            asset={**camera_body(world)["asset"], "code": "cam-page-a", "name": f"Camera {XSS} cổng trường"},
        ),
        headers=world.auth("admin"),
    )
    b = client.post(
        "/api/v1/cameras", json=camera_body(world, unit="B", code="cam-page-b"), headers=world.auth("admin")
    )
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    zone = {"kind": "line", "name": "Vạch đếm xe", "points": [[0.1, 0.5], [0.9, 0.5]], "direction": "both"}
    assert (
        client.post(
            f"/api/v1/cameras/{a.json()['id']}/zones", json=zone, headers=world.auth("admin")
        ).status_code
        == 201
    )
    return {"A": a.json()["id"], "B": b.json()["id"]}


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_pages_as_each_role(client: Any, world: Any, cams: dict[str, int], who: str) -> None:
    web_login(client, who)
    urls = ("/cameras", "/cameras/wall", f"/cameras/{cams['A']}", f"/cameras/{cams['B']}")
    for url, want in zip(urls, EXPECTED[who], strict=True):
        r = client.get(url)
        assert r.status_code == want, f"{who} {url}: {r.status_code}"
        if want != 200:
            continue
        assert "<script>alert(1)" not in r.text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", r.text), "inline script"
        assert 'lang="vi"' in r.text
    if EXPECTED[who][0] == 200:
        listing = client.get("/cameras").text
        assert ("Camera &lt;script&gt;" in listing) == (EXPECTED[who][2] == 200)
        assert "Camera giám sát" in listing


def test_camera_page_shows_editor_only_to_writers(client: Any, world: Any, cams: dict[str, int]) -> None:
    web_login(client, "op_a")
    page = client.get(f"/cameras/{cams['A']}").text
    assert 'id="zone-form"' in page and 'id="cam-view"' in page and "Vạch đếm xe" in page
    assert f"/api/v1/cameras/{cams['A']}/snapshot.jpg" in page
    web_login(client, "leader_a")
    page = client.get(f"/cameras/{cams['A']}").text
    assert 'id="zone-form"' not in page and 'id="cam-view"' in page
    web_login(client, "viewer_a")
    page = client.get(f"/cameras/{cams['A']}").text
    assert 'id="cam-view"' not in page and "không có quyền xem hình ảnh" in page


def test_wall_pages_and_filters(client: Any, world: Any, cams: dict[str, int]) -> None:
    web_login(client, "admin")
    r = client.get("/cameras/wall?grid=2&interval=3&rotate=10")
    assert r.status_code == 200 and 'data-grid="2"' in r.text and r.text.count('class="cam-tile"') == 2
    assert client.get("/cameras/wall?grid=7").status_code == 422
    r = client.get("/cameras?group=waste_point")
    assert "cam-page-a" not in r.text
    r = client.get("/cameras?group=school_gate")
    assert "cam-page-a" in r.text
    assert client.get("/cameras/static/zones.js").status_code == 200
    assert client.get("/cameras/static/..%2fapi.py").status_code == 404
