"""The infosec dashboard: counts by severity, kind, asset and unit in a time window, the latest alerts,
the permission matrix (each user sees only the units and domains of their grants), the page in Vietnamese
first, and bad filters refused."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import build_world
from tests.connectors.siem.conftest import add_servers, bsd_now, count_events, wazuh_alert

SUMMARY = "/api/v1/siem/summary"


@pytest.fixture
def loaded(settings: Any, db: Any) -> Any:
    """The app with the connector's routes (no listeners) and alerts pushed by the SOC in A, B and the
    province: 3 in A (srv-a), 2 in B (srv-b), 1 at no known asset (the province)."""
    from types import SimpleNamespace

    from toancanh.app import create_app

    world = build_world(db)
    add_servers(db, world)
    app = create_app(settings.model_copy(update={"connectors": ["siem"]}), database=db)
    with TestClient(app) as c:
        batch = [
            wazuh_alert("d.1", level=3, agent="web-a"),
            wazuh_alert(
                "d.2",
                level=12,
                agent="web-a",
                rule={"level": 12, "description": "Rootkit", "groups": ["rootcheck"]},
            ),
            wazuh_alert("d.3", level=7, agent="mail-b"),
            wazuh_alert("d.4", level=10, agent="who-knows"),
        ]
        assert c.post("/api/v1/siem/wazuh", json=batch, headers=world.auth("soc")).json()["recorded"] == 4
        lines = "\n".join(
            [
                f"<86>{bsd_now()} web-a sshd[1]: Failed password for root from 203.0.113.9",
                "CEF:0|F|FG|7|13|Deny|5|dst=10.0.2.6 src=198.51.100.1",
            ]
        )
        r = c.post(
            "/api/v1/siem/syslog", content=lines, headers={**world.auth("soc"), "Content-Type": "text/plain"}
        )
        assert r.json()["recorded"] == 2
        assert count_events(db) == 6
        yield SimpleNamespace(client=c, world=world, db=db)


def test_counts_by_severity_kind_asset_and_unit(loaded: Any) -> None:
    c, w = loaded.client, loaded.world
    d = c.get(SUMMARY, headers=w.auth("admin")).json()
    assert d["total"] == 6
    sev = {s["severity"]: s["count"] for s in d["by_severity"]}
    assert sev == {"extreme": 1, "severe": 1, "moderate": 2, "minor": 2, "unknown": 0}
    assert {a["code"]: a["count"] for a in d["by_asset"]} == {"srv-a": 3, "srv-b": 2}
    assert d["unmatched_asset"] == 1
    assert {u["code"]: u["count"] for u in d["by_unit"]} == {"00664": 3, "00070": 2, "01": 1}
    kinds = {k["kind"]: k["count"] for k in d["by_kind"]}
    assert kinds["malware"] == 1 and kinds["firewall"] == 1 and kinds["auth_failure"] == 1
    assert [k["label"] for k in d["by_kind"] if k["kind"] == "malware"] == ["Mã độc"]  # Vietnamese first
    assert len(d["recent"]) == 6 and d["recent"][0]["at"] >= d["recent"][-1]["at"]
    assert c.get(SUMMARY, params={"recent": 2}, headers=w.auth("admin")).json()["recent"].__len__() == 2
    english = c.get(SUMMARY, headers=w.auth("admin"), cookies={"tc_lang": "en"}).json()
    assert english["total"] == 6
    assert c.get(SUMMARY, params={"last": "1h"}, headers=w.auth("admin")).json()["total"] == 6
    old = {"since": "2025-01-01T00:00:00+00:00", "until": "2025-01-02T00:00:00+00:00"}
    assert c.get(SUMMARY, params=old, headers=w.auth("admin")).json()["total"] == 0


# who -> the units whose events they see (infosec events: domain-limited grants see them only with infosec)
SEES = {
    "admin": {"00664": 3, "00070": 2, "01": 1},
    "soc": {"00664": 3, "00070": 2, "01": 1},
    "leader_a": {"00664": 3},
    "op_a": {"00664": 3},
    "viewer_a": {"00664": 3},
    "op_b": {"00070": 2},
    "op_hamlet": {},  # srv-a is in the commune, not in the hamlet
    "police_a": {},  # security and traffic only
    "traffic_center": {},  # traffic only, province-wide
}


def test_permission_matrix(loaded: Any) -> None:
    c, w = loaded.client, loaded.world
    for who, sees in SEES.items():  # one app for every user: the matrix is about the query, not the start
        r = c.get(SUMMARY, headers=w.auth(who))
        assert r.status_code == 200, (who, r.text)
        d = r.json()
        assert {u["code"]: u["count"] for u in d["by_unit"]} == sees, who
        assert d["total"] == sum(sees.values()) == len(d["recent"]), who
        assert sum(s["count"] for s in d["by_severity"]) == d["total"], who
        assert all(a["code"] in {"srv-a", "srv-b"} for a in d["by_asset"])
        if "00664" not in sees:
            assert all(a["code"] != "srv-a" for a in d["by_asset"]), who


def test_citizens_and_strangers_see_nothing(loaded: Any) -> None:
    c, w = loaded.client, loaded.world
    assert c.get(SUMMARY).status_code == 401
    assert c.get(SUMMARY, headers=w.auth("citizen")).status_code == 403


BAD_FILTERS: list[dict[str, str]] = [
    {"last": "2y"},
    {"since": "2026-01-01T00:00:00"},  # no time zone
    {"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
    {"since": "2020-01-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
    {"since": "yesterday"},
    {"recent": "9999"},
]


def test_bad_filters_are_refused(loaded: Any) -> None:
    for params in BAD_FILTERS:
        r = loaded.client.get(SUMMARY, params=params, headers=loaded.world.auth("admin"))
        assert r.status_code in (400, 422), (params, r.text)
        assert r.json()["error"]["message"]


def web_login(client: Any, username: str, password: str | None = None) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/login",
        data={
            "username": username,
            "password": password or f"{username}-password",
            "csrf": token.group(1),
            "next": "/",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_the_page_in_vietnamese_first_scoped_and_filtered(loaded: Any) -> None:
    c = loaded.client
    assert c.get("/siem", follow_redirects=False).status_code == 303  # to the login page
    web_login(c, "op_a")
    page = c.get("/siem")
    assert page.status_code == 200
    assert "Giám sát an toàn thông tin" in page.text and 'href="/siem"' in page.text  # in the menu too
    assert '<b id="siem-total">3</b>' in page.text
    assert 'data-asset="srv-a"' in page.text and "srv-b" not in page.text
    assert 'data-unit="00070"' not in page.text
    week = c.get("/siem", params={"last": "7d"})
    assert week.status_code == 200 and 'value="7d" selected' in week.text
    bad = c.get("/siem", params={"last": "zz"})
    assert bad.status_code == 400 and "Khoảng thời gian không hợp lệ" in bad.text
    c.cookies.set("tc_lang", "en")
    assert "Information security monitoring" in c.get("/siem").text


def test_the_page_is_refused_to_citizens(loaded: Any) -> None:
    web_login(loaded.client, "citizen")
    assert loaded.client.get("/siem").status_code == 403
