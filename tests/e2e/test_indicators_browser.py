"""The leader dashboard of indicators in Chromium: tiles with sparklines, the ranking of hamlets and the
choropleth map for the chosen indicator, the sector filter, and the phone layout."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import seeded_demo_settings, serving
from tests.e2e.test_alerts_browser import no_overflow
from tests.e2e.test_browser import Page

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("TOANCANH_SHOTS", "/tmp/shots"))
HAMLETS = 14  # the demo commune's thôn and tổ dân phố, each of which reports


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from toancanh.app import create_app

    settings = seeded_demo_settings(tmp_path_factory.mktemp("e2e-indicators"))
    with serving(create_app(settings), "e2e-indicators") as url:
        yield url


def _ranked(p: Page, code: str) -> None:
    p.page.wait_for_function(
        "code => document.getElementById('ind-rank-body').dataset.loaded === code"
        " && Number(document.getElementById('ind-map').dataset.shapes || 0) > 0",
        arg=code,
    )


def test_leader_sees_tiles_ranking_and_map(browser: Any, demo: str) -> None:
    p = Page(browser, demo, viewport={"width": 1600, "height": 1000})
    try:
        p.login("lanhdao")
        p.goto("/indicators")
        tiles = p.page.locator(".ind-tile")
        assert tiles.count() >= 30
        # every tile draws its trend; the first tile's indicator is ranked and mapped on arrival
        p.page.wait_for_function(
            "() => document.querySelectorAll('.ind-spark svg').length === document.querySelectorAll('.ind-tile').length"
        )
        first = p.page.locator("#ind-rank-body").get_attribute("data-indicator") or ""
        _ranked(p, first)
        assert p.page.locator("#ind-rank-body tr").count() == HAMLETS
        assert p.page.locator("#ind-map").get_attribute("data-shapes") == str(HAMLETS)
        # on-time rate: achievement bands are shown for each hamlet, and the lagging ones come last
        bands = p.page.locator("#ind-rank-body .ind-band").all_inner_texts()
        assert len(bands) == HAMLETS
        achievements = [float(b.rstrip("%")) for b in bands]
        assert achievements == sorted(achievements, reverse=True)

        # another indicator: the ranking and the map follow, titled with its Vietnamese name
        tile = tiles.filter(has=p.page.locator("text=Tỷ lệ hồ sơ trực tuyến")).first
        code = tile.get_attribute("data-code") or ""
        assert code and code != first
        tile.locator(".ind-rank-btn").click()
        _ranked(p, code)
        assert "Tỷ lệ hồ sơ trực tuyến" in (p.page.locator("#ind-rank-name").text_content() or "")
        assert p.page.locator("#ind-rank-body tr").count() == HAMLETS

        # the forecast chart: the first indicator on arrival, then the one asked for, with its band
        p.page.wait_for_function("() => document.getElementById('ind-fc-chart').dataset.loaded")
        tile.locator(".ind-fc-btn").click()
        p.page.wait_for_function(
            "code => document.getElementById('ind-fc-chart').dataset.loaded === code", arg=code
        )
        assert p.page.locator("#ind-fc-chart svg path").count() > 3
        assert "Mô hình: AutoETS" in (p.page.locator("#ind-fc-meta").text_content() or "")
        SHOTS.mkdir(parents=True, exist_ok=True)
        p.page.locator(".ind-fc-panel").screenshot(path=str(SHOTS / "indicators_forecast.png"))

        # one sector only: fewer tiles, all still drawn
        all_tiles = tiles.count()
        p.page.select_option("select[name=domain]", "education")
        with p.page.expect_navigation():
            p.page.click(".ind-filters button[type=submit]")
        assert 0 < p.page.locator(".ind-tile").count() < all_tiles
        assert "domain=education" in p.page.url
        assert not p.errors, p.errors
    finally:
        p.close()


def test_dashboard_fits_a_phone(browser: Any, demo: str) -> None:
    p = Page(browser, demo, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        p.login("lanhdao")
        p.goto("/indicators")
        first = p.page.locator("#ind-rank-body").get_attribute("data-indicator") or ""
        _ranked(p, first)
        no_overflow(p, 390)
        assert not p.errors, p.errors
    finally:
        p.close()
