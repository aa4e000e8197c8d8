"""Press monitoring in Chromium: the demo's local stories are on the items page's map (their places found in
the text), coloured by sentiment, and an item's page shows its place; screenshots go to /tmp/shots-media (or
TOANCANH_SHOTS)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import seeded_demo_settings, serving
from tests.e2e.test_browser import Page

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from toancanh.app import create_app

    settings = seeded_demo_settings(tmp_path_factory.mktemp("e2e-media"))
    with serving(create_app(settings), "e2e-media") as url:
        yield url


def test_items_are_on_the_map(browser: Any, demo: str) -> None:
    shots = Path(os.environ.get("TOANCANH_SHOTS", "/tmp/shots-media"))
    shots.mkdir(parents=True, exist_ok=True)
    p = Page(browser, demo, viewport={"width": 1400, "height": 1000})
    try:
        p.login("trucban")
        p.goto("/media")
        assert p.page.locator("#items tbody tr[data-item]").count() >= 8
        p.page.wait_for_function("() => Number(document.getElementById('items-map').dataset.drawn || 0) >= 8")
        p.page.screenshot(path=str(shots / "media-items.png"), full_page=True)
        p.page.click("#items tbody tr[data-item] a >> nth=0")
        p.page.wait_for_function("() => Number(document.getElementById('item-map').dataset.drawn || 0) == 1")
        assert (
            p.page.locator("#analysis").inner_text().count("Thôn")
            + p.page.locator("#analysis").inner_text().count("Tổ dân phố")
            >= 1
        )
        assert not p.errors, p.errors
    finally:
        p.close()
