"""Cameras in Chromium: the camera wall shows live snapshots of the demo's cameras, and a zone drawn on a
camera's image with the mouse (click, click, click, double-click) is saved through the API.

The Đại Thanh demo runs with the camera monitor on (its cameras play synthetic local videos). Screenshots
go to /tmp/shots-cameras (or TOANCANH_SHOTS).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import seeded_demo_settings, serving
from tests.e2e.test_browser import Page
from toancanh.core.assets import Asset
from toancanh.core.db import Database
from toancanh.modules.cameras.models import Camera, CameraZone

pytestmark = pytest.mark.browser
WALL = {"viewport": {"width": 1920, "height": 1080}}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Database]]:
    from toancanh.app import create_app

    settings = seeded_demo_settings(tmp_path_factory.mktemp("e2e-cameras"), camera_monitor=True)
    db = Database(settings.resolved_database_url)
    with serving(create_app(settings), "e2e-cameras") as url:
        yield url, db
    db.dispose()


@pytest.fixture(scope="module")
def shots() -> Path:
    path = Path(os.environ.get("TOANCANH_SHOTS", "/tmp/shots-cameras"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _errors(p: Page) -> list[str]:
    # an offline camera's snapshot is a 503 by design; the browser logs every failed image load
    return [e for e in p.errors if "503" not in e]


def test_camera_wall_shows_live_snapshots(browser: Any, demo: tuple[str, Database], shots: Path) -> None:
    url, _ = demo
    p = Page(browser, url, **WALL)
    try:
        p.login("trucban")
        p.goto("/cameras/wall?grid=3&interval=2&rotate=0")
        p.page.wait_for_function(
            "() => [...document.querySelectorAll('.cam-tile:not([hidden]) img')]"
            ".filter(i => i.naturalWidth > 0).length >= 8",
            timeout=30_000,
        )
        visible = p.page.locator(".cam-tile:not([hidden])").count()
        assert visible == 9
        p.page.click("#wall-next")
        assert p.page.locator("#wall").get_attribute("data-page") == "1"
        p.page.click("#wall-prev")
        p.page.wait_for_function(
            "() => [...document.querySelectorAll('.cam-tile:not([hidden]) img')].filter(i => i.naturalWidth > 0).length >= 8"
        )
        p.page.screenshot(path=str(shots / "cameras-wall.png"))
        p.goto("/cameras")
        p.page.wait_for_function("() => Number(document.getElementById('cam-map').dataset.cameras || 0) > 0")
        p.page.screenshot(path=str(shots / "cameras-list.png"))
        p.goto("/")  # the control room's map draws the cameras' view cones
        p.page.wait_for_function("() => Number(document.getElementById('map').dataset.cameraCones || 0) > 30")
        assert not _errors(p), _errors(p)
    finally:
        p.close()


def test_draw_a_zone_on_the_camera_image(browser: Any, demo: tuple[str, Database], shots: Path) -> None:
    url, db = demo
    with db.session() as s:
        cam_id = s.scalar(
            select(Camera.id)
            .join(Asset, Asset.id == Camera.asset_id)
            .where(Asset.code.like("cam-%"), Asset.status == "online", Asset.name.like("%tập kết rác%"))
            .order_by(Camera.id)
        )
    assert cam_id is not None
    p = Page(browser, url, **WALL)
    try:
        p.login("trucban")
        p.goto(f"/cameras/{cam_id}")
        p.page.wait_for_function(
            "() => document.getElementById('cam-view').dataset.loaded === '1'", timeout=30_000
        )
        before = int(p.page.locator("#cam-svg").get_attribute("data-zones") or 0)
        p.page.click("[data-draw=zone]")
        box = p.page.locator("#cam-svg").bounding_box()
        assert box is not None
        at = lambda fx, fy: (box["x"] + fx * box["width"], box["y"] + fy * box["height"])  # noqa: E731
        for fx, fy in ((0.55, 0.2), (0.9, 0.2), (0.95, 0.6)):
            p.page.mouse.click(*at(fx, fy))
        p.page.mouse.dblclick(*at(0.6, 0.65))
        p.page.fill("#zone-form input[name=name]", "Bãi đất trống cấm đổ rác")
        p.page.check("#zone-form input[name=purpose][value=no_dumping]")
        p.page.select_option("#zone-form select[name=schedule]", "school_hours")
        p.page.click("#zone-save")
        p.page.wait_for_function("() => document.getElementById('cam-view').dataset.saved")
        assert int(p.page.locator("#cam-svg").get_attribute("data-zones") or 0) == before + 1
        with db.session() as s:
            zone = s.scalar(select(CameraZone).where(CameraZone.name == "Bãi đất trống cấm đổ rác"))
            assert zone is not None and zone.camera_id == cam_id
            assert (
                zone.kind == "zone"
                and zone.purposes == ["no_dumping"]
                and zone.schedule == {"type": "school_hours"}
            )
            assert len(zone.points) == 4
            assert abs(zone.points[0][0] - 0.55) < 0.02 and abs(zone.points[3][1] - 0.65) < 0.02
        assert p.page.locator("#zone-table", has_text="Bãi đất trống cấm đổ rác").count() == 1
        # move a corner by dragging its handle: saved at once (the form took the focus: measure again)
        p.page.locator("#cam-svg").scroll_into_view_if_needed()
        box = p.page.locator("#cam-svg").bounding_box()
        assert box is not None
        p.page.mouse.move(*at(0.9, 0.2))
        p.page.mouse.down()
        p.page.mouse.move(*at(0.85, 0.1), steps=5)
        with p.page.expect_response(lambda r: "/zones/" in r.url and r.request.method == "PATCH") as resp:
            p.page.mouse.up()
        assert resp.value.status == 200
        with db.session() as s:
            zone = s.scalar(select(CameraZone).where(CameraZone.name == "Bãi đất trống cấm đổ rác"))
            assert zone is not None and abs(zone.points[1][1] - 0.1) < 0.03, zone.points
        p.page.evaluate("window.scrollTo(0, 0)")
        p.page.screenshot(path=str(shots / "camera-detail-zone.png"), full_page=True)
        assert not _errors(p), _errors(p)
    finally:
        p.close()


def test_add_a_camera_with_the_form_and_place_it_on_the_map(
    browser: Any, demo: tuple[str, Database], shots: Path
) -> None:
    url, db = demo
    p = Page(browser, url, viewport={"width": 1440, "height": 1000})
    try:
        p.login("trucban")
        p.goto("/cameras")
        p.page.click("#cam-add")
        p.page.wait_for_selector("#cam-pick.leaflet-container")
        p.page.fill("input[name=code]", "cam-form-e2e")
        p.page.fill("input[name=name]", "Camera ngã ba chợ (thêm từ biểu mẫu)")
        p.page.select_option("select[name=domain]", "traffic")
        p.page.check("input[name=groups][value=intersection]")
        p.page.fill("input[name=substream_url]", "rtsp://192.0.2.40:554/Streaming/Channels/102")
        p.page.fill("input[name=direction_deg]", "200")
        box = p.page.locator("#cam-pick").bounding_box()
        assert box is not None
        lat_before = p.page.input_value("#cam-lat")
        p.page.mouse.click(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.3)
        assert p.page.input_value("#cam-lat") != lat_before  # the map click placed the camera
        lat, lon = float(p.page.input_value("#cam-lat")), float(p.page.input_value("#cam-lon"))
        p.page.screenshot(path=str(shots / "camera-form.png"), full_page=True)
        p.page.click("#camera-form button[type=submit]")
        p.page.wait_for_url("**/cameras/*")
        assert "Camera ngã ba chợ" in p.page.locator("h1").inner_text()
        with db.session() as s:
            row = s.execute(
                select(Camera, Asset)
                .join(Asset, Asset.id == Camera.asset_id)
                .where(Asset.code == "cam-form-e2e")
            ).first()
            assert row is not None
            camera, asset = row
            assert camera.groups == ["intersection"] and camera.direction_deg == 200
            assert abs(asset.lat - lat) < 1e-5 and abs(asset.lon - lon) < 1e-5 and asset.domain == "traffic"
        assert not _errors(p), _errors(p)
    finally:
        p.close()
