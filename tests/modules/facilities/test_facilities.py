"""Schools, health facilities and tourist sites: figures checked by kind, cameras linked to school kitchens
and gates, scope by unit and domain, and the figures flowing into the indicators (FAC_* values per commune)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import WORLD_USERS
from tests.permission_matrix import covers
from toancanh.core.auth.permissions import role_has
from toancanh.core.db import utcnow
from toancanh.core.worktime import VN_TZ
from toancanh.modules.indicators import catalogue
from toancanh.modules.indicators.models import DataElement, DataValue

MONTH = utcnow().astimezone(VN_TZ).strftime("%Y-%m")


@pytest.fixture
def fworld(world: Any, db: Any) -> Any:
    with db.session() as s:
        catalogue.load_catalogue(s)
    return world


def school(w: Any, code: str, unit: str = "H1", **figures: Any) -> dict[str, Any]:
    return {
        "kind": "school",
        "code": code,
        "name": f"Trường tiểu học {code}",
        "unit_id": w.units[unit].id,
        "lat": 20.91,
        "lon": 105.81,
        "address": "Thôn Một",
        "figures": {"students": 600, "teachers": 30, "classes": 20, **figures},
    }


def fac_values(db: Any, unit_id: int, period: str = MONTH) -> dict[str, float]:
    with db.session() as s:
        rows = s.execute(
            select(DataElement.code, DataValue.value)
            .join(DataElement, DataElement.id == DataValue.data_element_id)
            .where(DataValue.unit_id == unit_id, DataValue.period == period, DataElement.code.like("FAC_%"))
        )
        return {c: v for c, v in rows}


def test_figures_flow_into_indicators(client: Any, fworld: Any, db: Any) -> None:
    w = fworld
    cam = w.assets["cam-a1"].id
    body = school(
        w,
        "TH-1",
        kitchens=[{"name": "Bếp chính", "camera_ids": [cam]}],
        gates=[{"name": "Cổng A", "camera_ids": [cam]}, {"name": "Cổng B"}],
    )
    r = client.post("/api/v1/facilities", json=body, headers=w.auth("op_a"))
    assert r.status_code == 201, r.text
    assert r.json()["domain"] == "education" and r.json()["figures"]["gates"][1]["camera_ids"] == []
    assert (
        client.post(
            "/api/v1/facilities",
            json=school(w, "TH-2", unit="H2", students=400, teachers=20),
            headers=w.auth("op_a"),
        ).status_code
        == 201
    )
    hf = {
        "kind": "health_facility",
        "code": "TYT-A",
        "name": "Trạm y tế xã",
        "unit_id": w.units["A"].id,
        "lat": 20.92,
        "lon": 105.82,
        "figures": {"beds": 10, "staff": 12, "doctors": 3},
    }
    assert client.post("/api/v1/facilities", json=hf, headers=w.auth("op_a")).status_code == 201
    site = {
        "kind": "tourism_site",
        "code": "DT-A",
        "name": "Đình làng",
        "unit_id": w.units["A"].id,
        "lat": 20.93,
        "lon": 105.83,
        "figures": {"category": "di_tich", "capacity": 300},
    }
    sid = client.post("/api/v1/facilities", json=site, headers=w.auth("op_a")).json()["id"]
    r = client.post(
        f"/api/v1/facilities/{sid}/visitors", json={"period": MONTH, "visitors": 1234}, headers=w.auth("op_a")
    )
    assert r.status_code == 200 and r.json()["visitors"] == {MONTH: 1234}
    a = w.units["A"].id
    v = fac_values(db, a)
    # three schools: the world's sch-a (no figures) and the two above
    assert v["FAC_SCHOOLS"] == 3 and v["FAC_STUDENTS"] == 1000 and v["FAC_TEACHERS"] == 50
    assert v["FAC_SCHOOL_KITCHENS"] == 1 and v["FAC_SCHOOL_GATES"] == 2 and v["FAC_SCHOOL_CAMERAS"] == 1
    assert v["FAC_HEALTH_FACILITIES"] == 1 and v["FAC_HEALTH_BEDS"] == 10 and v["FAC_HEALTH_DOCTORS"] == 3
    assert v["FAC_TOURIST_SITES"] == 1 and v["FAC_TOURIST_VISITORS"] == 1234
    r = client.get(
        "/api/v1/indicators/FAC_STUDENTS_PER_TEACHER/values",
        params={"unit": "00664", "period": MONTH},
        headers=w.auth("admin"),
    )
    assert r.status_code == 200 and r.json()["value"] == pytest.approx(20.0)
    # an update recomputes; B is untouched
    schools = client.get("/api/v1/facilities?kind=school", headers=w.auth("op_a")).json()
    tid = next(f["id"] for f in schools if f["code"] == "TH-1")
    r = client.patch(
        f"/api/v1/facilities/{tid}",
        json={"figures": {"students": 700, "teachers": 30}},
        headers=w.auth("op_a"),
    )
    assert r.status_code == 200, r.text
    assert fac_values(db, a)["FAC_STUDENTS"] == 1100
    assert fac_values(db, a)["FAC_SCHOOL_GATES"] == 0  # the new figures have no gates
    assert fac_values(db, w.units["B"].id) == {}


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"figures": {"students": -1}}, 400),
        ({"figures": {"beds": 3}}, 400),  # a health figure on a school
        ({"figures": {"gates": [{"name": "G", "camera_ids": [999999]}]}}, 400),
        ({"kind": "camera"}, 422),
        ({"lat": 100}, 422),
        ({"code": "bad code"}, 422),
    ],
)
def test_bad_facilities_change_nothing(client: Any, fworld: Any, change: dict[str, Any], status: int) -> None:
    w = fworld
    before = client.get("/api/v1/facilities", headers=w.auth("admin")).json()
    body = {**school(w, "TH-X"), **change}
    r = client.post("/api/v1/facilities", json=body, headers=w.auth("op_a"))
    assert r.status_code == status, r.text
    assert client.get("/api/v1/facilities", headers=w.auth("admin")).json() == before


def test_a_sensor_is_not_a_camera(client: Any, fworld: Any) -> None:
    w = fworld
    body = school(w, "TH-S", gates=[{"name": "G", "camera_ids": [w.assets["aq-a2"].id]}])
    assert client.post("/api/v1/facilities", json=body, headers=w.auth("op_a")).status_code == 400


def test_visitors_only_for_tourist_sites_and_past_months(client: Any, fworld: Any) -> None:
    w = fworld
    sid = client.post("/api/v1/facilities", json=school(w, "TH-V"), headers=w.auth("op_a")).json()["id"]
    r = client.post(
        f"/api/v1/facilities/{sid}/visitors", json={"period": MONTH, "visitors": 5}, headers=w.auth("op_a")
    )
    assert r.status_code == 400
    site = {
        "kind": "tourism_site",
        "code": "DT-V",
        "name": "Chùa",
        "unit_id": w.units["A"].id,
        "lat": 20.93,
        "lon": 105.83,
    }
    sid = client.post("/api/v1/facilities", json=site, headers=w.auth("op_a")).json()["id"]
    for period in ("2999-01", "2026-13"):
        r = client.post(
            f"/api/v1/facilities/{sid}/visitors",
            json={"period": period, "visitors": 5},
            headers=w.auth("op_a"),
        )
        assert r.status_code == 400, period


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_scope(client: Any, fworld: Any, who: str) -> None:
    w = fworld
    made = {}
    for key, unit, path in (("a", "H1", "/01/00664/0066401/"), ("b", "B", "/01/00070/")):
        r = client.post("/api/v1/facilities", json=school(w, f"TH-{key}", unit=unit), headers=w.auth("admin"))
        made[key] = (r.json()["id"], path)
    r = client.get("/api/v1/facilities", headers=w.auth(who))
    if not role_has(WORLD_USERS[who][0], "assets.read"):
        assert r.status_code == 403
        return
    expect = {i for i, p in made.values() if covers(who, "assets.read", p, "education")}
    assert {f["id"] for f in r.json()} & {i for i, _ in made.values()} == expect, who
    r = client.post("/api/v1/facilities", json=school(w, f"TH-{who}", unit="A"), headers=w.auth(who))
    assert r.status_code == (201 if covers(who, "assets.write", "/01/00664/", "education") else 403), who
