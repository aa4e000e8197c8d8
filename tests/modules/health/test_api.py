"""The health API end to end: registers validate and change nothing on bad input, the weekly levels are
computed from what was registered, and a level change is an event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import square
from tests.modules.health.conftest import LAST_MONDAY, TODAY, case_body, post
from toancanh.core.outbox import OutboxEvent
from toancanh.modules.health.models import HealthCase, HealthLevel
from toancanh.modules.health.service import week_code

WEEK = week_code(LAST_MONDAY)


def vaccinate(client: Any, w: Any, unit: str, high: bool = True) -> None:
    counts = {"pop_18plus": 1000, "dose1_18plus": 750 if high else 500, "pop_50plus": 200, "full_50plus": 170}
    r = post(
        client,
        w,
        "cdc_prov",
        "vaccination",
        {"unit_id": w.units[unit].id, "as_of": LAST_MONDAY.isoformat(), "counts": counts},
    )
    assert r.status_code == 201, r.text


def test_levels_from_registered_cases(client: Any, hworld: Any, db: Any) -> None:
    w = hworld
    vaccinate(client, w, "A")
    vaccinate(client, w, "B", high=False)
    for unit, met in (("A", True), ("B", True)):
        r = post(
            client,
            w,
            "cdc_prov",
            "capacity",
            {"unit_id": w.units[unit].id, "as_of": LAST_MONDAY.isoformat(), "met": met, "beds": 40},
        )
        assert r.status_code == 201, r.text
    # A (25,000 people): 5 community cases in hamlet 1 and 3 found in quarantine: 20 / 100,000: level 2
    for i in range(5):
        assert post(client, w, "cdc_a", "cases", case_body(w, f"A-{i}", unit="H1")).status_code == 201
    for i in range(3):
        body = case_body(w, f"AQ-{i}", detected_in="quarantine")
        assert post(client, w, "cdc_a", "cases", body).status_code == 201
    # a case of the week before does not count
    old = case_body(w, "A-old", confirmed_on=(LAST_MONDAY - timedelta(days=1)).isoformat())
    assert post(client, w, "cdc_a", "cases", old).status_code == 201
    r = client.post("/api/v1/health/levels/compute", json={"week": WEEK}, headers=w.auth("cdc_prov"))
    assert r.status_code == 200, r.text
    run = r.json()["runs"][0]
    assert run["communes"] == 2 and run["units"] == 4  # two communes, two hamlets
    levels = client.get(f"/api/v1/health/levels?week={WEEK}", headers=w.auth("leader_a")).json()
    by_code = {i["unit_code"]: i for i in levels["items"]}
    assert set(by_code) == {"00664", "0066401"}  # leader_a sees only commune A and its hamlets
    # hamlet H1 (5,000 people) had the 5 community cases: 100 / 100,000, band 3, A's high coverage: level 3
    h1 = by_code["0066401"]
    assert (h1["level"], h1["inputs"]["rate"], h1["inputs"]["band"]) == (3, 100.0, 3)
    # H2 has no population and no case: nothing to assess, no row
    a = by_code["00664"]
    assert a["level"] == 2 and a["colour"] == "#f2c500"
    assert a["inputs"]["community_cases"] == 5 and a["inputs"]["all_cases"] == 8
    assert a["inputs"]["rate"] == 20.0
    prov = client.get(f"/api/v1/health/levels?week={WEEK}", headers=w.auth("leader_health")).json()
    b = {i["unit_code"]: i for i in prov["items"]}["00070"]
    assert b["level"] == 2 and b["inputs"]["coverage_high"] is False  # no cases, low coverage
    assert "4800/QĐ-BYT" in prov["citation"]
    # the event of a change: A's first level is 2 (> 1), B's too, H1's 3
    with db.session() as s:
        subjects = list(
            s.scalars(
                select(OutboxEvent.subject).where(OutboxEvent.subject == "toancanh.health.level.changed")
            )
        )
    assert len(subjects) == 3
    # recomputing changes nothing and raises no new event; a capacity not met raises A to 3
    client.post("/api/v1/health/levels/compute", json={"week": WEEK}, headers=w.auth("cdc_prov"))
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(HealthLevel)) == 3
    r = post(
        client,
        w,
        "cdc_prov",
        "capacity",
        {"unit_id": w.units["A"].id, "as_of": (LAST_MONDAY + timedelta(days=3)).isoformat(), "met": False},
    )
    assert r.status_code == 201
    client.post("/api/v1/health/levels/compute", json={"week": WEEK}, headers=w.auth("cdc_prov"))
    items = client.get(f"/api/v1/health/levels?week={WEEK}", headers=w.auth("leader_a")).json()["items"]
    a = next(i for i in items if i["unit_code"] == "00664")
    assert a["level"] == 3 and "capacity_not_met" in a["inputs"]["flags"]
    # the next week with no cases: A goes back to 1 (high coverage), history keeps both weeks
    nxt = week_code(LAST_MONDAY + timedelta(days=7))
    client.post("/api/v1/health/levels/compute", json={"week": nxt}, headers=w.auth("cdc_prov"))
    hist = client.get(f"/api/v1/health/levels?unit_id={w.units['A'].id}", headers=w.auth("leader_a")).json()
    assert [(i["week"], i["level"]) for i in hist["items"]] == [(nxt, 2), (WEEK, 3)]  # capacity still not met
    assert hist["items"][0]["previous_level"] == 3
    geo = client.get(f"/api/v1/health/levels.geojson?week={WEEK}", headers=w.auth("leader_health")).json()
    assert {f["properties"]["unit_code"] for f in geo["features"]} == {"00664", "00070", "0066401"}
    assert all(f["geometry"]["type"] == "Polygon" for f in geo["features"])


def test_compute_needs_a_health_writer(client: Any, hworld: Any) -> None:
    w = hworld
    for who in ("leader_a", "viewer_a", "police_a", "traffic_center", "citizen"):
        r = client.post("/api/v1/health/levels/compute", json={"week": WEEK}, headers=w.auth(who))
        assert r.status_code == 403, who
    r = client.post("/api/v1/health/levels/compute", json={"week": "2026-W99"}, headers=w.auth("cdc_prov"))
    assert r.status_code == 400
    r = client.post("/api/v1/health/levels/compute", json={"criteria": "NOPE"}, headers=w.auth("cdc_prov"))
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("register", "change", "status"),
    [
        ("cases", {"confirmed_on": (TODAY + timedelta(days=2)).isoformat()}, 400),
        ("cases", {"onset_on": (LAST_MONDAY + timedelta(days=1)).isoformat()}, 400),  # after confirmation
        ("cases", {"lat": 91}, 422),
        ("cases", {"lat": None}, 400),  # lon without lat
        ("cases", {"sex": "x"}, 422),
        ("cases", {"phone": "<script>"}, 422),
        ("cases", {"code": ""}, 422),
        ("cases", {"unit_id": 999999}, 400),
        ("cases", {"treatment_place_id": 999999}, 400),
        ("cases", {"surprise": True}, 422),
        ("cases", {"birth_year": 1500}, 422),
    ],
)
def test_bad_case_changes_nothing(
    client: Any, hworld: Any, db: Any, register: str, change: dict[str, Any], status: int
) -> None:
    body = {**case_body(hworld, "X-1"), **change}
    r = post(client, hworld, "cdc_a", register, body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["message"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(HealthCase)) == 0


def test_bad_records_of_other_registers(client: Any, hworld: Any) -> None:
    w = hworld
    a = w.units["A"].id
    day = LAST_MONDAY.isoformat()
    bad = [
        ("quarantines", {"unit_id": a, "kind": "facility", "full_name": "B", "start_on": day, "end_on": day}),
        (
            "quarantines",
            {
                "unit_id": a,
                "kind": "home",
                "full_name": "B",
                "start_on": day,
                "end_on": (LAST_MONDAY - timedelta(days=1)).isoformat(),
            },
        ),
        ("tests", {"unit_id": a, "method": "rt_pcr", "sampled_on": day, "result": "positive"}),
        ("tests", {"unit_id": a, "method": "pcr", "sampled_on": day}),
        ("contacts", {"unit_id": a, "full_name": "C", "last_contact_on": day, "case_id": 424242}),
        (
            "zones",
            {
                "unit_id": a,
                "name": "Z",
                "started_on": day,
                "geometry": {"type": "Point", "coordinates": [1, 2]},
            },
        ),
        (
            "zones",
            {
                "unit_id": a,
                "name": "Z",
                "started_on": day,
                "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            },
        ),
        (
            "lockdowns",
            {
                "unit_id": a,
                "address": "x",
                "lat": 20.9,
                "lon": 105.8,
                "started_on": day,
                "lifted_on": (LAST_MONDAY - timedelta(days=3)).isoformat(),
            },
        ),
        ("vaccination", {"unit_id": a, "as_of": day, "counts": {"pop_18plus": -1}}),
        ("vaccination", {"unit_id": a, "as_of": day, "counts": {"Bad Name": 1}}),
    ]
    for register, body in bad:
        r = post(client, w, "cdc_prov", register, body)
        assert r.status_code in (400, 422), (register, body, r.text)
        listing = client.get(f"/api/v1/health/{register}", headers=w.auth("cdc_prov")).json()
        assert listing["total"] == 0, register
    good = {
        "unit_id": a,
        "name": "Khu phố 3",
        "started_on": day,
        "people": 120,
        "geometry": square(105.80, 20.90, 0.005),
    }
    assert post(client, w, "cdc_prov", "zones", good).status_code == 201
    vac = {"unit_id": a, "as_of": day, "counts": {"pop_18plus": 10}}
    assert post(client, w, "cdc_prov", "vaccination", vac).status_code == 201
    assert post(client, w, "cdc_prov", "vaccination", vac).status_code == 409
    assert post(client, w, "cdc_a", "cases", case_body(w, "D-1")).status_code == 201
    assert post(client, w, "cdc_a", "cases", case_body(w, "D-1")).status_code == 409


def test_update_and_overview(client: Any, hworld: Any) -> None:
    w = hworld
    cid = post(client, w, "cdc_a", "cases", case_body(w, "U-1")).json()["id"]
    r = client.patch(f"/api/v1/health/cases/{cid}", json={"status": "recovered"}, headers=w.auth("cdc_a"))
    assert r.status_code == 200 and r.json()["status"] == "recovered"
    r = client.patch(
        f"/api/v1/health/cases/{cid}",
        json={"confirmed_on": (TODAY + timedelta(days=5)).isoformat()},
        headers=w.auth("cdc_a"),
    )
    assert r.status_code == 400
    assert client.get(f"/api/v1/health/cases/{cid}", headers=w.auth("cdc_a")).json()["status"] == "recovered"
    post(client, w, "cdc_a", "cases", case_body(w, "U-2", confirmed_on=TODAY.isoformat()))
    day = TODAY.isoformat()
    post(
        client,
        w,
        "cdc_a",
        "lockdowns",
        {
            "unit_id": w.units["A"].id,
            "address": "Ngõ 5",
            "households": 12,
            "people": 47,
            "lat": 20.91,
            "lon": 105.81,
            "started_on": day,
        },
    )
    post(
        client,
        w,
        "cdc_a",
        "quarantines",
        {
            "unit_id": w.units["A"].id,
            "kind": "home",
            "full_name": "Lê C",
            "start_on": day,
            "end_on": (TODAY + timedelta(days=7)).isoformat(),
        },
    )
    ov = client.get("/api/v1/health/overview", headers=w.auth("viewer_a")).json()
    assert ov["active_cases"] == 1
    assert ov["new_cases_7d"] == 1
    assert ov["lockdowns"] == {"points": 1, "households": 12, "people": 47}
    assert ov["in_quarantine"] == {"home": 1}
    assert client.get("/api/v1/health/overview", headers=w.auth("op_b")).json()["lockdowns"]["points"] == 0


def test_cases_without_population_are_flagged(client: Any, hworld: Any) -> None:
    w = hworld
    assert post(client, w, "cdc_a", "cases", case_body(w, "H2-1", unit="H2")).status_code == 201
    client.post("/api/v1/health/levels/compute", json={"week": WEEK}, headers=w.auth("cdc_a"))
    items = client.get(f"/api/v1/health/levels?week={WEEK}", headers=w.auth("cdc_a")).json()["items"]
    h2 = next(i for i in items if i["unit_code"] == "0066402")
    assert h2["level"] is None and h2["inputs"]["flags"] == ["no_population"] and h2["colour"] == "#8a97a6"
    # cdc_a's grant covers commune A only: B was not computed
    assert {i["unit_code"] for i in items} == {"00664", "0066401", "0066402"}
