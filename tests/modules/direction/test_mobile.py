"""The leader's phone view: what each role sees, an extension decided in place, and the web manifest."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import WORLD_USERS
from tests.modules.direction.conftest import act, issue, task_spec
from tests.modules.direction.test_pages import web_login


def _pending(client: Any, w: Any) -> tuple[dict[str, Any], int]:
    task = issue(client, w, tasks=[task_spec(w, title="Khơi thông cống thoát nước thôn Hữu Lê")])["tasks"][0]
    assert act(client, w, "police_a", task["id"], "acknowledge").status_code == 200
    r = act(
        client,
        w,
        "police_a",
        task["id"],
        "request_extension",
        reason="Chờ máy hút bùn",
        new_deadline="2099-03-20",
    )
    assert r.status_code == 200, r.text
    return task, r.json()["extension_requests"][0]["id"]


@pytest.mark.parametrize("who", list(WORLD_USERS) + ["staff_vh", "leader_b"])
def test_mobile_view_by_role(client: Any, dworld: Any, who: str) -> None:
    task, request_id = _pending(client, dworld)
    web_login(client, who)
    r = client.get("/direction/mobile")
    if who in ("viewer_a", "citizen"):
        assert r.status_code == 403
        return
    assert r.status_code == 200
    decides = who in ("admin", "leader_a")  # leader_b leads commune B: the request is not theirs to see
    assert (f'data-request="{request_id}"' in r.text) is decides, who
    assert ("Khơi thông cống thoát nước" in r.text) is decides, who  # only in the decision lists
    assert 'rel="manifest"' in r.text


def test_extension_approved_from_the_phone_comes_back_to_it(client: Any, dworld: Any) -> None:
    task, request_id = _pending(client, dworld)
    csrf = web_login(client, "leader_a")
    page = client.get("/direction/mobile")
    assert 'id="fig-waiting">1<' in page.text
    r = client.post(
        f"/direction/tasks/{task['id']}/actions/approve_extension",
        data={"csrf": csrf, "request_id": str(request_id), "back": "/direction/mobile"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/direction/mobile"
    after = client.get("/direction/mobile").text
    assert f'data-request="{request_id}"' not in after and 'id="fig-waiting">0<' in after
    detail = client.get(f"/api/v1/direction-tasks/{task['id']}", headers=dworld.auth("leader_a")).json()
    assert detail["deadline_at"].startswith("2099-03-20")
    # any other "back" goes to the task page (no open redirect)
    task2, request2 = _pending(client, dworld)
    csrf = web_login(client, "leader_a")
    r = client.post(
        f"/direction/tasks/{task2['id']}/actions/refuse_extension",
        data={
            "csrf": csrf,
            "request_id": str(request2),
            "reason": "Không đủ căn cứ để gia hạn",
            "back": "https://evil.example",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/direction/tasks/{task2['id']}"


def test_manifest(client: Any) -> None:
    r = client.get("/direction/manifest.webmanifest")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/manifest+json")
    body = r.json()
    assert body["start_url"] == "/direction/mobile" and body["display"] == "standalone"
