"""The Vietnamese pages: items with filters, item detail with label buttons, sources and rules forms with
clear errors, the digest page and its PDF; manual entry and imported social posts."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.modules.media.conftest import add_item, add_source, add_topic


def login(client: Any, who: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={"username": who, "password": f"{who}-password", "csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    home = client.get("/media")
    return re.search(r'name="csrf" value="([^"]+)"', home.text).group(1) if 'name="csrf"' in home.text else ""


def test_pages_and_forms(client: Any, world: Any) -> None:
    w = world
    topic = add_topic(client, w, "ngap", "ngập")
    item = add_item(client, w, "Ngập sâu ở thôn Một", "Người dân bức xúc vì ngập.").json()
    login(client, "op_a")
    page = client.get("/media")
    assert (
        page.status_code == 200 and "Báo chí, mạng xã hội" in page.text and "Ngập sâu ở thôn Một" in page.text
    )
    assert "Tiêu cực" in page.text
    page = client.get(f"/media?topic_id={topic['id']}&sentiment=positive")
    assert "Ngập sâu ở thôn Một" not in page.text
    detail = client.get(f"/media/items/{item['id']}")
    assert "Gán nhãn để huấn luyện" in detail.text and "Thôn Một" in detail.text
    csrf = re.search(r'name="csrf" value="([^"]+)"', detail.text).group(1)
    r = client.post(
        f"/media/items/{item['id']}/label",
        data={"csrf": csrf, "sentiment": "negative"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"/media/items/{item['id']}/label",
        data={"csrf": csrf, "category": "môi trường"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    got = client.get(f"/api/v1/media/items/{item['id']}", headers=w.auth("op_a")).json()
    assert got["labels"] == {"category": "môi trường", "sentiment": "negative"}
    assert (
        client.post(
            f"/media/items/{item['id']}/label", data={"csrf": "wrong", "sentiment": "positive"}
        ).status_code
        == 403
    )
    # a rule with a mistake: the form says where, nothing is saved
    r = client.post(
        "/media/rules",
        data={
            "csrf": csrf,
            "code": "x",
            "name": "X",
            "expression": "ngập AND",
            "unit_id": str(w.units["A"].id),
        },
    )
    assert r.status_code == 400 and "vị trí 9" in r.text
    r = client.post(
        "/media/rules",
        data={
            "csrf": csrf,
            "code": "chay",
            "name": "Cháy nổ",
            "expression": '"cháy" OR nổ',
            "unit_id": str(w.units["A"].id),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "Cháy nổ" in client.get("/media/rules").text
    r = client.post(
        "/media/sources",
        data={
            "csrf": csrf,
            "name": "Báo",
            "kind": "page",
            "url": "http://bao.test/",
            "unit_id": str(w.units["A"].id),
            "rules": "{not json",
        },
    )
    assert r.status_code == 400
    r = client.post(
        "/media/sources",
        data={
            "csrf": csrf,
            "name": "Báo",
            "kind": "rss",
            "url": "http://bao.test/rss",
            "unit_id": str(w.units["A"].id),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and "http://bao.test/rss" in client.get("/media/sources").text
    r = client.post("/media/train", data={"csrf": csrf, "kind": "category", "unit_id": str(w.units["A"].id)})
    assert r.status_code == 400  # one label is not enough: said on the page
    digest = client.get("/media/digest")
    assert (
        digest.status_code == 200
        and "Bản tin báo chí hằng ngày" in digest.text
        and "Cháy nổ" not in digest.text
    )
    pdf = client.get("/api/v1/media/digest.pdf", headers=w.auth("leader_a"))
    assert (
        pdf.status_code == 200
        and pdf.content.startswith(b"%PDF")
        and pdf.headers["content-type"] == "application/pdf"
    )


def test_social_import_json_and_csv(client: Any, world: Any) -> None:
    w = world
    src = add_source(
        client,
        w,
        kind="social",
        name="Fanpage",
        rules={"items": "data", "author": "from.name", "url": "permalink_url"},
    )
    posts = {
        "data": [
            {
                "id": "1",
                "message": "Đường ở thôn Hai ngập quá, ai xử lý giúp",
                "from": {"name": "Lan"},
                "created_time": "2026-12-04T08:00:00+0700",
                "permalink_url": "https://fb.test/p/1",
            },
            {"id": "2", "message": "", "from": {"name": "Trống"}},
            {
                "id": "3",
                "message": "Cảm ơn công an xã Đại Thanh rất nhiệt tình",
                "from": {"name": "Minh"},
                "permalink_url": "https://fb.test/p/3",
            },
        ]
    }
    r = client.post(
        f"/api/v1/media/sources/{src['id']}/import",
        files={"file": ("p.json", json.dumps(posts).encode())},
        headers=w.auth("op_a"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["new"] == 2 and r.json()["skipped"] == 1
    csv_src = add_source(client, w, kind="social", name="Zalo", rules={})
    data = 'text,author,url,date\n"Rác thải tràn lan, mùi hôi",Hà,,2026-12-04 09:00\n'.encode()
    r = client.post(
        f"/api/v1/media/sources/{csv_src['id']}/import",
        files={"file": ("z.csv", data)},
        headers=w.auth("op_a"),
    )
    assert r.json()["new"] == 1
    items = client.get("/api/v1/media/items?sentiment=negative", headers=w.auth("op_a")).json()["items"]
    assert {i["author"] for i in items} == {"Lan", "Hà"}
    # bad files: clear errors, nothing added
    for name, body, msg in [
        ("x.json", b"{oops", "Unreadable JSON"),
        ("x.json", b'{"a": 1}', "No list of posts"),
        ("x.csv", b"", "no header row"),
    ]:
        r = client.post(
            f"/api/v1/media/sources/{src['id']}/import", files={"file": (name, body)}, headers=w.auth("op_a")
        )
        assert r.status_code == 400 and msg in r.json()["error"]["message_en"], (name, r.text)
    r = client.post(
        f"/api/v1/media/sources/{src['id']}/import",
        files={"file": ("p.json", b"[]")},
        headers=w.auth("viewer_a"),
    )
    assert r.status_code == 403
    assert client.get("/api/v1/media/items", headers=w.auth("op_a")).json()["total"] == 3


def test_bad_input_is_refused_and_changes_nothing(client: Any, world: Any) -> None:
    w = world
    h = w.auth("op_a")
    a = w.units["A"].id
    cases = [
        ("/api/v1/media/items", {"title": "", "unit_id": a}, 422),
        ("/api/v1/media/items", {"title": "x", "unit_id": "A"}, 422),
        ("/api/v1/media/items", {"title": "x", "unit_id": a, "url": "ftp://x"}, 400),
        ("/api/v1/media/items", {"title": "x", "unit_id": a, "domain": "weather"}, 400),
        ("/api/v1/media/items", {"title": "x" * 501, "unit_id": a}, 422),
        ("/api/v1/media/items", {"title": "x", "unit_id": 999999}, 404),
        ("/api/v1/media/items", {"title": "x", "unit_id": a, "extra": 1}, 422),
        ("/api/v1/media/sources", {"name": "x", "kind": "rss", "unit_id": a}, 400),
        (
            "/api/v1/media/sources",
            {"name": "x", "kind": "rss", "unit_id": a, "url": "file:///etc/passwd"},
            400,
        ),
        ("/api/v1/media/sources", {"name": "x", "kind": "telegram", "unit_id": a}, 422),
        (
            "/api/v1/media/sources",
            {"name": "x", "kind": "rss", "unit_id": a, "url": "http://a.test", "poll_minutes": 0},
            422,
        ),
        ("/api/v1/media/topics", {"code": "Bad Code", "name": "x", "expression": "a", "unit_id": a}, 422),
        ("/api/v1/media/topics", {"code": "x", "name": "x", "expression": "(a", "unit_id": a}, 400),
        ("/api/v1/media/topics", {"code": "x", "name": "x", "expression": ["a"], "unit_id": a}, 422),
        ("/api/v1/media/classifiers/train", {"kind": "topic", "unit_id": a}, 422),
    ]
    for url, body, status in cases:
        r = client.post(url, json=body, headers=h)
        assert r.status_code == status, (url, body, r.text)
        assert r.json()["error"]["message"] and r.json()["error"]["message_en"]
    assert (
        client.post("/api/v1/media/items/999/labels", json={"sentiment": "negative"}, headers=h).status_code
        == 404
    )
    item = add_item(client, w, "Tin thật", who="op_a").json()
    r = client.post(f"/api/v1/media/items/{item['id']}/labels", json={"sentiment": "furious"}, headers=h)
    assert r.status_code == 422
    r = client.post(f"/api/v1/media/items/{item['id']}/labels", json={}, headers=h)
    assert r.status_code == 400
    assert client.get("/api/v1/media/items", headers=h).json()["total"] == 1
    assert client.get("/api/v1/media/sources", headers=h).json() == []
    assert client.get("/api/v1/media/topics", headers=h).json() == []
    assert client.get("/api/v1/media/items?limit=0", headers=h).status_code == 422
