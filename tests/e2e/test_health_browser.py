"""Epidemic monitoring and facilities in Chromium, on the demo: the levels map fills the commune and its
hamlets with their level's colour and shows lockdown points and the quarantine zone; the duty operator sees
cases anonymized, the health station's officer sees them with names; a commune's history of levels; the
facilities registry with its map. Screenshots go to /tmp/shots-health (or TOANCANH_SHOTS)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import seeded_demo_settings, serving
from tests.e2e.test_browser import Page

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("TOANCANH_SHOTS", "/tmp/shots-health"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from toancanh.app import create_app

    settings = seeded_demo_settings(tmp_path_factory.mktemp("e2e-health"))
    with serving(create_app(settings), "e2e-health") as url:
        yield url


def test_levels_map_and_privacy(browser: Any, demo: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    p = Page(browser, demo, viewport={"width": 1400, "height": 1100})
    try:
        p.login("trucban")
        p.goto("/health")
        rows = p.page.locator("#health-levels tbody tr[data-unit]")
        assert rows.count() == 15  # the commune and its 14 hamlets
        levels = {rows.nth(i).get_attribute("data-level") for i in range(rows.count())}
        assert levels <= {"1", "2", "3", "4"} and len(levels) >= 2
        assert "4800/QĐ-BYT" in p.page.locator("#health-citation").inner_text()
        p.page.wait_for_function(
            "() => Number(document.getElementById('health-map').dataset.communes || 0) == 15"
        )
        p.page.wait_for_function(
            "() => Number(document.getElementById('health-map').dataset.points || 0) >= 3"
        )
        # the layer switcher lists the two scales of levels and the three point layers
        labels = p.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
        assert any("xã" in t for t in labels) and any("thôn" in t for t in labels)
        assert any("phong tỏa" in t for t in labels) and any("cách ly" in t for t in labels)
        assert p.page.locator("#anonymized-note").count() == 1
        p.page.screenshot(path=str(SHOTS / "health-levels.png"), full_page=True)
        # a hamlet's history
        p.page.click("#health-levels tbody tr[data-unit='0066406'] a")
        hist = p.page.locator("#health-history tbody tr")
        assert hist.count() == 8
        # the duty operator (no health-sector grant) gets anonymized cases from the API
        cases = p.page.evaluate("fetch('/api/v1/health/cases?limit=5').then(r => r.json())")
        assert cases["total"] > 20 and all("full_name" not in c for c in cases["items"])
        assert not p.errors, p.errors
        assert p.page.evaluate("fetch('/api/v1/health/contacts').then(r => r.status)") == 403
    finally:
        p.close()
    p = Page(browser, demo, viewport={"width": 1400, "height": 900})
    try:
        p.login("yte")
        p.goto("/health")
        assert p.page.locator("#anonymized-note").count() == 0
        cases = p.page.evaluate("fetch('/api/v1/health/cases?limit=5').then(r => r.json())")
        assert all(c["full_name"] for c in cases["items"])
        assert p.page.evaluate("fetch('/api/v1/health/contacts').then(r => r.status)") == 200
        assert not p.errors, p.errors
    finally:
        p.close()


def test_facilities_registry(browser: Any, demo: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    p = Page(browser, demo, viewport={"width": 1400, "height": 1000})
    try:
        p.login("trucban")
        p.goto("/facilities")
        assert p.page.locator("#facility-list tbody tr[data-code]").count() == 20
        assert "(1 camera)" in p.page.locator("#facility-list").inner_text()  # gates, kitchens watched
        p.page.wait_for_function(
            "() => Number(document.querySelector('.tc-points-map').dataset.drawn || 0) == 20"
        )
        p.page.screenshot(path=str(SHOTS / "facilities-schools.png"), full_page=True)
        p.goto("/facilities?kind=tourism_site")
        assert p.page.locator("#facility-list tbody tr[data-code]").count() == 3
        assert not p.errors, p.errors
    finally:
        p.close()
