"""The direction pages as each role sees them, in Vietnamese and English, and their forms."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import WORLD_USERS
from tests.modules.direction.conftest import PDF, issue, task_spec
from toancanh.modules.direction.models import DirectionTask, Directive, ExtensionRequest


def web_login(client: Any, username: str) -> str:
    """Sign in through the login form; returns the session's CSRF token."""
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post(
        "/login",
        data={"username": username, "password": f"{username}-password", "csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    found = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/").text)
    assert found
    return found.group(1)


@pytest.fixture
def one(client: Any, dworld: Any) -> dict[str, Any]:
    return issue(
        client, dworld, tasks=[task_spec(dworld, title="Triển khai phòng chống ngập úng <b>khẩn</b>")]
    )


PAGES = (
    "/direction",
    "/direction/ranking",
    "/direction?view=agency",
    "/direction?view=leader",
    "/direction?view=source",
)


@pytest.mark.parametrize("who", list(WORLD_USERS) + ["staff_vh"])
def test_pages_by_role(client: Any, dworld: Any, one: dict[str, Any], who: str) -> None:
    web_login(client, who)
    task_id = one["tasks"][0]["id"]
    reads = who not in ("viewer_a", "citizen")
    for path in PAGES:
        r = client.get(path)
        assert r.status_code == (200 if reads else 403), (who, path)
    r = client.get(f"/direction/tasks/{task_id}")
    sees_task = who in ("admin", "leader_a", "op_a", "police_a", "staff_vh")  # op_hamlet: the task is in A
    assert r.status_code == (200 if sees_task else 403 if not reads else 404), (who, r.status_code)
    if sees_task:
        assert "Lịch sử xử lý" in r.text and "&lt;b&gt;khẩn&lt;/b&gt;" in r.text
        assert ("actions/acknowledge" in r.text) == (who in ("admin", "police_a"))
    issues = who in ("admin", "leader_a")
    assert client.get("/direction/new").status_code == (200 if issues else 403)
    home = client.get("/")
    assert ('href="/direction"' in home.text) == reads


def test_english_switch(client: Any, dworld: Any, one: dict[str, Any]) -> None:
    web_login(client, "leader_a")
    vi = client.get("/direction").text
    assert "Theo dõi nhiệm vụ chỉ đạo" in vi and "Quá hạn" in vi
    client.get("/lang/en")
    en = client.get("/direction").text
    assert "Directed tasks" in en and "Theo dõi nhiệm vụ chỉ đạo" not in en
    assert "Agency ranking" in client.get("/direction/ranking").text
    assert "History" in client.get(f"/direction/tasks/{one['tasks'][0]['id']}").text


def test_pages_need_a_session(client: Any, dworld: Any) -> None:
    for path in ("/direction", "/direction/new", "/direction/ranking", "/direction/tasks/1"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")


def _count(db: Any, model: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_directive_form_issues_several_tasks(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    csrf = web_login(client, "leader_a")
    ca, vh = w.agencies["ca-a"].id, w.agencies["vhxh-a"].id
    form = {
        "csrf": csrf,
        "unit_id": str(w.units["A"].id),
        "number": "12/CĐ-UBND",
        "kind": "directive",
        "title": "Chỉ đạo xử lý điểm tập kết rác tự phát",
        "summary": "",
        "task_title": ["Giải tỏa điểm rác", "Tuyên truyền người dân", ""],
        "task_lead": [str(ca), str(vh), ""],
        "task_domain": ["environment", "culture", "administration"],
        "task_priority": ["high", "normal", "normal"],
        "task_days": ["3", "", ""],
        "task_deadline": ["", "2099-12-31", ""],
        "task_output": ["Ảnh trước và sau", "", ""],
        "task_source": ["field_report", "other", "other"],
        "task_source_ref": ["PA-77", "", ""],
        "coop": [f"0:{vh}"],
    }
    bad = {**form, "task_days": ["", "", ""], "task_deadline": ["", "", ""]}
    r = client.post("/direction/new", data=bad, files={"attachment": ("", b"", "application/octet-stream")})
    assert r.status_code == 400 and "dr-errors" in r.text
    assert _count(db, Directive) == 0
    assert client.post("/direction/new", data={**form, "csrf": "wrong"}).status_code == 403
    r = client.post(
        "/direction/new",
        data=form,
        files={"attachment": ("cv.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with db.session() as s:
        d = s.scalars(select(Directive)).one()
        tasks = s.scalars(select(DirectionTask).order_by(DirectionTask.id)).all()
        assert len(d.attachments) == 1 and [t.title for t in tasks] == [
            "Giải tỏa điểm rác",
            "Tuyên truyền người dân",
        ]
        assert tasks[0].deadline_days == 3 and tasks[0].source_ref == "PA-77"


def test_task_forms_drive_the_flow(client: Any, dworld: Any, db: Any, one: dict[str, Any]) -> None:
    task_id = one["tasks"][0]["id"]
    base = f"/direction/tasks/{task_id}/actions"
    csrf = web_login(client, "police_a")
    assert client.post(f"{base}/acknowledge", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    r = client.post(f"{base}/report_progress", data={"csrf": csrf, "percent": "150", "text": "quá"})
    assert r.status_code == 400 and "dr-errors" in r.text
    r = client.post(
        f"{base}/report_progress",
        data={"csrf": csrf, "percent": "60", "text": "Đã nạo vét 60% cống"},
        files={"file": ("anh.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"{base}/request_extension",
        data={"csrf": csrf, "new_deadline": "2099-01-05", "reason": "Chờ máy bơm từ huyện"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(f"{base}/submit", data={"csrf": csrf, "text": "Đã hoàn thành nạo vét"})
    assert r.status_code == 400  # evidence required
    r = client.post(
        f"{base}/submit",
        data={"csrf": csrf, "text": "Đã hoàn thành nạo vét toàn bộ"},
        files={"file": ("kq.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    csrf = web_login(client, "leader_a")
    page = client.get(f"/direction/tasks/{task_id}").text
    assert "actions/approve_extension" in page and "actions/accept" in page and 'aria-valuenow="60"' in page
    with db.session() as s:
        req = s.scalars(select(ExtensionRequest)).one()
    r = client.post(
        f"{base}/approve_extension", data={"csrf": csrf, "request_id": str(req.id)}, follow_redirects=False
    )
    assert r.status_code == 303
    assert client.post(f"{base}/accept", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    with db.session() as s:
        t = s.get(DirectionTask, task_id)
        assert t.state == "done" and t.progress == 100
        assert s.get(ExtensionRequest, req.id).status == "approved"
