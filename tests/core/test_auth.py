"""Login, bearer tokens, web sessions with CSRF, API keys, throttling."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select

from toancanh.core.audit import AuditEntry
from toancanh.core.auth.models import AuthSession


def test_token_login_and_me(client: Any, world: Any) -> None:
    r = client.post("/api/v1/auth/token", json={"username": "op_a", "password": "op_a-password"})
    assert r.status_code == 200
    token = r.json()["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["username"] == "op_a"
    assert me["grants"] == [{"role": "operator", "unit_path": "/01/00664/", "domains": None}]


def test_wrong_password_is_refused_with_bilingual_error(client: Any, world: Any) -> None:
    r = client.post("/api/v1/auth/token", json={"username": "op_a", "password": "nope-nope"})
    assert r.status_code == 401
    err = r.json()["error"]
    assert err["code"] == "unauthorized" and err["message"] and err["message_en"]


def test_login_throttling_blocks_even_the_right_password(client: Any, world: Any) -> None:
    for _ in range(5):
        assert (
            client.post("/api/v1/auth/token", json={"username": "op_b", "password": "wrong-one"}).status_code
            == 401
        )
    r = client.post("/api/v1/auth/token", json={"username": "op_b", "password": "op_b-password"})
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "too_many_requests"
    # another user from elsewhere is not affected by op_b's lock
    assert (
        client.post("/api/v1/auth/token", json={"username": "op_a", "password": "op_a-password"}).status_code
        == 200
    )


def test_logout_revokes_the_token(client: Any, world: Any) -> None:
    token = client.post("/api/v1/auth/token", json={"username": "op_a", "password": "op_a-password"}).json()
    h = {"Authorization": f"Bearer {token['access_token']}"}
    assert client.post("/api/v1/auth/logout", headers=h).status_code == 200
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401


def test_bad_tokens(client: Any, world: Any) -> None:
    for value in ("Bearer nonsense", "Bearer " + "x" * 500, "Bearer ' OR 1=1 --"):
        r = client.get("/api/v1/auth/me", headers={"Authorization": value})
        assert r.status_code == 401


def _web_login(client: Any, username: str, password: str) -> Any:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf": token, "next": "/"},
        follow_redirects=False,
    )


def test_web_login_sets_session_and_home_renders_in_vietnamese(client: Any, world: Any) -> None:
    assert client.get("/", follow_redirects=False).status_code == 303
    r = _web_login(client, "op_a", "op_a-password")
    assert r.status_code == 303 and "tc_session" in r.cookies
    home = client.get("/")
    assert home.status_code == 200
    assert "Phòng điều hành" in home.text and 'id="map"' in home.text and 'id="ticker"' in home.text


def test_web_login_without_csrf_token_is_refused(client: Any, world: Any) -> None:
    client.get("/login")
    r = client.post("/login", data={"username": "op_a", "password": "op_a-password", "csrf": "forged"})
    assert r.status_code == 403
    assert "tc_session" not in r.cookies


def test_cookie_session_needs_csrf_header_for_writes(client: Any, world: Any, db: Any) -> None:
    _web_login(client, "op_a", "op_a-password")
    body = {
        "unit_id": world.units["A"].id,
        "code": "cam-csrf",
        "type": "camera",
        "domain": "traffic",
        "name": "Camera",
        "lat": 20.91,
        "lon": 105.81,
    }
    r = client.post("/api/v1/assets", json=body)
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf"
    with db.session() as s:
        csrf = s.scalar(select(AuthSession.csrf_token).where(AuthSession.kind == "web"))
    r = client.post("/api/v1/assets", json=body, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    assert client.get("/api/v1/assets?format=json").status_code == 200  # reads need no token


def test_api_keys(client: Any, world: Any, db: Any) -> None:
    svc = client.post(
        "/api/v1/users",
        json={
            "username": "gateway",
            "is_service": True,
            "grants": [{"role": "operator", "unit_code": "00664"}],
        },
        headers=world.auth("admin"),
    )
    assert svc.status_code == 201
    key = client.post(
        "/api/v1/api-keys", json={"user_id": svc.json()["id"], "name": "cổng"}, headers=world.auth("admin")
    ).json()["key"]
    r = client.get("/api/v1/assets?format=json", headers={"X-API-Key": key})
    assert r.status_code == 200
    assert {a["code"] for a in r.json()} == {"cam-a1", "aq-a2", "hyd-a", "sch-a"}
    assert client.get("/api/v1/assets", headers={"X-API-Key": key[:-2] + "xx"}).status_code == 401
    # a service account cannot log in with a password
    assert (
        client.post("/api/v1/auth/token", json={"username": "gateway", "password": "whatever1"}).status_code
        == 401
    )
    # only admins may issue keys
    r = client.post(
        "/api/v1/api-keys", json={"user_id": svc.json()["id"], "name": "x"}, headers=world.auth("op_a")
    )
    assert r.status_code == 403
    with db.session() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "api_key.create")
            )
            == 1
        )


def test_an_api_key_s_use_is_recorded_at_most_once_a_minute(client: Any, world: Any, db: Any) -> None:
    from datetime import timedelta

    from toancanh.core.auth.models import ApiKey
    from toancanh.core.auth.service import create_api_key

    with db.session() as s:
        key, row = create_api_key(s, s.merge(world.users["op_a"]), "cổng đo")
        key_id = row.id

    def last_used() -> Any:
        with db.session() as s:
            return s.get(ApiKey, key_id).last_used_at

    # through a detached principal (the readings endpoint): authenticated in a read-only session
    body = {"readings": [{"device": "aq-a2", "values": {"pm25": 1}}]}
    assert client.post("/api/v1/telemetry/readings", json=body, headers={"X-API-Key": key}).status_code == 200
    first = last_used()
    assert first is not None
    assert client.post("/api/v1/telemetry/readings", json=body, headers={"X-API-Key": key}).status_code == 200
    assert last_used() == first  # a second later: not written again
    with db.session() as s:
        s.get(ApiKey, key_id).last_used_at = first - timedelta(minutes=5)
    assert client.get("/api/v1/assets?format=json", headers={"X-API-Key": key}).status_code == 200
    assert last_used() > first  # stale: recorded again, through the ordinary request session too


def test_a_read_session_neither_waits_for_writers_nor_writes(db: Any, world: Any) -> None:
    from toancanh.core.units import Unit

    with db.session() as writer:  # holds the write lock on SQLite until the end of the block
        unit = writer.scalar(select(Unit).where(Unit.code == "00664"))
        unit.name = "Đổi tên"
        writer.flush()
        with db.read_session() as reader:  # would wait (busy timeout) on BEGIN IMMEDIATE
            seen = reader.scalar(select(Unit).where(Unit.code == "00664"))
            assert seen is not None and seen.name != "Đổi tên"  # the last committed state
            seen.name = "Không được ghi"
    with db.read_session() as reader:
        assert reader.scalar(select(Unit.name).where(Unit.code == "00664")) == "Đổi tên"
