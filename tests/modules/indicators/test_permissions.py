"""The permission matrix for the indicator resources: submissions and data values by unit and domain,
computed values by unit, and the catalogue (province-wide managers only)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import WORLD_USERS
from tests.modules.indicators.conftest import upload, xlsx
from tests.permission_matrix import Resource, covers
from toancanh.core.auth.permissions import role_has

RESOURCES = [
    Resource(
        name="indicator_submissions",
        list_url="/api/v1/indicators/datasets/submissions",
        detail_url=lambda i: f"/api/v1/indicators/datasets/submissions/{i}",
        read_permission="indicators.read",
        objects=lambda w: w.ind_subs,
        ids_from_list=lambda body: {s["id"] for s in body},
    ),
    Resource(
        name="indicator_data_values",
        list_url="/api/v1/indicators/data-values",
        detail_url=lambda i: "",
        read_permission="indicators.read",
        objects=lambda w: w.ind_values,
        ids_from_list=lambda body: {v["id"] for v in body},
    ),
]


@pytest.fixture
def mworld(client: Any, iworld: Any) -> Any:
    w = iworld
    rows = [["0066401", "2026-10", 9, 1, 12], ["00070", "2026-10", 5, 5, 10]]
    assert upload(client, w.auth("admin"), xlsx(rows)).status_code == 201
    subs = client.get("/api/v1/indicators/datasets/submissions", headers=w.auth("admin")).json()
    paths = {"0066401": w.units["H1"].path, "00070": w.units["B"].path}
    w.ind_subs = {s["unit_code"]: (s["id"], paths[s["unit_code"]], "administration") for s in subs}
    values = client.get("/api/v1/indicators/data-values", headers=w.auth("admin")).json()
    w.ind_values = {
        f"{v['unit_code']}-{v['element']}": (v["id"], paths[v["unit_code"]], "administration") for v in values
    }
    return w


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_list_and_detail_follow_grants(client: Any, mworld: Any, resource: Resource, who: str) -> None:
    w = mworld
    objects = resource.objects(w)
    resp = client.get(resource.list_url, headers=w.auth(who))
    expected = {
        oid for oid, path, dom in objects.values() if covers(who, resource.read_permission, path, dom)
    }
    if resp.status_code == 403:
        assert not role_has(WORLD_USERS[who][0], resource.read_permission)
        return
    assert resp.status_code == 200, resp.text
    assert resource.ids_from_list(resp.json()) == expected
    for oid, path, dom in objects.values():
        url = resource.detail_url(oid)
        if url:
            want = 200 if covers(who, resource.read_permission, path, dom) else 404
            assert client.get(url, headers=w.auth(who)).status_code == want


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_computed_values_follow_grants(client: Any, mworld: Any, who: str) -> None:
    w = mworld
    for unit in ("00664", "00070", "0066401", "01"):
        r = client.get(
            "/api/v1/indicators/DVC_ONTIME_RATE/values",
            params={"unit": unit, "period": "2026-10"},
            headers=w.auth(who),
        )
        path = {
            "00664": w.units["A"].path,
            "00070": w.units["B"].path,
            "0066401": w.units["H1"].path,
            "01": "/01/",
        }[unit]
        allowed = covers(who, "indicators.read", path, "administration")
        if not role_has(WORLD_USERS[who][0], "indicators.read"):
            assert r.status_code == 403
        else:
            assert r.status_code == (200 if allowed else 404), f"{who} {unit}: {r.status_code}"
    # a commune sees only its own data: the commune leader's figure for the commune excludes commune B
    r = client.get("/api/v1/indicators/DVC_ONTIME_RATE/values?period=2026-10", headers=w.auth("admin"))
    assert r.status_code == 200


def test_domain_limited_grants_see_only_their_indicators(client: Any, mworld: Any) -> None:
    w = mworld
    police = client.get("/api/v1/indicators", headers=w.auth("police_a")).json()
    assert police and {i["domain"] for i in police} <= {"security", "traffic"}
    everything = client.get("/api/v1/indicators", headers=w.auth("leader_a")).json()
    assert len(everything) > len(police)
    assert client.get("/api/v1/indicators/DVC_ONTIME_RATE", headers=w.auth("police_a")).status_code == 404
    assert client.get("/api/v1/indicators", headers=w.auth("citizen")).status_code == 403


def test_catalogue_and_targets_need_the_right_grant(client: Any, mworld: Any) -> None:
    w = mworld
    body = {
        "code": "NEW_RATE", "name": "Chỉ số mới", "domain": "administration",
        "numerator": "DOSSIER_ONLINE * 100", "denominator": "DOSSIER_RECEIVED",
    }  # fmt: skip
    for who in ("leader_a", "op_a", "viewer_a"):  # a commune leader may not change the province's catalogue
        assert client.post("/api/v1/indicators", json=body, headers=w.auth(who)).status_code == 403
    r = client.post("/api/v1/indicators", json=body, headers=w.auth("admin"))
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/indicators", json=body, headers=w.auth("admin")).status_code == 409
    bad = {**body, "code": "BAD_RATE", "numerator": "NOT_AN_ELEMENT * 100"}
    r = client.post("/api/v1/indicators", json=bad, headers=w.auth("admin"))
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_formula"
    target = {"indicator": "DVC_ONTIME_RATE", "unit_code": "00664", "period": "2026", "value": 95}
    assert (
        client.post("/api/v1/indicators/targets", json=target, headers=w.auth("leader_a")).status_code == 201
    )
    other = {**target, "unit_code": "00070"}
    assert (
        client.post("/api/v1/indicators/targets", json=other, headers=w.auth("leader_a")).status_code == 403
    )
    assert (
        client.post(
            "/api/v1/indicators/targets", json={**target, "period": "2026-13"}, headers=w.auth("leader_a")
        ).status_code
        == 400
    )
