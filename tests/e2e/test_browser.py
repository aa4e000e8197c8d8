"""End to end in a real browser: the Đại Thanh demo served by uvicorn, driven by Playwright in Debian's Chromium.

One server for the module (SQLite + in-process bus, the demo seed, the simulator every 0.5 s); a fresh browser
context for each test. Screenshots go to a temporary folder (printed with `-s`). Without /usr/bin/chromium the
module is skipped, unless TOANCANH_REQUIRE_BROWSER is set, in which case it fails.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import seeded_demo_settings, serving
from toancanh.core.api.deps import SESSION_COOKIE
from toancanh.demo.seed import DEMO_PASSWORDS

pytestmark = pytest.mark.browser

USER = "trucban"
SCHOOLS_IN_DEMO = 20


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo IOC, with its simulator, on a free port of 127.0.0.1 in a background thread."""
    from toancanh.app import create_app

    settings = seeded_demo_settings(
        tmp_path_factory.mktemp("e2e-data"), simulator=True, simulator_interval_s=0.5
    )
    with serving(create_app(settings), "e2e-uvicorn") as url:
        yield url


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("e2e-screenshots")
    print(f"\nscreenshots: {path}")
    return path


class Page:
    """A page in its own browser context that records console errors and uncaught exceptions."""

    def __init__(self, browser: Any, base: str, **context_args: Any) -> None:
        self.base = base
        self.context = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", **context_args)
        self.context.set_default_timeout(10_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on(
            "console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base + path)

    def login(self, username: str = USER, password: str | None = None) -> None:
        self.goto("/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", password or DEMO_PASSWORDS[username][0])
        with self.page.expect_navigation():
            self.page.click("button[type=submit]")

    def wait_for_map(self) -> None:
        self.page.wait_for_selector("#map.leaflet-container .leaflet-map-pane", state="attached")
        self.page.wait_for_function(
            "() => { const m = document.getElementById('map');"
            " return Number(m.dataset.assets || 0) > 0 && Number(m.dataset.boundaries || 0) > 0; }"
        )

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def make_page(browser: Any, server: str) -> Iterator[Any]:
    pages: list[Page] = []

    def make(**context_args: Any) -> Page:
        pages.append(Page(browser, server, **context_args))
        return pages[-1]

    yield make
    for p in pages:
        p.close()


def test_login_page_is_vietnamese_and_refuses_a_wrong_password(make_page: Any, shots: Path) -> None:
    p = make_page()
    p.goto("/")
    assert p.page.url == f"{p.base}/login?next=/"
    assert p.page.get_attribute("html", "lang") == "vi"
    assert p.page.locator("button[type=submit]").inner_text().strip() == "Đăng nhập"
    p.login(USER, "not-the-password")
    assert p.page.url.startswith(f"{p.base}/login")
    error = p.page.locator("p.error[role=alert]")
    assert error.inner_text().strip() == "Sai tên đăng nhập hoặc mật khẩu"
    assert not any(c["name"] == SESSION_COOKIE for c in p.context.cookies())
    p.page.screenshot(path=str(shots / "login-wrong-password.png"))


def test_control_room_map_kpis_and_live_ticker(make_page: Any, shots: Path) -> None:
    p = make_page(viewport={"width": 1440, "height": 900})
    p.login()
    assert p.page.url == f"{p.base}/"
    p.wait_for_map()
    assert p.page.locator("#map .leaflet-overlay-pane canvas, #map .leaflet-overlay-pane svg").count() > 0
    assert int(p.page.get_attribute("#map", "data-assets") or 0) > 0
    assert int(p.page.get_attribute("#map", "data-boundaries") or 0) > 0
    schools = p.page.locator(".kpi", has=p.page.locator(".l", has_text="Trường học")).locator(".v")
    assert schools.inner_text().strip() == str(SCHOOLS_IN_DEMO)
    assert "Phòng điều hành" in p.page.locator("h1").inner_text()
    assert "Phòng điều hành" in p.page.locator("header nav").inner_text()
    # the simulator publishes every 0.5 s; the ticker counts what arrives over the event stream
    p.page.wait_for_function(
        "() => Number(document.getElementById('ticker').dataset.received || 0) >= 1", timeout=15_000
    )
    assert p.page.get_attribute("#ticker", "data-live") == "1"
    assert p.page.locator("#ticker li").count() >= 1
    p.page.screenshot(path=str(shots / "control-room-1440.png"))
    assert p.errors == [], "\n".join(p.errors)


def test_phone_has_no_horizontal_overflow(make_page: Any, shots: Path) -> None:
    p = make_page(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2
    )
    p.login()
    p.wait_for_map()
    width = p.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"page is {width}px wide on a 390px phone"
    p.page.screenshot(path=str(shots / "control-room-phone.png"), full_page=True)
    assert p.errors == [], "\n".join(p.errors)


def test_video_wall_puts_map_and_ticker_side_by_side(make_page: Any, shots: Path) -> None:
    p = make_page(viewport={"width": 1920, "height": 1080})
    p.login()
    p.wait_for_map()
    m = p.page.locator(".map-panel").bounding_box()
    t = p.page.locator(".ticker-panel").bounding_box()
    assert m and t
    assert t["x"] >= m["x"] + m["width"] - 1, f"ticker {t} is not right of the map {m}"
    assert t["y"] < m["y"] + m["height"] and m["y"] < t["y"] + t["height"], (
        "map and ticker do not share a row"
    )
    assert m["width"] > t["width"], "the map should be the larger panel"
    assert p.page.evaluate("() => document.documentElement.scrollWidth") <= 1920 + 1
    p.page.screenshot(path=str(shots / "control-room-1920.png"))
    assert p.errors == [], "\n".join(p.errors)


def test_english_switch(make_page: Any, shots: Path) -> None:
    p = make_page()
    p.login()
    p.goto("/lang/en")
    assert p.page.url == f"{p.base}/"
    assert p.page.get_attribute("html", "lang") == "en"
    assert "Control room" in p.page.locator("h1").inner_text()
    assert "Phòng điều hành" not in p.page.locator("body").inner_text()
    assert p.page.locator(".kpi .l", has_text="Schools").count() == 1
    p.page.screenshot(path=str(shots / "control-room-en.png"))
    p.goto("/lang/vi")
    assert "Phòng điều hành" in p.page.locator("h1").inner_text()
