"""The work calendar: conflicts (touching intervals do not conflict), week boundaries in Vietnamese time,
the week view and its PDF, validation, and who reads and books entries."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import WORLD_USERS
from tests.modules.alerts.test_incidents import pdf_text
from tests.modules.direction.test_pages import web_login
from toancanh.core.audit import AuditEntry
from toancanh.core.outbox import OutboxEvent
from toancanh.core.worktime import VN_TZ
from toancanh.modules.direction.calendar import overlaps
from toancanh.modules.direction.calendar_models import CalendarEntry
from toancanh.modules.direction.calendar_week import parse_week, week_bounds

WEEK = "2026-W48"  # Monday 23/11/2026 .. Sunday 29/11/2026


def at(day: int, hour: int, minute: int = 0) -> str:
    """A time of November 2026 in Vietnamese time, as ISO text."""
    return datetime(2026, 11, day, hour, minute, tzinfo=VN_TZ).isoformat()


def entry(w: Any, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "unit_id": w.units["A"].id,
        "title": "Giao ban tuần UBND xã",
        "place": "Phòng họp tầng 2",
        "starts_at": at(23, 8),
        "ends_at": at(23, 10),
        "owner_user_id": w.users["leader_a"].id,
        "participant_agency_ids": [w.agencies["ca-a"].id],
        "host": "Văn phòng UBND",
    }
    body.update(over)
    return body


def book(client: Any, w: Any, who: str = "leader_a", **over: Any) -> dict[str, Any]:
    r = client.post("/api/v1/calendar", json=entry(w, **over), headers=w.auth(who))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def test_overlap_edges() -> None:
    t = datetime(2026, 11, 23, 8, tzinfo=VN_TZ)
    h = timedelta(hours=1)
    assert overlaps(t, t + h, t + h / 2, t + 2 * h)
    assert not overlaps(t, t + h, t + h, t + 2 * h)  # touching
    assert not overlaps(t + h, t + 2 * h, t, t + h)
    assert overlaps(t, t + 3 * h, t + h, t + 2 * h)  # inside
    assert overlaps(t, t + h, t, t + h)  # the same


def test_conflicts_are_shown_not_refused(client: Any, dworld: Any) -> None:
    w = dworld
    first = book(client, w)
    touching = book(client, w, title="Tiếp công dân định kỳ", starts_at=at(23, 10), ends_at=at(23, 11))
    assert not first["conflict"] and not touching["conflict"]
    clash = book(client, w, title="Kiểm tra thực địa", starts_at=at(23, 9, 30), ends_at=at(23, 11))
    assert clash["conflict"]
    assert {c["entry_id"] for c in clash["conflicts"]} == {first["id"], touching["id"]}
    # the agency booked as a participant clashes too, with a leader of another entry
    agency = book(
        client,
        w,
        title="Họp ban chỉ đạo an ninh",
        owner_user_id=None,
        owner_agency_id=w.agencies["vhxh-a"].id,
        participant_agency_ids=[w.agencies["ca-a"].id],
        starts_at=at(23, 7),
        ends_at=at(23, 8, 30),
    )
    assert [c["entry_id"] for c in agency["conflicts"]] == [first["id"]]
    got = client.get(f"/api/v1/calendar/{first['id']}", headers=w.auth("leader_a")).json()
    assert {c["entry_id"] for c in got["conflicts"]} == {clash["id"], agency["id"]}
    week = client.get(f"/api/v1/calendar/week?week={WEEK}", headers=w.auth("leader_a")).json()
    assert week["conflicts"] == 4  # the touching entry clashes with the 09:30 one only, but clashes
    assert {e["id"]: e["conflict"] for e in week["entries"]}[touching["id"]] is True


def test_week_boundaries_in_vietnamese_time(client: Any, dworld: Any) -> None:
    w = dworld
    monday = parse_week(WEEK, datetime(2026, 1, 1).date())
    start, end = week_bounds(monday)
    assert start.isoformat() == "2026-11-23T00:00:00+07:00" and (end - start).days == 7
    # Sunday 23:30 in Hanoi is Sunday 16:30 UTC: this week; Monday 00:30 is Sunday 17:30 UTC: next week
    late = book(client, w, title="Trực ban đêm Chủ nhật", starts_at=at(29, 23, 30), ends_at=at(29, 23, 50))
    early = book(client, w, title="Trực ban sáng thứ Hai", starts_at=at(30, 0, 30), ends_at=at(30, 1))
    before = book(client, w, title="Trực ban tuần trước", starts_at=at(22, 22), ends_at=at(22, 23, 59))
    this = client.get(f"/api/v1/calendar/week?week={WEEK}", headers=w.auth("op_a")).json()
    ids = {e["id"] for e in this["entries"]}
    assert late["id"] in ids and early["id"] not in ids and before["id"] not in ids
    nxt = client.get("/api/v1/calendar/week?week=2026-W49", headers=w.auth("op_a")).json()
    assert early["id"] in {e["id"] for e in nxt["entries"]}
    row = next(
        r
        for r in this["rows"]
        if any(late["id"] == e["id"] for c in r["cells"].values() for e in c["afternoon"])
    )
    assert "2026-11-29" in row["cells"]
    assert this["days"][0] == "2026-11-23" and this["days"][-1] == "2026-11-29"
    assert this["previous"] == "2026-W47" and this["next"] == "2026-W49"


def test_weekly_pdf_shows_the_vietnamese_schedule(client: Any, dworld: Any) -> None:
    w = dworld
    book(client, w, title="Giao ban tuần: đánh giá kết quả công tác")
    book(client, w, title="Kiểm tra thực địa đê hữu Hồng", starts_at=at(24, 14), ends_at=at(24, 16))
    r = client.get(f"/api/v1/calendar/week.pdf?week={WEEK}", headers=w.auth("leader_a"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    text = pdf_text(r.content)
    for expected in (
        "LỊCH CÔNG TÁC TUẦN",
        "Giao ban tuần: đánh giá kết quả công tác",
        "Kiểm tra thực địa đê hữu Hồng",
        "Thứ Hai",
        "23/11/2026",
    ):
        assert expected in text, expected
    en = pdf_text(
        client.get(f"/api/v1/calendar/week.pdf?week={WEEK}&lang=en", headers=w.auth("leader_a")).content
    )
    assert "WEEKLY WORK SCHEDULE" in en and "Tuesday" in en


BAD = [
    {"ends_at": at(23, 8)},  # end = start
    {"ends_at": at(23, 7)},  # end before start
    {"starts_at": "2026-11-23T08:00:00"},  # no time zone
    {"title": "x" * 301},
    {"place": "x" * 301},
    {"owner_user_id": None},  # no owner
    {"owner_agency_id": 1},  # two owners
    {"ends_at": "2026-12-23T08:00:00+07:00"},  # longer than 14 days
    {"unknown": 1},
    {"participant_user_ids": ["x"]},
]


@pytest.mark.parametrize("change", BAD)
def test_bad_input_is_refused_and_changes_nothing(
    client: Any, dworld: Any, db: Any, change: dict[str, Any]
) -> None:
    w = dworld
    r = client.post("/api/v1/calendar", json=entry(w, **change), headers=w.auth("leader_a"))
    assert r.status_code == 422, r.text
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(CalendarEntry)) == 0


def test_out_of_scope_people_are_refused(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    for change in (
        {"participant_agency_ids": [w.agencies["ca-b"].id]},  # commune B's police
        {"participant_user_ids": [w.users["leader_b"].id]},
        {"owner_user_id": w.users["op_b"].id},
        {"participant_agency_ids": [999_999]},
    ):
        r = client.post("/api/v1/calendar", json=entry(w, **change), headers=w.auth("leader_a"))
        assert r.status_code == 400, (change, r.text)
        assert r.json()["error"]["message"] and r.json()["error"]["message_en"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(CalendarEntry)) == 0
    assert client.get("/api/v1/calendar/week?week=2026-48", headers=w.auth("leader_a")).status_code == 422
    assert client.get("/api/v1/calendar/week?week=2026-W99", headers=w.auth("leader_a")).status_code == 400


def test_changes_are_audited_with_events(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    e = book(client, w)
    r = client.patch(
        f"/api/v1/calendar/{e['id']}",
        json={"place": "Hội trường UBND xã", "published": True},
        headers=w.auth("op_a"),
    )
    assert r.status_code == 200 and r.json()["published"] is True
    bad = client.patch(f"/api/v1/calendar/{e['id']}", json={"ends_at": at(23, 7)}, headers=w.auth("op_a"))
    assert bad.status_code == 400
    kept = client.get(f"/api/v1/calendar/{e['id']}", headers=w.auth("op_a")).json()["ends_at"]
    assert datetime.fromisoformat(kept) == datetime.fromisoformat(e["ends_at"])
    assert client.delete(f"/api/v1/calendar/{e['id']}", headers=w.auth("op_a")).status_code == 204
    with db.session() as s:
        actions = list(s.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "calendar_entry")))
        assert actions == ["calendar.create", "calendar.update", "calendar.delete"]
        subjects = list(s.scalars(select(OutboxEvent.subject).where(OutboxEvent.subject.like("%calendar%"))))
        assert len(subjects) == 3


# ------------------------------------------------------------------------------------------- permissions

# key: (unit, owner user, owner agency, participant agencies)
ENTRIES = {
    "a-leader": ("A", "leader_a", None, []),
    "a-leader-police": ("A", "leader_a", None, ["ca-a"]),
    "a-culture": ("A", None, "vhxh-a", []),
    "h1-police": ("H1", None, "ca-a", []),
    "b-leader": ("B", "leader_b", None, ["ca-b"]),
}
POLICE = {"a-leader-police", "h1-police"}


def _sees(who: str, key: str) -> bool:
    role, unit, domains = WORLD_USERS[who]
    where = ENTRIES[key][0]
    in_unit = (
        unit is None or (unit == "00664" and where in ("A", "H1")) or (unit == "0066401" and where == "H1")
    )
    in_unit = in_unit or (unit == "00070" and where == "B") or unit == "01"
    if role in ("viewer", "citizen"):
        return False
    if role == "agency_staff":
        return in_unit and key in POLICE
    return in_unit and domains is None


@pytest.fixture
def cworld(client: Any, dworld: Any) -> Any:
    w = dworld
    w.entries = {}
    for n, (key, (unit, user, agency, parts)) in enumerate(ENTRIES.items()):
        body = entry(
            w,
            unit_id=w.units[unit].id,
            title=f"Lịch {key}",
            owner_user_id=w.users[user].id if user else None,
            owner_agency_id=w.agencies[agency].id if agency else None,
            participant_agency_ids=[w.agencies[p].id for p in parts],
            starts_at=at(24, 8 + n),
            ends_at=at(24, 9 + n),
        )
        r = client.post("/api/v1/calendar", json=body, headers=w.auth("admin"))
        assert r.status_code == 201, r.text
        w.entries[key] = r.json()["id"]
    return w


@pytest.mark.parametrize("who", list(WORLD_USERS) + ["staff_vh", "leader_b"])
def test_read_matrix(client: Any, cworld: Any, who: str) -> None:
    w = cworld
    users = dict(WORLD_USERS)
    users.update({"staff_vh": ("agency_staff", "00664", None), "leader_b": ("leader", "00070", None)})
    role = users[who][0]
    r = client.get("/api/v1/calendar?from=2026-11-20T00:00:00%2B07:00", headers=w.auth(who))
    if role in ("viewer", "citizen"):
        assert r.status_code == 403
        return
    assert r.status_code == 200, r.text
    seen = {e["id"] for e in r.json()}
    if who == "staff_vh":
        expected = {"a-culture"}
    elif who == "leader_b":
        expected = {"b-leader"}
    else:
        expected = {k for k in ENTRIES if _sees(who, k)}
    assert seen == {w.entries[k] for k in expected}, who
    for key, eid in w.entries.items():
        got = client.get(f"/api/v1/calendar/{eid}", headers=w.auth(who))
        assert got.status_code == (200 if key in expected else 404), (who, key)


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_write_matrix(client: Any, dworld: Any, db: Any, who: str) -> None:
    w = dworld
    for unit, owner in (("A", "leader_a"), ("B", "leader_b")):
        r = client.post(
            "/api/v1/calendar",
            json=entry(
                w, unit_id=w.units[unit].id, owner_user_id=w.users[owner].id, participant_agency_ids=[]
            ),
            headers=w.auth(who),
        )
        role, code, domains = WORLD_USERS[who]
        allowed = role == "admin" or (
            role in ("leader", "operator")
            and domains is None
            and (code == "00664" and unit == "A" or code == "00070" and unit == "B")
        )
        assert r.status_code == (201 if allowed else 403), (who, unit, r.text)
    with db.session() as s:
        total = s.scalar(select(func.count()).select_from(CalendarEntry))
    assert total == sum(
        1
        for unit in ("A", "B")
        if WORLD_USERS[who][0] == "admin"
        or (
            WORLD_USERS[who][0] in ("leader", "operator")
            and WORLD_USERS[who][2] is None
            and {"A": "00664", "B": "00070"}[unit] == WORLD_USERS[who][1]
        )
    )


@pytest.mark.parametrize("who", list(WORLD_USERS) + ["staff_vh"])
def test_week_page_by_role(client: Any, cworld: Any, who: str) -> None:
    w = cworld
    web_login(client, who)
    r = client.get(f"/direction/calendar?week=2026-W48&unit={w.units['A'].id}")
    reads = WORLD_USERS.get(who, ("agency_staff",))[0] not in ("viewer", "citizen")
    assert r.status_code == (200 if reads else 403), (who, r.status_code)
    if not reads:
        return
    assert "Lịch công tác tuần" in r.text and 'id="week"' in r.text
    assert ("Lịch a-leader-police" in r.text) == (who in ("admin", "leader_a", "op_a", "police_a"))
    assert "Lịch b-leader" not in r.text
    pdf = client.get(f"/direction/calendar.pdf?week=2026-W48&unit={w.units['A'].id}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    en = client.get(f"/direction/calendar?week=2026-W48&unit={w.units['A'].id}&lang=en")
    assert en.status_code == 200
