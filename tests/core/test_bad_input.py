"""Bad input gets a clear 4xx with the one error model and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from toancanh.core.assets import Asset
from toancanh.core.audit import AuditEntry
from toancanh.core.outbox import OutboxEvent

GOOD = {"code": "cam-x", "type": "camera", "domain": "traffic", "name": "Camera", "lat": 20.91, "lon": 105.81}


def _counts(db: Any) -> tuple[int, int, int]:
    with db.session() as s:
        return tuple(  # type: ignore[return-value]
            s.scalar(select(func.count()).select_from(m)) for m in (Asset, AuditEntry, OutboxEvent)
        )


def _assert_error(r: Any, status: int) -> None:
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert isinstance(err["code"], str) and err["message"] and err["message_en"]


BAD_BODIES = [
    ("malformed json", b'{"code": "x", ', 422),
    ("not an object", b"[1, 2, 3]", 422),
    ("wrong type", {"lat": "north"}, 422),
    ("unknown field", {"is_admin": True}, 422),
    ("latitude out of range", {"lat": 123.0}, 422),
    ("nan", b'{"lat": NaN}', 422),
    ("sql injection in code", {"code": "x'; DROP TABLE assets; --"}, 422),
    ("html in code", {"code": "<script>alert(1)</script>"}, 422),
    ("unknown type", {"type": "ufo"}, 400),
    ("unknown domain", {"domain": "astrology"}, 400),
    ("empty name", {"name": ""}, 422),
    ("huge name", {"name": "x" * 5000}, 422),
    ("unit that does not exist", {"unit_id": 999999}, 400),
]


@pytest.mark.parametrize("label,patch,status", BAD_BODIES, ids=[b[0] for b in BAD_BODIES])
def test_bad_asset_bodies_change_nothing(
    client: Any, world: Any, db: Any, label: str, patch: Any, status: int
) -> None:
    before = _counts(db)
    headers = {**world.auth("op_a"), "content-type": "application/json"}
    if isinstance(patch, bytes):
        r = client.post("/api/v1/assets", content=patch, headers=headers)
    else:
        body = {**GOOD, "unit_id": world.units["A"].id, **patch}
        r = client.post("/api/v1/assets", json=body, headers=world.auth("op_a"))
    _assert_error(r, status)
    assert _counts(db) == before


def test_html_in_a_name_is_stored_as_text_and_escaped_on_pages(client: Any, world: Any) -> None:
    body = {**GOOD, "unit_id": world.units["A"].id, "name": "<img src=x onerror=alert(1)>"}
    assert client.post("/api/v1/assets", json=body, headers=world.auth("admin")).status_code == 201
    page = client.get("/admin/assets", cookies={}, headers=world.auth("admin"))
    assert "<img src=x" not in page.text


def test_oversized_body_is_refused(client: Any, world: Any, db: Any, settings: Any) -> None:
    before = _counts(db)
    big = b'{"name": "' + b"x" * (settings.max_body_bytes + 10) + b'"}'
    r = client.post(
        "/api/v1/assets", content=big, headers={**world.auth("op_a"), "content-type": "application/json"}
    )
    _assert_error(r, 413)
    assert _counts(db) == before


def test_patch_refuses_nulls_and_unknown_fields(client: Any, world: Any, db: Any) -> None:
    aid = world.assets["cam-a1"].id
    before = _counts(db)
    for body in ({"name": None}, {"owner": "me"}, {"status": "exploded"}, {"lat": "x"}):
        r = client.patch(f"/api/v1/assets/{aid}", json=body, headers=world.auth("op_a"))
        assert 400 <= r.status_code < 500, (body, r.status_code)
        assert "error" in r.json()
    assert _counts(db) == before


def test_query_parameters_are_validated(client: Any, world: Any) -> None:
    h = world.auth("op_a")
    _assert_error(client.get("/api/v1/assets?bbox=1,2,3", headers=h), 400)
    _assert_error(client.get("/api/v1/assets?bbox=a,b,c,d", headers=h), 400)
    _assert_error(client.get("/api/v1/units/locate?lat=95&lon=105", headers=h), 422)
    _assert_error(client.get("/api/v1/units?level=9", headers=h), 422)
    _assert_error(client.get("/api/v1/assets/not-a-number", headers=h), 422)
    _assert_error(client.get("/api/v1/nothing-here", headers=h), 404)
    _assert_error(client.delete("/api/v1/assets", headers=h), 405)


def test_other_scope_cannot_modify(client: Any, world: Any, db: Any) -> None:
    before = _counts(db)
    aid = world.assets["cam-a1"].id
    r = client.patch(f"/api/v1/assets/{aid}", json={"name": "đổi tên"}, headers=world.auth("op_b"))
    _assert_error(r, 404)
    # moving an asset into a unit outside the caller's scope is refused too
    r = client.patch(
        f"/api/v1/assets/{aid}", json={"unit_id": world.units["B"].id}, headers=world.auth("op_a")
    )
    _assert_error(r, 403)
    assert _counts(db) == before
