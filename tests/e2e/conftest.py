"""Fixtures of the browser tests: one headless Chromium per test module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REQUIRE = bool(os.environ.get("TOANCANH_REQUIRE_BROWSER"))


def _unavailable(reason: str) -> None:
    if REQUIRE:
        pytest.fail(f"{reason}, and TOANCANH_REQUIRE_BROWSER is set", pytrace=False)
    pytest.skip(f"{reason} (set TOANCANH_REQUIRE_BROWSER=1 to make this a failure)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        _unavailable(f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package playwright is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()
