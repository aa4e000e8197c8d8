"""The leader's phone view in Chromium at a phone's size: today's figures, a pending extension approved with
one tap (the page comes back without it), no horizontal scrolling, no script errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import seeded_demo_settings, serving
from tests.e2e.test_alerts_browser import no_overflow
from tests.e2e.test_browser import Page

pytestmark = pytest.mark.browser
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from toancanh.app import create_app

    settings = seeded_demo_settings(tmp_path_factory.mktemp("e2e-direction-mobile"))
    with serving(create_app(settings), "e2e-direction-mobile") as url:
        yield url


def test_leader_approves_an_extension_on_the_phone(browser: Any, demo: str) -> None:
    p = Page(browser, demo, **PHONE)
    try:
        p.login("lanhdao")
        p.goto("/direction/mobile")
        assert p.page.locator("link[rel=manifest]").count() == 1
        assert int(p.page.locator("#fig-overdue").inner_text()) > 0  # the demo has overdue tasks
        pending = p.page.locator("#mb-extensions li[data-request]")
        before = pending.count()
        assert before >= 1  # the demo has an extension waiting for the chairman
        request_id = pending.first.get_attribute("data-request")
        waiting = int(p.page.locator("#fig-waiting").inner_text())
        no_overflow(p, 390)
        with p.page.expect_navigation():
            pending.first.locator("button[data-action=approve_extension]").tap()
        assert p.page.url.endswith("/direction/mobile")
        assert p.page.locator(f'#mb-extensions li[data-request="{request_id}"]').count() == 0
        assert int(p.page.locator("#fig-waiting").inner_text()) == waiting - 1
        no_overflow(p, 390)
        assert not p.errors, p.errors
    finally:
        p.close()
