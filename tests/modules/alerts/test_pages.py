"""Pages of the warning and command center: the live console, incidents and the rule editor render in
Vietnamese for an operator, need a session and the right permission, hide what lies outside the caller's
units (404), escape user text and carry no inline script."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest

from toancanh.core.db import utcnow
from toancanh.modules.alerts import incidents, service
from toancanh.modules.alerts.models import Alert, Incident

XSS = "<script>alert(1)</script>"
FIRE = "Cháy bếp ăn trường Tiểu học Đại Thanh"
RULE = {
    "code": "pm25-cao",
    "name": "Bụi mịn PM2.5 cao",
    "scope": {"asset_types": ["sensor"]},
    "when": {"type": "threshold", "measure": "pm25", "op": ">", "value": 75},
    "alert": {
        "category": "air.pm25",
        "severity": "moderate",
        "title_vi": "PM2.5 cao tại {asset}: {value}",
        "title_en": "High PM2.5 at {asset}: {value}",
    },
}
PAGES = ("/alerts/console", "/alerts/incidents", "/alerts/rules", "/alerts/rules/new")


def web_login(client: Any, username: str) -> None:
    """Sign in through the login form (a cookie session, as a browser)."""
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/login",
        data={"username": username, "password": f"{username}-password", "csrf": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def open_fire(client: Any, db: Any, world: Any, unit: str = "H1", title: str = FIRE, alerts: int = 2) -> int:
    """A fire incident opened by the system (its SOP starts), with alerts grouped into it."""
    lat, lon = (21.03, 105.85) if unit == "B" else (20.905, 105.805)
    now = utcnow()
    with db.session() as s:
        inc = incidents.open_incident(
            s,
            client.app.state.workflow,
            type="fire",
            title=title,
            title_en="Fire in the school kitchen",
            unit_id=world.units[unit].id,
            domain="security",
            severity="severe",
            lat=lat,
            lon=lon,
        )
        for k in range(alerts):
            s.add(
                Alert(
                    dedup_key=f"test:{uuid.uuid4().hex}",
                    unit_id=inc.unit_id,
                    incident_id=inc.id,
                    domain=inc.domain,
                    category="fire.smoke",
                    severity="severe",
                    title=f"Phát hiện khói tại camera {k + 1}",
                    title_en=f"Smoke seen by camera {k + 1}",
                    lat=lat + k * 0.001,
                    lon=lon,
                    first_at=now - timedelta(minutes=alerts - k),
                    last_at=now,
                )
            )
        return inc.id


def save_rule(db: Any, world: Any, unit: str = "A", **changes: Any) -> int:
    with db.session() as s:
        rule = service.save_rule(
            s, None, {**RULE, **changes}, unit_id=world.units[unit].id, domain="environment"
        )
        return rule.id


def no_inline_script(html: str) -> None:
    scripts = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert all('type="application/json"' in attrs for attrs in scripts), scripts
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"


# ------------------------------------------------------------------------------------------- access


def test_pages_need_a_session(client: Any, world: Any) -> None:
    for path in PAGES:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}", path


def test_citizens_may_not_open_the_operator_pages(client: Any, world: Any, db: Any) -> None:
    iid = open_fire(client, db, world)
    web_login(client, "citizen")
    for path in (*PAGES, f"/alerts/incidents/{iid}"):
        r = client.get(path)
        assert r.status_code == 403, path
        assert FIRE not in r.text


def test_viewer_reads_rules_but_may_not_write_them(client: Any, world: Any, db: Any) -> None:
    rid = save_rule(db, world)
    web_login(client, "viewer_a")
    assert client.get("/alerts/rules/new").status_code == 403
    page = client.get(f"/alerts/rules/{rid}")
    assert page.status_code == 200
    assert "Bạn chỉ được xem quy tắc này." in page.text and 'id="save-form"' not in page.text
    assert "Thêm quy tắc" not in client.get("/alerts/rules").text


def test_another_communes_incident_and_rule_are_not_found(client: Any, world: Any, db: Any) -> None:
    iid = open_fire(client, db, world, unit="A")
    rid = save_rule(db, world, unit="A")
    web_login(client, "op_b")
    page = client.get(f"/alerts/incidents/{iid}")
    assert page.status_code == 404 and "Không tìm thấy sự cố" in page.text and FIRE not in page.text
    assert client.get("/alerts/incidents/999999").status_code == 404
    assert FIRE not in client.get("/alerts/incidents").text
    rule = client.get(f"/alerts/rules/{rid}")
    assert rule.status_code == 404 and "Không tìm thấy quy tắc" in rule.text
    assert "pm25-cao" not in client.get("/alerts/rules").text


# ------------------------------------------------------------------------------------------- console


def test_console_renders_for_the_duty_operator(client: Any, world: Any, db: Any) -> None:
    web_login(client, "op_a")
    page = client.get("/alerts/console")
    assert page.status_code == 200
    html = page.text
    for text in (
        "Cảnh báo trực tiếp",
        "Đang báo",
        "Đã xác nhận",
        "Sự cố đang mở",
        "Nghiêm trọng",
        "Cực kỳ nghiêm trọng",
        "Bật âm thanh",
        "Chỉ chưa xác nhận",
        "Xã Đại Thanh",
    ):
        assert text in html, text
    assert 'id="console-map"' in html and 'id="alert-list"' in html
    assert "/alerts/static/console.js" in html and "/alerts/static/alerts.css" in html
    boot = re.search(r'<script type="application/json" id="al-boot">(.*?)</script>', html, re.S)
    assert boot and '"can_ack": true' in boot.group(1)
    no_inline_script(html)
    assert '<a href="/alerts/console">Cảnh báo</a>' in html  # in the navigation
    english = client.get("/alerts/console", cookies={"tc_lang": "en"})
    assert "Live alerts" in english.text and "Turn sound on" in english.text


def test_static_files_are_served_from_a_fixed_folder(client: Any) -> None:
    for name, media in (
        ("console.js", "text/javascript"),
        ("alerts.css", "text/css"),
        ("rules.js", "text/javascript"),
    ):
        r = client.get(f"/alerts/static/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(media), name
    for bad in ("web.py", "..%2Fweb.py", "console.JS", "nope.js"):
        assert client.get(f"/alerts/static/{bad}").status_code == 404, bad


# ------------------------------------------------------------------------------------------- incidents


def test_incident_list_filters_and_shows_sla_and_age(client: Any, world: Any, db: Any) -> None:
    fire = open_fire(client, db, world)
    with db.session() as s:
        flood = incidents.open_incident(
            s,
            client.app.state.workflow,
            type="flood",
            title="Ngập sâu đường Phan Trọng Tuệ",
            unit_id=world.units["H2"].id,
            domain="urban",
            severity="moderate",
        ).id
    web_login(client, "op_a")
    page = client.get("/alerts/incidents")
    assert page.status_code == 200
    html = page.text
    for text in (
        FIRE,
        "Ngập sâu đường Phan Trọng Tuệ",
        "Trạng thái",
        "Loại sự cố",
        "Mức độ",
        "Mới",
        "Trong hạn",
    ):
        assert text in html, text
    assert f'href="/alerts/incidents/{fire}"' in html and f'href="/alerts/incidents/{flood}"' in html
    assert re.search(r"\d+ phút", html)  # age
    only_fire = client.get("/alerts/incidents", params={"type": "fire"}).text
    assert FIRE in only_fire and "Phan Trọng Tuệ" not in only_fire
    severe = client.get("/alerts/incidents", params={"severity": "severe", "state": "open"}).text
    assert FIRE in severe and "Phan Trọng Tuệ" not in severe
    closed = client.get("/alerts/incidents", params={"state": "closed"}).text
    assert FIRE not in closed and "Không có sự cố nào khớp bộ lọc." in closed
    no_inline_script(html)


def test_incident_detail_shows_facts_actions_sop_alerts_and_report(client: Any, world: Any, db: Any) -> None:
    iid = open_fire(client, db, world)
    web_login(client, "op_a")
    page = client.get(f"/alerts/incidents/{iid}")
    assert page.status_code == 200
    html = page.text
    with db.session() as s:
        code = s.get(Incident, iid).code
    for text in (
        FIRE,
        code,
        "Nghiêm trọng",
        "Quy trình ứng phó (SOP)",
        "Ứng phó cháy",  # the built-in fire SOP started on opening
        "Gọi 114 báo Cảnh sát PCCC và CNCH",
        "Cán bộ trực",
        "Xong",
        "Bỏ qua",
        "Xác nhận",  # the actions available to a duty operator in state "new"
        "Điều phối lực lượng",
        "Báo động giả — đóng",
        "Công an Xã Đại Thanh",  # an agency to dispatch
        "Phát hiện khói tại camera 1",
        "Tách các cảnh báo đã chọn thành sự cố mới",
        "Diễn biến",
        "Mở sự cố",
        "Tệp đính kèm",
        "Báo cáo sau sự cố (PDF)",
    ):
        assert text in html, text
    assert f'href="/api/v1/alerts/incidents/{iid}/report.pdf"' in html
    assert 'data-action="acknowledge"' in html and 'data-action="comment"' in html
    assert 'data-action="start"' not in html  # not from state "new"
    assert html.count('class="al-step-form"') == 6
    no_inline_script(html)


def test_actions_follow_the_state_and_the_role(client: Any, world: Any, db: Any) -> None:
    iid = open_fire(client, db, world)
    web_login(client, "viewer_a")
    html = client.get(f"/alerts/incidents/{iid}").text
    assert 'data-action="acknowledge"' not in html and 'data-action="dispatch"' not in html
    assert 'class="al-step-form"' not in html  # a viewer does not run the SOP
    assert "Tách các cảnh báo" not in html and 'id="upload-form"' not in html
    with db.session() as s:
        inc = s.get(Incident, iid)
        incidents.act(s, client.app.state.workflow, inc, "acknowledge", None, {})
        incidents.act(s, client.app.state.workflow, inc, "resolve", None, {"comment": "Đã dập tắt"})
    client.cookies.clear()
    web_login(client, "op_a")
    html = client.get(f"/alerts/incidents/{iid}").text
    assert "Đã xử lý xong" in html
    assert 'data-action="close"' in html and 'data-action="reopen"' in html
    assert 'data-action="acknowledge"' not in html
    assert "Tách các cảnh báo" not in html  # only open incidents split


def test_user_text_is_escaped(client: Any, world: Any, db: Any) -> None:
    iid = open_fire(client, db, world, title=f"Cháy {XSS}")
    web_login(client, "op_a")
    for path in ("/alerts/incidents", f"/alerts/incidents/{iid}"):
        html = client.get(path).text
        assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html, path


# ------------------------------------------------------------------------------------------- rules


def test_rule_list_and_editor(client: Any, world: Any, db: Any) -> None:
    rid = save_rule(db, world)
    with db.session() as s:  # a second version, with a comment
        rule = service.get_rule(s, _system(s, world), rid)
        service.save_rule(
            s,
            None,
            {**RULE, "name": "Bụi mịn PM2.5 rất cao"},
            unit_id=rule.unit_id,
            domain="environment",
            comment="nâng ngưỡng",
            rule=rule,
        )
    web_login(client, "op_a")
    listing = client.get("/alerts/rules")
    assert listing.status_code == 200
    for text in (
        "Quy tắc cảnh báo",
        "pm25-cao",
        "Bụi mịn PM2.5 rất cao",
        "Vượt ngưỡng",
        "Đang bật",
        "v2",
        "Xã Đại Thanh",
        "Thêm quy tắc",
    ):
        assert text in listing.text, text
    page = client.get(f"/alerts/rules/{rid}")
    assert page.status_code == 200
    html = page.text
    for text in (
        "Biểu mẫu",
        "YAML / JSON",
        "Kiểm tra",
        "Chạy thử",
        "Lưu",
        "Lịch sử phiên bản",
        "nâng ngưỡng",
        "Loại điều kiện",
        "Tạo sự cố từ cảnh báo",
        "Mất tín hiệu",
        "Chuỗi sự kiện",
    ):
        assert text in html, text
    boot = re.search(r'<script type="application/json" id="al-boot">(.*?)</script>', html, re.S)
    assert boot and '"pm25-cao"' in boot.group(1) and '"version": 1' in boot.group(1)
    no_inline_script(html)
    new = client.get("/alerts/rules/new")
    assert new.status_code == 200 and "Quy tắc mới" in new.text
    assert client.get("/alerts/rules/999999").status_code == 404


def _system(s: Any, world: Any) -> Any:
    from toancanh.core.auth import service as auth_service

    return auth_service.principal_for(s, s.merge(world.users["admin"]))


@pytest.mark.parametrize("lang, text", [("vi", "Sự cố"), ("en", "Incidents")])
def test_language_switch(client: Any, world: Any, lang: str, text: str) -> None:
    web_login(client, "op_a")
    page = client.get("/alerts/incidents", cookies={"tc_lang": lang})
    assert f"<h1>{text}</h1>" in page.text
