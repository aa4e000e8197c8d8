"""The permission matrix for layers: list, detail, OGC collections and items, create, import, by role and unit;
and layers limited to some roles."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import WORLD_USERS
from tests.modules.gis.conftest import new_layer, upload
from tests.permission_matrix import covers
from toancanh.core.auth.permissions import role_has


@pytest.fixture
def gis_world(client: Any, world: Any, points_geojson: bytes) -> Any:
    """Layers in commune A (no domain), hamlet H1 (traffic), commune B (no domain), and A limited to leaders."""
    world.layers = {}
    for code, unit, extra in (
        ("lay-a", "A", {}),
        ("lay-h1", "H1", {"domain": "traffic"}),
        ("lay-b", "B", {}),
        ("lay-lead", "A", {"roles": ["leader"]}),
    ):
        lay = new_layer(client, world, code, unit, **extra)
        assert upload(client, world, lay["id"], points_geojson, "p.geojson").status_code == 200
        world.layers[code] = (lay["id"], world.units[unit].path, extra.get("domain"), extra.get("roles"))
    return world


def _sees(who: str, path: str, domain: str | None, roles: list[str] | None) -> bool:
    role = WORLD_USERS[who][0]
    return covers(who, "gis.read", path, domain) and (not roles or role in roles or role == "admin")


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_read_follows_grants_and_roles(client: Any, gis_world: Any, who: str) -> None:
    w = gis_world
    h = w.auth(who)
    expected = {code for code, (_, path, dom, roles) in w.layers.items() if _sees(who, path, dom, roles)}
    r = client.get("/api/v1/gis/layers", headers=h)
    if not role_has(WORLD_USERS[who][0], "gis.read"):
        assert r.status_code == 403
        assert client.get("/ogc/collections", headers=h).json()["collections"] == []
        return
    assert r.status_code == 200
    assert {lay["code"] for lay in r.json()} == expected
    assert {c["id"] for c in client.get("/ogc/collections", headers=h).json()["collections"]} == expected
    for code, (lid, *_rest) in w.layers.items():
        want = 200 if code in expected else 404
        assert client.get(f"/api/v1/gis/layers/{lid}", headers=h).status_code == want, (who, code)
        assert client.get(f"/ogc/collections/{code}/items", headers=h).status_code == want, (who, code)
        assert client.get(f"/api/v1/gis/layers/{lid}/export", headers=h).status_code == want


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_write_follows_grants(client: Any, gis_world: Any, who: str, points_geojson: bytes) -> None:
    w = gis_world
    h = w.auth(who)
    for n, unit in enumerate(("A", "B", "H1")):
        r = client.post(
            "/api/v1/gis/layers",
            json={"code": f"new-{n}-{who.replace('_', '-')}", "title": "x", "unit_id": w.units[unit].id},
            headers=h,
        )
        allowed = covers(who, "gis.write", w.units[unit].path, None)
        assert r.status_code == (201 if allowed else 403), (who, unit, r.text)
    for code, (lid, path, dom, roles) in w.layers.items():
        sees = _sees(who, path, dom, roles)
        writes = sees and covers(who, "gis.write", path, dom)
        r = upload(client, w, lid, points_geojson, "p.geojson", who=who)
        assert r.status_code == (200 if writes else 403 if sees else 404), (who, code, r.text)
        r = client.patch(f"/api/v1/gis/layers/{lid}", json={"title": "y"}, headers=h)
        assert r.status_code == (200 if writes else 403 if sees else 404), (who, code)


def test_matrix_is_not_trivial(app: Any) -> None:
    assert covers("op_a", "gis.write", "/01/00664/", None)
    assert not covers("op_b", "gis.read", "/01/00664/", None)
    assert covers("viewer_a", "gis.read", "/01/00664/", None)
    assert not covers("viewer_a", "gis.write", "/01/00664/", None)
    assert not covers("citizen", "gis.read", "/01/00664/", None)
    assert covers("traffic_center", "gis.write", "/01/00664/0066401/", "traffic")
