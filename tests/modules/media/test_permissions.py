"""The permission matrix of press monitoring: items, sources and topics seen and changed by role, unit and
domain; labels and training only by writers of the item's unit."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import WORLD_USERS
from tests.modules.media.conftest import add_item, add_source, add_topic
from tests.permission_matrix import UNIT_PATHS, covers
from toancanh.core.auth.permissions import role_has

# key -> (unit code, domain)
PLACES = {
    "a": ("00664", None),
    "a-traffic": ("00664", "traffic"),
    "h1": ("0066401", None),
    "b": ("00070", None),
}
UNIT_KEY = {"00664": "A", "0066401": "H1", "00070": "B"}


@pytest.fixture
def media_world(client: Any, world: Any) -> Any:
    world.media = {}
    for key, (code, domain) in PLACES.items():
        unit = UNIT_KEY[code]
        item = add_item(
            client, world, f"Tin {key}", unit=unit, domain=domain, url=f"http://bao.test/{key}"
        ).json()
        src = add_source(
            client, world, unit=unit, kind="rss", url=f"http://bao.test/{key}.rss", domain=domain
        )
        topic = add_topic(client, world, f"t-{key}", "ngập", unit=unit, domain=domain)
        world.media[key] = (item["id"], src["id"], topic["id"], UNIT_PATHS[code], domain)
    return world


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_read_and_write_follow_grants(client: Any, media_world: Any, who: str) -> None:
    w = media_world
    h = w.auth(who)
    role = WORLD_USERS[who][0]
    sees = {k for k, (*_, path, dom) in w.media.items() if covers(who, "media.read", path, dom)}
    r = client.get("/api/v1/media/items", headers=h)
    if not role_has(role, "media.read"):
        assert r.status_code == 403
        assert client.get("/api/v1/media/sources", headers=h).status_code == 403
        assert client.get("/media", headers=h, follow_redirects=False).status_code == 303  # pages: a cookie
        return
    assert {i["title"] for i in r.json()["items"]} == {f"Tin {k}" for k in sees}, who
    assert {s["id"] for s in client.get("/api/v1/media/sources", headers=h).json()} == {
        w.media[k][1] for k in sees
    }
    assert {t["id"] for t in client.get("/api/v1/media/topics", headers=h).json()} == {
        w.media[k][2] for k in sees
    }
    digest = client.get("/api/v1/media/digest", headers=h).json()
    assert digest["total"] == len(sees)
    for key, (iid, sid, tid, path, dom) in w.media.items():
        seen = key in sees
        writes = seen and covers(who, "media.write", path, dom)
        expect_read = 200 if seen else 404
        assert client.get(f"/api/v1/media/items/{iid}", headers=h).status_code == expect_read, (who, key)
        assert client.get(f"/api/v1/media/sources/{sid}", headers=h).status_code == expect_read
        expect_write = 200 if writes else 403 if seen else 404
        r = client.post(f"/api/v1/media/items/{iid}/labels", json={"sentiment": "negative"}, headers=h)
        assert r.status_code == expect_write, (who, key, r.text)
        r = client.patch(f"/api/v1/media/topics/{tid}", json={"name": "Đổi"}, headers=h)
        assert r.status_code == expect_write, (who, key)
        r = client.patch(f"/api/v1/media/sources/{sid}", json={"enabled": False}, headers=h)
        assert r.status_code == expect_write, (who, key)
    for unit in ("A", "B", "H1"):
        allowed = covers(who, "media.write", w.units[unit].path, None)
        r = add_item(client, w, f"Mới {who} {unit}", unit=unit, who=who)
        assert r.status_code == (201 if allowed else 403), (who, unit, r.text)
        r = client.post(
            "/api/v1/media/classifiers/train",
            json={"kind": "category", "unit_id": w.units[unit].id},
            headers=h,
        )
        assert r.status_code == (400 if allowed else 403), (who, unit, r.text)  # 400: no labels yet


def test_matrix_is_not_trivial(app: Any) -> None:
    assert covers("op_a", "media.write", "/01/00664/", None)
    assert not covers("op_b", "media.read", "/01/00664/", None)
    assert covers("viewer_a", "media.read", "/01/00664/", None)
    assert not covers("viewer_a", "media.write", "/01/00664/", None)
    assert not covers("citizen", "media.read", "/01/00664/", None)
    assert covers("police_a", "media.read", "/01/00664/", "traffic")
    assert not covers("police_a", "media.read", "/01/00664/", None)
