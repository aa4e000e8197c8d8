"""Zones, lines and masks: validation (shapely), CRUD through the API, schedules on the school calendar."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.modules.cameras.conftest import camera_body
from toancanh.core.outbox import OutboxEvent
from toancanh.core.worktime import VN_TZ, WorkCalendar
from toancanh.modules.cameras.geometry import zone_active
from toancanh.modules.cameras.models import CameraZone

SQUARE = [[0.1, 0.1], [0.5, 0.1], [0.5, 0.5], [0.1, 0.5]]


@pytest.fixture
def cam(client: Any, world: Any) -> dict[str, Any]:
    r = client.post("/api/v1/cameras", json=camera_body(world), headers=world.auth("op_a"))
    assert r.status_code == 201
    return r.json()


def _zones(db: Any) -> list[dict[str, Any]]:
    with db.session() as s:
        return [z.summary() for z in s.scalars(select(CameraZone).order_by(CameraZone.id))]


def test_zone_line_and_mask_round_trip(client: Any, world: Any, db: Any, cam: dict[str, Any]) -> None:
    url = f"/api/v1/cameras/{cam['id']}/zones"
    h = world.auth("op_a")
    zone = client.post(
        url,
        json={
            "kind": "zone",
            "name": "Làn cấm dừng",
            "points": SQUARE,
            "purposes": ["no_stopping", "gate"],
            "schedule": {"type": "school_hours"},
        },
        headers=h,
    )
    assert zone.status_code == 201, zone.text
    assert zone.json()["purposes"] == ["gate", "no_stopping"]
    line = client.post(
        url,
        json={
            "kind": "line",
            "name": "Vạch đếm",
            "points": [[0.2, 0.9], [0.8, 0.9]],
            "direction": "a_to_b",
            "purposes": ["count_line"],
        },
        headers=h,
    )
    assert line.status_code == 201, line.text
    mask = client.post(
        url,
        json={
            "kind": "mask",
            "name": "Che cửa sổ nhà dân",
            "points": [[0.8, 0], [1, 0], [1, 0.2]],
            "schedule": {"type": "custom", "weekly": {"mon": [["06:30", "07:30"], ["16:30", "17:30"]]}},
        },
        headers=h,
    )
    assert mask.status_code == 201, mask.text
    listed = client.get(url, headers=world.auth("viewer_a")).json()
    assert [z["kind"] for z in listed] == ["zone", "line", "mask"]
    assert client.get(f"/api/v1/cameras/{cam['id']}", headers=h).json()["zones"] == listed
    moved = [[0.2, 0.2], [0.6, 0.2], [0.6, 0.6]]
    r = client.patch(f"{url}/{zone.json()['id']}", json={"points": moved, "name": "Cổng"}, headers=h)
    assert r.status_code == 200 and r.json()["points"] == moved and r.json()["name"] == "Cổng"
    assert client.delete(f"{url}/{line.json()['id']}", headers=h).status_code == 204
    assert [z["kind"] for z in _zones(db)] == ["zone", "mask"]
    with db.session() as s:
        subjects = list(
            s.scalars(select(OutboxEvent.subject).where(OutboxEvent.subject.like("toancanh.cameras.zone.%")))
        )
    assert (
        subjects.count("toancanh.cameras.zone.created") == 3 and "toancanh.cameras.zone.deleted" in subjects
    )


BAD = [
    (
        {"kind": "zone", "points": [[0.1, 0.1], [0.5, 0.5], [0.5, 0.1], [0.1, 0.5]]},
        "self-intersecting",
    ),  # a bow tie
    ({"kind": "zone", "points": [[0.1, 0.1], [0.5, 0.1]]}, "at least 3"),
    ({"kind": "mask", "points": [[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]]}, "zero area"),
    ({"kind": "zone", "points": [[0.1, 0.1], [1.5, 0.1], [0.5, 0.5]]}, "0..1"),
    ({"kind": "zone", "points": [[0.1, -0.1], [0.5, 0.1], [0.5, 0.5]]}, "0..1"),
    ({"kind": "zone", "points": [[0.1], [0.5, 0.1], [0.5, 0.5]]}, "pairs"),
    ({"kind": "zone", "points": [["a", 0.1], [0.5, 0.1], [0.5, 0.5]]}, "pairs"),
    ({"kind": "line", "points": [[0.1, 0.1]], "direction": "both"}, "at least 2"),
    ({"kind": "line", "points": [[0.1, 0.1], [0.1, 0.1]], "direction": "both"}, "zero length"),
    ({"kind": "line", "points": [[0.1, 0.1], [0.5, 0.5]]}, "direction"),
    ({"kind": "zone", "points": SQUARE, "direction": "both"}, "Only lines"),
    ({"kind": "zone", "points": SQUARE, "purposes": ["casino"]}, "Unknown purposes"),
    ({"kind": "zone", "points": SQUARE, "schedule": {"type": "sometimes"}}, "Unknown schedule"),
    (
        {
            "kind": "zone",
            "points": SQUARE,
            "schedule": {"type": "custom", "weekly": {"mon": [["08:00", "07:00"]]}},
        },
        "start before end",
    ),
    (
        {
            "kind": "zone",
            "points": SQUARE,
            "schedule": {"type": "custom", "weekly": {"funday": [["07:00", "08:00"]]}},
        },
        "Unknown day",
    ),
    (
        {"kind": "zone", "points": SQUARE, "schedule": {"type": "custom", "weekly": {"mon": [["7h", "8h"]]}}},
        "HH:MM",
    ),
]


@pytest.mark.parametrize(("body", "word"), BAD, ids=[w for _, w in BAD])
def test_bad_zones_are_refused_and_change_nothing(
    client: Any, world: Any, db: Any, cam: dict[str, Any], body: dict[str, Any], word: str
) -> None:
    url = f"/api/v1/cameras/{cam['id']}/zones"
    ok = client.post(
        url, json={"kind": "zone", "name": "Z", "points": SQUARE}, headers=world.auth("op_a")
    ).json()
    before = _zones(db)
    r = client.post(url, json={"name": "Vùng lỗi", **body}, headers=world.auth("op_a"))
    assert r.status_code == 400, r.text
    assert word in r.json()["error"]["message_en"]
    if "kind" in body and body["kind"] == "zone":  # the same change to an existing zone is refused too
        patch = {k: v for k, v in body.items() if k != "kind"}
        r = client.patch(f"{url}/{ok['id']}", json=patch, headers=world.auth("op_a"))
        assert r.status_code == 400, r.text
    assert _zones(db) == before


def test_unknown_fields_and_kinds_are_422(client: Any, world: Any, db: Any, cam: dict[str, Any]) -> None:
    url = f"/api/v1/cameras/{cam['id']}/zones"
    for body in (
        {"kind": "circle", "name": "x", "points": SQUARE},
        {"kind": "zone", "name": "x", "points": SQUARE, "colour": 1},
    ):
        assert client.post(url, json=body, headers=world.auth("op_a")).status_code == 422
    assert client.patch(f"{url}/999", json={"name": "x"}, headers=world.auth("op_a")).status_code == 404
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(CameraZone)) == 0


def test_zone_schedules() -> None:
    cal = WorkCalendar.default()
    at = lambda *a: datetime(*a, tzinfo=VN_TZ)  # noqa: E731
    school = {"type": "school_hours"}
    assert zone_active(school, at(2026, 11, 23, 7, 0), cal)  # a Monday in term
    assert not zone_active(school, at(2026, 11, 23, 18, 0), cal)  # after school
    assert not zone_active(school, at(2026, 11, 22, 7, 0), cal)  # Sunday
    assert not zone_active(school, at(2026, 9, 2, 7, 0), cal)  # National Day
    assert not zone_active(school, at(2026, 7, 15, 7, 0), cal)  # the summer break
    assert not zone_active(school, at(2027, 2, 8, 7, 0), cal)  # Tết holidays
    custom = {"type": "custom", "weekly": {"mon": [["06:30", "07:30"]]}}
    assert zone_active(custom, at(2026, 11, 23, 6, 45), cal)
    assert not zone_active(custom, at(2026, 11, 23, 7, 30), cal)
    assert not zone_active(custom, at(2026, 11, 24, 6, 45), cal)
    assert zone_active({"type": "always"}, at(2026, 11, 22, 3, 0), cal)
