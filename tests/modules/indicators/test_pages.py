"""The dashboard and the reports page render in Vietnamese for every role that reads indicators, on the
seeded demo (Xã Đại Thanh), and are refused to the others."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import seeded_demo_settings
from toancanh.demo.seed import DEMO_PASSWORDS


@pytest.fixture(scope="module")
def demo_client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from toancanh.app import create_app

    settings = seeded_demo_settings(tmp_path_factory.mktemp("demo"))
    with TestClient(create_app(settings)) as c:
        yield c


def login(client: Any, user: str) -> None:
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={"username": user, "password": DEMO_PASSWORDS[user][0], "csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303


@pytest.mark.parametrize("user", ["admin", "lanhdao", "trucban", "congan", "truonghoc", "xem"])
def test_dashboard_renders_for_readers(demo_client: Any, user: str) -> None:
    login(demo_client, user)
    r = demo_client.get("/indicators")
    assert r.status_code == 200
    html = r.text
    assert "Bảng chỉ số điều hành" in html and 'href="/indicators/submissions"' in html
    if user in ("admin", "lanhdao", "trucban", "xem"):
        assert "Tỷ lệ hồ sơ giải quyết đúng hạn" in html and "ind-spark" in html
        assert "Xếp hạng đơn vị" in html
        assert "Dự báo và bất thường" in html and 'class="link ind-fc-btn"' in html and "data-ahead=" in html
    if user == "congan":  # security and traffic only
        assert "Tỷ lệ hồ sơ giải quyết đúng hạn" not in html
    r = demo_client.get("/indicators/submissions")
    assert r.status_code == 200 and "Mức độ đầy đủ và đúng hạn" in r.text


def test_leader_sees_reports_to_approve(demo_client: Any) -> None:
    login(demo_client, "lanhdao")
    html = demo_client.get("/indicators/submissions?dataset=DVC_THANG").text
    assert html.count('data-action="approve"') == 2
    login(demo_client, "trucban")
    html = demo_client.get("/indicators/submissions?dataset=DVC_THANG").text
    assert 'data-action="approve"' not in html and 'id="ind-upload"' in html


def test_dashboard_filters_and_refusals(demo_client: Any) -> None:
    login(demo_client, "lanhdao")
    r = demo_client.get("/indicators?domain=health&period=2026-99")
    assert r.status_code == 200 and "Tỷ lệ hồ sơ giải quyết đúng hạn" not in r.text
    login(demo_client, "nguoidan")
    assert demo_client.get("/indicators").status_code == 403
    demo_client.cookies.clear()
    assert demo_client.get("/indicators", follow_redirects=False).status_code == 303
    english = demo_client.get("/login")  # the static files are served
    assert english.status_code == 200
    assert demo_client.get("/indicators/static/dashboard.js").status_code == 200
    assert demo_client.get("/indicators/static/..%2Fweb.py").status_code == 404
