"""Meetings: preparing (agenda, invitees, checked documents), the paperless screen (speaking requests the chair
grants, one vote per attendee and the tally), conclusions -> a directive with tasks in one step, who may do
what, and bad input changing nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.modules.direction.conftest import upload
from tests.modules.direction.test_pages import web_login
from toancanh.core.db import utcnow
from toancanh.core.outbox import OutboxEvent
from toancanh.core.worktime import VN_TZ
from toancanh.modules.direction.calendar_models import CalendarEntry, Meeting
from toancanh.modules.direction.models import DirectionTask, Directive


def meeting_body(w: Any, **over: Any) -> dict[str, Any]:
    start = (
        (utcnow() + timedelta(days=2)).astimezone(VN_TZ).replace(hour=8, minute=0, second=0, microsecond=0)
    )
    body: dict[str, Any] = {
        "unit_id": w.units["A"].id,
        "title": "Họp Ban chỉ đạo phòng chống thiên tai xã",
        "chair_id": w.users["leader_a"].id,
        "place": "Phòng họp trực tuyến UBND xã",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "items": [
            {"title": "Báo cáo tình hình mưa lũ", "presenter": "Công an xã", "minutes": 20},
            {"title": "Phương án sơ tán dân", "presenter": "Phòng Văn hóa - Xã hội", "minutes": 30},
        ],
        "invitee_user_ids": [w.users["op_a"].id],
        "invitee_agency_ids": [w.agencies["ca-a"].id],
    }
    body.update(over)
    return body


def create(client: Any, w: Any, who: str = "op_a", **over: Any) -> dict[str, Any]:
    r = client.post("/api/v1/meetings", json=meeting_body(w, **over), headers=w.auth(who))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def post(client: Any, w: Any, who: str, mid: int, path: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(f"/api/v1/meetings/{mid}/{path}", json=body or {}, headers=w.auth(who))


def test_prepare_with_documents_and_attendance(client: Any, dworld: Any) -> None:
    w = dworld
    sha = upload(client, w, "op_a")
    m = create(client, w, documents=[{"sha256": sha, "title": "Báo cáo nhanh tình hình mưa lũ"}])
    assert [i["position"] for i in m["items"]] == [1, 2]
    assert m["documents"][0]["title"] == "Báo cáo nhanh tình hình mưa lũ"
    assert m["entry"]["owner_user_id"] == w.users["leader_a"].id and m["entry"]["meeting_id"] == m["id"]
    assert len(m["invitees"]) == 2 and all(i["attendance"] == "invited" for i in m["invitees"])
    police = next(i for i in m["invitees"] if i["agency_id"])
    r = post(
        client, w, "op_a", m["id"], "attendance", {"invitee_id": police["id"], "attendance": "delegated"}
    )
    assert r.status_code == 422  # a delegate must be named
    r = post(
        client,
        w,
        "op_a",
        m["id"],
        "attendance",
        {"invitee_id": police["id"], "attendance": "delegated", "delegate": "Phó trưởng Công an xã"},
    )
    assert r.status_code == 200
    got = next(i for i in r.json()["invitees"] if i["id"] == police["id"])
    assert got["attendance"] == "delegated" and got["delegate"] == "Phó trưởng Công an xã"
    # a document not uploaded is refused
    r = post(client, w, "op_a", m["id"], "documents", {"sha256": "0" * 64, "title": "Không có"})
    assert r.status_code == 400
    assert (
        post(client, w, "op_a", m["id"], "documents", {"sha256": sha, "title": "Lần hai"}).status_code == 409
    )


def test_speaking_requests_and_votes(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    m = create(client, w)
    mid = m["id"]
    # nothing before the meeting starts
    assert post(client, w, "police_a", mid, "speaking").status_code == 409
    assert post(client, w, "police_a", mid, "state", {"state": "in_progress"}).status_code == 403
    r = post(
        client, w, "leader_a", mid, "state", {"state": "in_progress", "current_item_id": m["items"][0]["id"]}
    )
    assert r.status_code == 200 and r.json()["state"] == "in_progress"
    first = post(client, w, "police_a", mid, "speaking")
    assert first.status_code == 201
    assert post(client, w, "police_a", mid, "speaking").status_code == 409  # one waiting request each
    second = post(client, w, "op_a", mid, "speaking")
    assert second.status_code == 201
    assert post(client, w, "viewer_a", mid, "speaking").status_code in (403, 404)
    assert post(client, w, "police_a", mid, f"speaking/{second.json()['id']}/grant").status_code == 403
    assert post(client, w, "leader_a", mid, f"speaking/{first.json()['id']}/grant").status_code == 200
    assert post(client, w, "leader_a", mid, f"speaking/{first.json()['id']}/grant").status_code == 409
    queue = client.get(f"/api/v1/meetings/{mid}", headers=w.auth("leader_a")).json()["speaking"]
    assert [(s["id"], s["status"]) for s in queue] == [
        (first.json()["id"], "granted"),
        (second.json()["id"], "waiting"),
    ]
    # votes: the chair opens, each attendee votes once, the tally counts
    assert post(client, w, "police_a", mid, "votes", {"question": "Thông qua phương án"}).status_code == 403
    vote = post(client, w, "leader_a", mid, "votes", {"question": "Thông qua phương án sơ tán"}).json()
    url = f"votes/{vote['id']}/ballot"
    assert post(client, w, "police_a", mid, url, {"choice": "yes"}).status_code == 201
    assert post(client, w, "police_a", mid, url, {"choice": "no"}).status_code == 409
    assert post(client, w, "op_a", mid, url, {"choice": "abstain"}).status_code == 201
    assert post(client, w, "leader_a", mid, url, {"choice": "maybe"}).status_code == 422
    r = post(client, w, "leader_a", mid, url, {"choice": "yes"})
    assert r.json()["tally"] == {"yes": 2, "no": 0, "abstain": 1, "total": 3}
    assert post(client, w, "op_b", mid, url, {"choice": "no"}).status_code == 404  # not even visible
    closed = post(client, w, "leader_a", mid, f"votes/{vote['id']}/close")
    assert closed.json()["tally"]["total"] == 3
    assert post(client, w, "police_a", mid, url, {"choice": "yes"}).status_code == 409
    with db.session() as s:
        events = s.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.subject.like("%meeting%"))
        )
        assert events and events >= 9


def test_conclusions_become_tasks_in_one_step(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    m = create(client, w)
    mid = m["id"]
    deadline = (utcnow() + timedelta(days=20)).astimezone(VN_TZ).date().isoformat()
    conclusions = [
        {
            "text": "Rà soát các hộ dân vùng trũng thấp",
            "lead_agency_id": w.agencies["ca-a"].id,
            "deadline": deadline,
            "domain": "security",
        },
        {
            "text": "Chuẩn bị điểm sơ tán tại trường tiểu học",
            "lead_agency_id": w.agencies["vhxh-a"].id,
            "deadline": deadline,
            "domain": "education",
        },
    ]
    bad = [{**conclusions[0], "lead_agency_id": w.agencies["ca-b"].id}]
    r = client.put(
        f"/api/v1/meetings/{mid}/minutes",
        json={"minutes": "x", "conclusions": bad},
        headers=w.auth("leader_a"),
    )
    assert r.status_code == 400
    assert client.get(f"/api/v1/meetings/{mid}", headers=w.auth("leader_a")).json()["conclusions"] == []
    r = client.put(
        f"/api/v1/meetings/{mid}/minutes",
        json={"minutes": "Cuộc họp thống nhất phương án.", "conclusions": conclusions},
        headers=w.auth("op_a"),
    )
    assert r.status_code == 200, r.text
    # only the chair turns conclusions into tasks
    assert post(client, w, "op_a", mid, "conclude", {"number": "12/TB-UBND"}).status_code == 403
    r = post(client, w, "leader_a", mid, "conclude", {"number": "12/TB-UBND"})
    assert r.status_code == 201, r.text
    out = r.json()
    assert len(out["task_ids"]) == 2
    assert post(client, w, "leader_a", mid, "conclude", {"number": "13/TB-UBND"}).status_code == 409
    with db.session() as s:
        directive = s.get(Directive, out["directive_id"])
        assert directive is not None and directive.kind == "conclusion" and directive.number == "12/TB-UBND"
        tasks = list(s.scalars(select(DirectionTask).where(DirectionTask.directive_id == directive.id)))
        assert {t.title for t in tasks} == {c["text"] for c in conclusions}
        assert all(t.source_kind == "meeting_conclusion" and t.source_id == mid for t in tasks)
        assert {t.assignee_agency_id for t in tasks} == {w.agencies["ca-a"].id, w.agencies["vhxh-a"].id}
        meeting = s.get(Meeting, mid)
        assert meeting is not None and meeting.directive_id == directive.id
        assert [c["task_id"] for c in meeting.conclusions] == sorted(out["task_ids"])
    # the police see their task, its source the meeting
    r = client.get(f"/api/v1/direction-tasks/{min(out['task_ids'])}", headers=w.auth("police_a"))
    assert r.status_code == 200
    assert r.json()["source"]["kind"] == "meeting_conclusion" and r.json()["source"]["id"] == mid


BAD = [
    {"ends_at": None},
    {"title": "x"},
    {"items": [{"title": "ok ok", "minutes": 0}]},
    {"items": [{"title": "ok ok"}] * 31},
    {"invitee_agency_ids": ["a"]},
    {"documents": [{"sha256": "xyz", "title": "t"}]},
]


@pytest.mark.parametrize("change", BAD)
def test_bad_meetings_change_nothing(client: Any, dworld: Any, db: Any, change: dict[str, Any]) -> None:
    w = dworld
    body = meeting_body(w, **change)
    if change.get("ends_at", 1) is None:
        body["ends_at"] = body["starts_at"]
    r = client.post("/api/v1/meetings", json=body, headers=w.auth("op_a"))
    assert r.status_code == 422, r.text
    for change2, status in (
        ({"invitee_agency_ids": [w.agencies["ca-b"].id]}, 400),
        ({"documents": [{"sha256": "0" * 64, "title": "t"}]}, 400),
        ({"chair_id": w.users["leader_b"].id}, 400),
    ):
        r = client.post("/api/v1/meetings", json=meeting_body(w, **change2), headers=w.auth("op_a"))
        assert r.status_code == status, (change2, r.text)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Meeting)) == 0
        assert s.scalar(select(func.count()).select_from(CalendarEntry)) == 0


def test_who_sees_and_prepares_meetings(client: Any, dworld: Any) -> None:
    w = dworld
    invited = create(client, w)  # police invited
    other = create(client, w, invitee_agency_ids=[], title="Họp chuyên đề văn hóa")
    seen = {
        who: {m["id"] for m in client.get("/api/v1/meetings", headers=w.auth(who)).json()}
        for who in ("admin", "leader_a", "op_a", "police_a", "staff_vh", "op_b", "leader_b")
    }
    assert seen["leader_a"] == seen["op_a"] == seen["admin"] == {invited["id"], other["id"]}
    assert seen["police_a"] == {invited["id"]}
    assert seen["staff_vh"] == seen["op_b"] == seen["leader_b"] == set()
    assert client.get(f"/api/v1/meetings/{other['id']}", headers=w.auth("police_a")).status_code == 404
    for who in ("viewer_a", "citizen"):
        assert client.get("/api/v1/meetings", headers=w.auth(who)).status_code == 403
    for who, status in (
        ("police_a", 403),
        ("op_b", 403),
        ("viewer_a", 403),
        ("leader_a", 201),
        ("admin", 201),
    ):
        r = client.post("/api/v1/meetings", json=meeting_body(w), headers=w.auth(who))
        assert r.status_code == status, (who, r.text)


@pytest.mark.parametrize("who", ["admin", "leader_a", "op_a", "police_a", "staff_vh", "op_b", "viewer_a"])
def test_meeting_pages_by_role(client: Any, dworld: Any, who: str) -> None:
    w = dworld
    m = create(client, w)
    csrf = web_login(client, who)
    expected = {"admin": 200, "leader_a": 200, "op_a": 200, "police_a": 200, "staff_vh": 404, "op_b": 404}
    for path in (f"/direction/meetings/{m['id']}", f"/direction/meetings/{m['id']}/screen"):
        r = client.get(path)
        assert r.status_code == expected.get(who, 403), (who, path, r.status_code)
        if r.status_code == 200:
            assert "Họp Ban chỉ đạo phòng chống thiên tai xã" in r.text
            assert "Báo cáo tình hình mưa lũ" in r.text
    if who == "leader_a":
        r = client.post(
            f"/direction/meetings/{m['id']}/act",
            data={"csrf": csrf, "action": "start", "back": "screen"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        r = client.post(
            f"/direction/meetings/{m['id']}/act",
            data={"csrf": csrf, "action": "vote", "text": "Thông qua kế hoạch", "back": "screen"},
            follow_redirects=True,
        )
        assert "Thông qua kế hoạch" in r.text and "Tán thành" in r.text
        bad = client.post(
            f"/direction/meetings/{m['id']}/act", data={"csrf": csrf, "action": "start", "back": "screen"}
        )
        assert bad.status_code == 400 and "Không chuyển được" in bad.text
        assert (
            client.post(
                f"/direction/meetings/{m['id']}/act", data={"csrf": "x", "action": "finish"}
            ).status_code
            == 403
        )
