"""The permission matrix of epidemic data: every user of the shared world and the health-sector users, each
register listed, fetched and written; personal data only for health-sector grants (domains naming "health")
whose role holds health.personal, and each such read in the audit log (Nghị định 13/2023/NĐ-CP)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import WORLD_USERS
from tests.modules.health.conftest import HEALTH_USERS, LAST_MONDAY, case_body, post
from tests.permission_matrix import UNIT_PATHS
from toancanh.core.audit import AuditEntry
from toancanh.core.auth.permissions import role_has

USERS = {**WORLD_USERS, **HEALTH_USERS}
PATH = {"A": UNIT_PATHS["00664"], "H1": UNIT_PATHS["0066401"], "B": UNIT_PATHS["00070"]}


def covers(who: str, perm: str, path: str, *, sector: bool = False) -> bool:
    role, unit_code, domains = USERS[who]
    if not role_has(role, perm):
        return False
    if unit_code is not None and not path.startswith(UNIT_PATHS[unit_code]):
        return False
    if sector:
        return role == "admin" or (domains is not None and "health" in domains)
    return domains is None or "health" in domains


@pytest.fixture
def records(client: Any, hworld: Any) -> dict[str, dict[str, tuple[int, str]]]:
    w = hworld
    day = LAST_MONDAY.isoformat()
    out: dict[str, dict[str, tuple[int, str]]] = {"cases": {}, "contacts": {}, "lockdowns": {}}
    for unit in ("H1", "B"):
        r = post(client, w, "admin", "cases", case_body(w, f"C-{unit}", unit=unit))
        assert r.status_code == 201, r.text
        out["cases"][unit] = (r.json()["id"], PATH[unit])
        r = post(
            client,
            w,
            "admin",
            "contacts",
            {
                "unit_id": w.units[unit].id,
                "case_id": r.json()["id"],
                "full_name": f"Trần Thị {unit}",
                "last_contact_on": day,
            },
        )
        assert r.status_code == 201, r.text
        out["contacts"][unit] = (r.json()["id"], PATH[unit])
        r = post(
            client,
            w,
            "admin",
            "lockdowns",
            {
                "unit_id": w.units[unit].id,
                "address": f"Ngõ {unit}",
                "households": 3,
                "people": 11,
                "lat": 20.9,
                "lon": 105.8,
                "started_on": day,
            },
        )
        assert r.status_code == 201, r.text
        out["lockdowns"][unit] = (r.json()["id"], PATH[unit])
    return out


@pytest.mark.parametrize("who", sorted(USERS))
def test_cases_anonymized_outside_the_health_sector(
    client: Any, hworld: Any, records: Any, who: str, db: Any
) -> None:
    h = hworld.auth(who)
    r = client.get("/api/v1/health/cases", headers=h)
    if not role_has(USERS[who][0], "health.read"):
        assert r.status_code == 403
        assert client.get("/api/v1/health/overview", headers=h).status_code == 403
        return
    items = {i["id"]: i for i in r.json()["items"]}
    expect = {cid for cid, path in records["cases"].values() if covers(who, "health.read", path)}
    assert set(items) == expect, who
    for unit, (cid, path) in records["cases"].items():
        personal = covers(who, "health.personal", path, sector=True)
        detail = client.get(f"/api/v1/health/cases/{cid}", headers=h)
        if cid not in expect:
            assert detail.status_code == 404
            continue
        for shown in (items[cid], detail.json()):
            if personal:
                assert shown["full_name"] == f"Nguyễn Văn C-{unit}" and shown["phone"] == "0912345678"
                assert shown["lat"] == 20.9123
            else:
                assert "full_name" not in shown and "phone" not in shown and "address" not in shown
                assert shown["anonymized"] is True and shown["age_group"] == "18-49"
                assert shown["lat"] == 20.91  # about 1 km
    # the map never gives exact places outside the health sector
    feats = client.get("/api/v1/health/map.geojson", headers=h).json()["features"]
    for f in feats:
        if f["properties"]["layer"] == "case":
            assert f["geometry"]["coordinates"] == [105.81, 20.91]
    # each personal read is audited
    with db.session() as s:
        audited = list(
            s.scalars(
                select(AuditEntry).where(AuditEntry.action == "health.personal.read", AuditEntry.actor == who)
            )
        )
    any_personal = any(
        covers(who, "health.personal", p, sector=True) and cid in expect
        for cid, p in records["cases"].values()
    )
    assert bool(audited) == any_personal, who


@pytest.mark.parametrize("who", sorted(USERS))
def test_personal_registers_only_for_the_health_sector(
    client: Any, hworld: Any, records: Any, who: str
) -> None:
    h = hworld.auth(who)
    r = client.get("/api/v1/health/contacts", headers=h)
    role, _, domains = USERS[who]
    is_sector = role_has(role, "health.personal") and (
        role == "admin" or bool(domains and "health" in domains)
    )
    if not is_sector:
        assert r.status_code == 403, who
        return
    expect = {
        cid for cid, path in records["contacts"].values() if covers(who, "health.personal", path, sector=True)
    }
    assert {i["id"] for i in r.json()["items"]} == expect, who
    for cid, path in records["contacts"].values():
        code = client.get(f"/api/v1/health/contacts/{cid}", headers=h).status_code
        assert code == (200 if cid in expect else 404)


@pytest.mark.parametrize("who", sorted(USERS))
def test_who_may_write(client: Any, hworld: Any, who: str) -> None:
    w = hworld
    day = LAST_MONDAY.isoformat()
    for unit in ("A", "B"):
        r = post(client, w, who, "cases", case_body(w, f"W-{who}-{unit}", unit=unit))
        assert r.status_code == (201 if covers(who, "health.write", PATH[unit], sector=True) else 403), (
            who,
            unit,
        )
        body = {"unit_id": w.units[unit].id, "address": "Ngõ 1", "lat": 20.9, "lon": 105.8, "started_on": day}
        r = post(client, w, who, "lockdowns", body)
        assert r.status_code == (201 if covers(who, "health.write", PATH[unit]) else 403), (who, unit)
    crit = client.put("/api/v1/health/criteria", json={"code": "X"}, headers=w.auth(who))
    assert crit.status_code == (400 if who == "admin" else 403)
