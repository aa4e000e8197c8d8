"""The life of a directed task through the API: the full flows, extensions, and every guard."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.modules.direction.conftest import PDF, act, directive_body, issue, png, task_spec, upload
from toancanh.core.audit import AuditEntry
from toancanh.core.outbox import OutboxEvent
from toancanh.core.workflow import CaseHistory
from toancanh.core.worktime import VN_TZ
from toancanh.modules.direction.models import DirectionTask, ExtensionRequest

DONE_TEXT = "Đã giải tỏa điểm rác, lắp biển cấm và camera giám sát"


def _task(client: Any, w: Any, **over: Any) -> dict[str, Any]:
    return issue(client, w, tasks=[task_spec(w, **over)])["tasks"][0]


def _get(client: Any, w: Any, task_id: int, who: str = "leader_a") -> dict[str, Any]:
    r = client.get(f"/api/v1/direction-tasks/{task_id}", headers=w.auth(who))
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _ok(resp: Any) -> dict[str, Any]:
    assert resp.status_code == 200, resp.text
    return resp.json()  # type: ignore[no-any-return]


def _snapshot(db: Any, task_id: int) -> tuple[Any, ...]:
    with db.session() as s:
        t = s.get(DirectionTask, task_id)
        counts = tuple(
            s.scalar(select(func.count()).select_from(m))
            for m in (CaseHistory, OutboxEvent, AuditEntry, ExtensionRequest)
        )
        return (t.state, t.progress, t.deadline_at, t.due_at, t.submitted_at, t.evidence, *counts)


def test_acknowledge_progress_submit_accept(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    task = _task(client, w)
    assert task["state"] == "assigned" and task["lead_agency"] == "Công an Xã Đại Thanh"
    assert _ok(act(client, w, "police_a", task["id"], "acknowledge"))["state"] == "in_progress"
    sha = upload(client, w, "staff_vh", png())
    body = _ok(
        act(
            client,
            w,
            "staff_vh",
            task["id"],
            "report_progress",
            percent=40,
            text="Đã khảo sát",
            attachments=[sha],
        )
    )
    assert body["state"] == "in_progress" and body["progress"] == 40
    _ok(act(client, w, "police_a", task["id"], "report_progress", percent=80, text="Đã dọn 80% khối lượng"))
    evidence = upload(client, w, "police_a")
    body = _ok(act(client, w, "police_a", task["id"], "submit", text=DONE_TEXT, evidence=[evidence]))
    assert body["state"] == "submitted" and body["due_at"] is None  # the leader holds it now
    body = _ok(act(client, w, "leader_a", task["id"], "accept"))
    assert body["state"] == "done" and body["on_time"] is True and body["progress"] == 100
    steps = [h["transition"] for h in body["history"]]
    assert steps == ["open", "acknowledge", "report_progress", "report_progress", "submit", "accept"]
    assert body["history"][2]["data"]["attachments"] == [sha]
    with db.session() as s:
        subjects = list(s.scalars(select(OutboxEvent.subject).order_by(OutboxEvent.id)))
        audited = set(s.scalars(select(AuditEntry.action)))
    assert "toancanh.direction.directive.issued" in subjects
    for step in ("opened", "acknowledge", "report_progress", "submit", "accept"):
        assert f"toancanh.direction.task.{step}" in subjects
    assert {
        "directive.issue",
        "direction_task.open",
        "direction_task.submit",
        "direction_task.accept",
    } <= audited


def test_return_then_resubmit(client: Any, dworld: Any) -> None:
    w = dworld
    task = _task(client, w)
    _ok(act(client, w, "police_a", task["id"], "acknowledge"))
    evidence = upload(client, w, "police_a")
    _ok(act(client, w, "police_a", task["id"], "submit", text=DONE_TEXT, evidence=[evidence]))
    r = act(client, w, "leader_a", task["id"], "return")
    assert r.status_code == 422  # a reason is required
    body = _ok(act(client, w, "leader_a", task["id"], "return", reason="Thiếu ảnh sau khi dọn dẹp"))
    assert body["state"] == "returned" and body["due_at"] == body["deadline_at"]
    assert _ok(act(client, w, "police_a", task["id"], "acknowledge"))["state"] == "in_progress"
    _ok(
        act(
            client,
            w,
            "police_a",
            task["id"],
            "submit",
            text=DONE_TEXT + " (bổ sung ảnh)",
            evidence=[evidence],
        )
    )
    body = _ok(act(client, w, "leader_a", task["id"], "accept"))
    steps = [h["transition"] for h in body["history"]]
    assert steps == ["open", "acknowledge", "submit", "return", "acknowledge", "submit", "accept"]


def test_extension_approved_moves_the_deadline(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    task = _task(client, w, deadline_days=None, deadline="2099-03-02")
    _ok(act(client, w, "police_a", task["id"], "acknowledge"))
    body = _ok(
        act(
            client,
            w,
            "police_a",
            task["id"],
            "request_extension",
            reason="Chờ kinh phí từ huyện",
            new_deadline="2099-03-20",
        )
    )
    req = body["extension_requests"][0]
    assert req["status"] == "pending" and body["deadline_at"] == task["deadline_at"]
    # a second request while one is pending is refused
    r = act(
        client,
        w,
        "police_a",
        task["id"],
        "request_extension",
        reason="Lại xin thêm thời gian",
        new_deadline="2099-04-01",
    )
    assert r.status_code == 409
    # the agency cannot approve its own request
    assert (
        act(client, w, "police_a", task["id"], "approve_extension", request_id=req["id"]).status_code == 403
    )
    body = _ok(act(client, w, "leader_a", task["id"], "approve_extension", request_id=req["id"]))
    new = datetime(2099, 3, 20, 17, tzinfo=VN_TZ)
    assert datetime.fromisoformat(body["deadline_at"]) == new
    assert datetime.fromisoformat(body["due_at"]) == new
    assert body["extension_requests"][0]["status"] == "approved"
    assert datetime.fromisoformat(body["history"][-1]["data"]["new_deadline"]) == new
    # decided once only
    assert (
        act(client, w, "leader_a", task["id"], "approve_extension", request_id=req["id"]).status_code == 409
    )


def test_extension_refused_keeps_the_deadline(client: Any, dworld: Any) -> None:
    w = dworld
    task = _task(client, w, deadline_days=None, deadline="2099-03-02")
    body = _ok(
        act(
            client,
            w,
            "police_a",
            task["id"],
            "request_extension",
            reason="Thiếu nhân lực do trực lễ",
            new_deadline="2099-03-10",
        )
    )
    req_id = body["extension_requests"][0]["id"]
    assert act(client, w, "leader_a", task["id"], "refuse_extension", request_id=req_id).status_code == 422
    body = _ok(
        act(
            client,
            w,
            "leader_a",
            task["id"],
            "refuse_extension",
            request_id=req_id,
            reason="Nhiệm vụ cấp bách, không gia hạn",
        )
    )
    assert body["deadline_at"] == task["deadline_at"] and body["due_at"] == task["due_at"]
    assert body["extension_requests"][0]["status"] == "refused"
    assert body["state"] == "assigned"


def test_only_the_lead_agency_submits(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    task = _task(client, w)
    _ok(act(client, w, "police_a", task["id"], "acknowledge"))
    evidence = upload(client, w, "staff_vh")
    before = _snapshot(db, task["id"])
    r = act(client, w, "staff_vh", task["id"], "submit", text=DONE_TEXT, evidence=[evidence])
    assert r.status_code == 403
    assert set(r.json()["error"]) >= {"code", "message", "message_en"}
    assert (
        act(
            client,
            w,
            "staff_vh",
            task["id"],
            "request_extension",
            reason="Cần thêm thời gian phối hợp",
            new_deadline="2099-01-01",
        ).status_code
        == 403
    )
    assert _snapshot(db, task["id"]) == before


@pytest.mark.parametrize(
    ("who", "name", "body", "status"),
    [
        ("police_a", "submit", {"text": DONE_TEXT}, 422),  # evidence required
        ("police_a", "submit", {"text": DONE_TEXT, "evidence": ["0" * 64]}, 400),  # not uploaded
        ("police_a", "submit", {"text": "xong", "evidence": "EVIDENCE"}, 400),  # too short
        ("police_a", "report_progress", {"percent": 101, "text": "quá trăm phần trăm"}, 422),
        ("police_a", "report_progress", {"percent": -1, "text": "âm"}, 422),
        ("police_a", "report_progress", {"percent": "nhiều", "text": "chữ"}, 422),
        ("police_a", "report_progress", {"text": "thiếu phần trăm"}, 422),
        ("police_a", "report_progress", {"percent": 50, "text": "x", "unknown": 1}, 422),
        ("police_a", "request_extension", {"reason": "Chờ vật tư", "new_deadline": "2000-01-01"}, 400),
        (
            "police_a",
            "request_extension",
            {"reason": "Chờ vật tư thay thế", "new_deadline": "not a date"},
            422,
        ),
        ("police_a", "request_extension", {"new_deadline": "2099-01-01"}, 422),
        ("police_a", "approve_extension", {"request_id": 1}, 403),
        ("leader_a", "accept", {}, 409),  # not submitted yet
        ("leader_a", "fly", {}, 400),
        ("leader_a", "approve_extension", {"request_id": 999}, 404),
    ],
)
def test_bad_steps_are_refused_and_change_nothing(
    client: Any, dworld: Any, db: Any, who: str, name: str, body: dict[str, Any], status: int
) -> None:
    w = dworld
    task = _task(client, w)
    _ok(act(client, w, "police_a", task["id"], "acknowledge"))
    if body.get("evidence") == "EVIDENCE":
        body = {**body, "evidence": [upload(client, w, "police_a")]}
    before = _snapshot(db, task["id"])
    r = act(client, w, who, task["id"], name, **body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["message"] and err["message_en"]
    assert _snapshot(db, task["id"]) == before


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"tasks": []}, 422),
        ({"kind": "memo"}, 422),
        ({"number": ""}, 422),
        ({"unit_id": 2**63}, 422),
        ({"unit_id": 999_999}, 404),
        ({"attachments": ["0" * 64]}, 400),
        ({"tasks": "TASK", "task": {"deadline_days": None}}, 422),  # neither a date nor days
        ({"tasks": "TASK", "task": {"deadline": "2099-01-01"}}, 422),  # both
        ({"tasks": "TASK", "task": {"deadline_days": None, "deadline": "2001-01-01"}}, 400),  # in the past
        ({"tasks": "TASK", "task": {"deadline_days": 0}}, 422),
        ({"tasks": "TASK", "task": {"priority": "asap"}}, 422),
        ({"tasks": "TASK", "task": {"domain": "space"}}, 400),
        ({"tasks": "TASK", "task": {"lead_agency_id": 999}}, 400),
        ({"tasks": "TASK", "task": {"lead_agency_id": "CA_B"}}, 400),  # another commune's agency
        ({"tasks": "TASK", "task": {"source": {"kind": "rumour"}}}, 422),
        ({"tasks": "TASK", "task": {"cooperating_agency_ids": ["LEAD"]}}, 422),
    ],
)
def test_bad_directives_are_refused_and_change_nothing(
    client: Any, dworld: Any, db: Any, change: dict[str, Any], status: int
) -> None:
    w = dworld
    body = directive_body(w)
    if change.get("tasks") == "TASK":
        over = dict(change["task"])
        for key, value in list(over.items()):
            if value == "CA_B":
                over[key] = w.agencies["ca-b"].id
            if value == ["LEAD"]:
                over[key] = [w.agencies["ca-a"].id]
        body["tasks"] = [task_spec(w, **over)]
    else:
        body.update(change)
    with db.session() as s:
        before = (
            s.scalar(select(func.count()).select_from(DirectionTask)),
            s.scalar(select(func.count()).select_from(OutboxEvent)),
        )
    r = client.post("/api/v1/directives", json=body, headers=w.auth("leader_a"))
    assert r.status_code == status, r.text
    with db.session() as s:
        after = (
            s.scalar(select(func.count()).select_from(DirectionTask)),
            s.scalar(select(func.count()).select_from(OutboxEvent)),
        )
    assert after == before


def test_directive_with_attachment_and_several_tasks(client: Any, dworld: Any) -> None:
    w = dworld
    sha = upload(client, w, "police_a", PDF)  # leaders attach what an office uploaded
    body = issue(
        client,
        w,
        attachments=[sha],
        tasks=[
            task_spec(w),
            task_spec(
                w,
                title="Tuyên truyền người dân không đổ rác",
                lead_agency_id=w.agencies["vhxh-a"].id,
                cooperating_agency_ids=[],
                domain="culture",
            ),
        ],
    )
    assert body["attachments"] == [sha] and len(body["tasks"]) == 2
    listed = client.get("/api/v1/directives", headers=w.auth("leader_a")).json()
    assert [d["id"] for d in listed] == [body["id"]]
    detail = client.get(f"/api/v1/directives/{body['id']}", headers=w.auth("leader_a")).json()
    assert len(detail["tasks"]) == 2
    # the culture office sees the directive but only its own task
    mine = client.get(f"/api/v1/directives/{body['id']}", headers=w.auth("staff_vh")).json()
    assert [t["title"] for t in mine["tasks"]] == [
        t["title"] for t in body["tasks"]
    ]  # co-operating on the first
    police = client.get(f"/api/v1/directives/{body['id']}", headers=w.auth("police_a")).json()
    assert [t["id"] for t in police["tasks"]] == [body["tasks"][0]["id"]]


def test_list_filters_and_overdue_first(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    later = issue(client, w, tasks=[task_spec(w, deadline_days=20, source={"kind": "incident", "id": 3})])[
        "tasks"
    ][0]
    sooner = issue(client, w, tasks=[task_spec(w, deadline_days=2, source={"kind": "indicator"})])["tasks"][0]
    late = issue(client, w, tasks=[task_spec(w, deadline_days=30)])["tasks"][0]
    with db.session() as s:  # a task whose deadline passed
        t = s.get(DirectionTask, late["id"])
        t.deadline_at = t.due_at = datetime.now(VN_TZ) - timedelta(days=1)
    h = w.auth("leader_a")
    ids = [t["id"] for t in client.get("/api/v1/direction-tasks", headers=h).json()]
    assert ids == [late["id"], sooner["id"], later["id"]]
    assert [t["id"] for t in client.get("/api/v1/direction-tasks?overdue=true", headers=h).json()] == [
        late["id"]
    ]
    assert [t["id"] for t in client.get("/api/v1/direction-tasks?source=incident", headers=h).json()] == [
        later["id"]
    ]
    leader = w.users["leader_a"].id
    assert len(client.get(f"/api/v1/direction-tasks?leader_id={leader}", headers=h).json()) == 3
    assert client.get(f"/api/v1/direction-tasks?leader_id={leader + 999}", headers=h).json() == []
    vh = w.agencies["vhxh-a"].id
    assert len(client.get(f"/api/v1/direction-tasks?agency_id={vh}", headers=h).json()) == 3  # co-operating
    for bad in ("state=lost", "source=rumour", "order=random", "limit=0", "agency_id=abc"):
        r = client.get(f"/api/v1/direction-tasks?{bad}", headers=h)
        assert r.status_code == 422, bad
