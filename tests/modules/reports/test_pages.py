"""Pages of field reports: every page renders in Vietnamese, user text is escaped, public pages carry no
identity, staff pages need a session, and the PWA files are served with the right types and scope."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from tests.modules.reports.conftest import jpeg, submit
from toancanh.core.auth.models import AuthSession
from toancanh.modules.reports.models import FieldReport, ReportPhoto
from toancanh.modules.reports.web import REJECT_LABELS
from toancanh.modules.reports.workflow import REJECT_REASONS

IN_A = {"lat": "20.9051234", "lon": "105.8054321"}  # hamlet 1 of commune A (routed to ca-a)
XSS = "<script>alert(1)</script>"
NAME, PHONE, EMAIL = "Nguyễn Thị Bí Mật", "0912345678", "bimat@example.vn"


def web_login(client: Any, username: str) -> str:
    """Sign in through the login form; returns the session's CSRF token for cookie-authenticated writes."""
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={"username": username, "password": f"{username}-password", "csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/reports/queue").text)
    assert csrf
    return csrf.group(1)


def report_with_xss(client: Any, db: Any) -> tuple[str, int]:
    r = submit(
        client,
        description=f"Có người {XSS} tụ tập gây rối trước cổng chợ",
        address=f"Ngõ 5 {XSS}",
        name=NAME,
        phone=PHONE,
        email=EMAIL,
        photos=[jpeg()],
        **IN_A,
    )
    assert r.status_code == 201, r.text
    with db.session() as s:
        rid = s.scalar(select(FieldReport.id).where(FieldReport.tracking_code == r.json()["tracking_code"]))
    return r.json()["tracking_code"], rid


def assert_escaped(html: str) -> None:
    assert XSS not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "\\u003cscript\\u003ealert(1)" in html


def test_citizen_pages_render_in_vietnamese(client: Any, rworld: Any) -> None:
    page = client.get("/phan-anh")
    assert page.status_code == 200
    html = page.text
    for text in (
        "Phản ánh hiện trường",
        "Bạn muốn phản ánh vấn đề gì?",
        "Nghị định 13/2023/NĐ-CP",
        "Gửi phản ánh",
    ):
        assert text in html
    assert 'value="an-ninh"' in html and "🛡️" in html  # the category grid, from the database
    assert 'capture="environment"' in html and 'accept="image/*"' in html
    assert 'rel="manifest" href="/phan-anh/manifest.webmanifest"' in html
    assert "đọc vị trí từ ảnh" in html  # the EXIF fallback is explained
    assert "<script>" not in html.replace('<script type="application/json" id="rp-i18n">', "")  # no inline JS
    form = client.get("/phan-anh/tra-cuu")
    assert form.status_code == 200 and "Tra cứu phản ánh" in form.text
    public = client.get("/phan-anh/cong-khai")
    assert public.status_code == 200 and "Chưa có phản ánh công khai" in public.text
    english = client.get("/phan-anh", cookies={"tc_lang": "en"})
    assert "What is the problem about?" in english.text and "Garbage and sanitation" in english.text


def test_tracking_code_lookup(client: Any, rworld: Any, db: Any) -> None:
    code, _ = report_with_xss(client, db)
    r = client.get(f"/phan-anh/tra-cuu?ma={code.lower()}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/phan-anh/tra-cuu/{code}"
    assert client.get("/phan-anh/tra-cuu?ma=<b>x</b>").status_code == 400
    missing = client.get("/phan-anh/tra-cuu/PAZZZZZZZZ")
    assert missing.status_code == 404 and "Không tìm thấy phản ánh với mã này" in missing.text
    page = client.get(f"/phan-anh/tra-cuu/{code}")
    assert page.status_code == 200
    assert "Đã chuyển cơ quan xử lý" in page.text and "Tiến độ" in page.text
    assert 'id="rate-form"' not in page.text  # nothing to rate before an answer


def test_user_text_is_escaped_and_public_pages_carry_no_identity(client: Any, rworld: Any, db: Any) -> None:
    code, rid = report_with_xss(client, db)
    csrf = web_login(client, "op_a")
    with db.session() as s:
        sha = s.scalar(select(ReportPhoto.sha256).where(ReportPhoto.report_id == rid))
    r = client.post(
        f"/api/v1/reports/{rid}/moderation",
        json={"approve": True, "public_photos": [sha]},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 200, r.text
    staff_pages = [client.get(f"/reports/{rid}"), client.get("/reports/queue")]
    for page in staff_pages:
        assert page.status_code == 200
        assert_escaped(page.text)
    assert PHONE in staff_pages[0].text  # the operator sees (and the audit log records) the identity
    client.cookies.clear()
    public_pages = [
        client.get(f"/phan-anh/tra-cuu/{code}"),
        client.get("/phan-anh/cong-khai"),
        client.get("/api/v1/reports/public"),
    ]
    for page in public_pages:
        assert page.status_code == 200
        for secret in (NAME, PHONE, EMAIL, "20.9051234", "105.8054321"):
            assert secret not in page.text
    for page in public_pages[:2]:
        assert_escaped(page.text)
    # the public list shows the report's number, never the reporter's private tracking code
    assert code not in public_pages[1].text and f"#{rid}" in public_pages[1].text
    assert 'data-lat="20.905"' in public_pages[1].text


def test_staff_pages_need_a_session(client: Any, rworld: Any, db: Any) -> None:
    _, rid = report_with_xss(client, db)
    for path in ("/reports/queue", f"/reports/{rid}"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"
    web_login(client, "citizen")  # a signed-in citizen holds no reports.read
    assert client.get("/reports/queue").status_code == 403


def test_queue_filters_and_detail_actions(client: Any, rworld: Any, db: Any) -> None:
    code, rid = report_with_xss(client, db)
    submit(
        client, category="rac-thai", description="Rác thải đổ trộm ven đường làng", lat="21.03", lon="105.85"
    )
    web_login(client, "admin")
    everything = client.get("/reports/queue")
    assert everything.status_code == 200 and "Phản ánh hiện trường" in everything.text
    assert everything.text.count('href="/reports/') >= 2
    only_security = client.get("/reports/queue", params={"category": "an-ninh", "state": "open"})
    assert code in only_security.text and "Rác thải đổ trộm" not in only_security.text
    none = client.get("/reports/queue", params={"overdue": "1", "unit_id": "abc", "priority": "bogus"})
    assert none.status_code == 200 and "Không có phản ánh nào phù hợp bộ lọc" in none.text
    client.cookies.clear()
    web_login(client, "police_a")  # the agency the report was routed to
    detail = client.get(f"/reports/{rid}")
    assert detail.status_code == 200
    assert 'data-action="accept"' in detail.text and "Tiếp nhận xử lý" in detail.text
    assert 'data-action="assign"' not in detail.text and 'id="moderation"' not in detail.text
    assert PHONE not in detail.text and NAME not in detail.text  # agencies do not see the reporter
    assert client.get("/reports/999999").status_code == 404


def test_evidence_photos_reach_the_citizen_through_the_code_only(client: Any, rworld: Any, db: Any) -> None:
    code, rid = report_with_xss(client, db)
    police = rworld.auth("police_a")
    assert client.post(f"/api/v1/reports/{rid}/actions/accept", json={}, headers=police).status_code == 200
    ev = client.post(
        f"/api/v1/reports/{rid}/evidence",
        files=[("photos", ("kq.jpg", jpeg(color="green"), "image/jpeg"))],
        headers=police,
    ).json()[0]["sha256"]
    answer = "Công an xã đã có mặt, giải tán nhóm tụ tập và lập biên bản nhắc nhở."
    r = client.post(
        f"/api/v1/reports/{rid}/actions/resolve", json={"answer": answer, "evidence": [ev]}, headers=police
    )
    assert r.status_code == 200, r.text
    page = client.get(f"/phan-anh/tra-cuu/{code}")
    assert answer in page.text and 'id="rate-form"' in page.text and "Đã có kết quả" in page.text
    assert f"/phan-anh/tra-cuu/{code}/anh/{ev}" in page.text
    assert client.get(f"/phan-anh/tra-cuu/{code}/anh/{ev}").headers["content-type"] == "image/jpeg"
    with db.session() as s:
        own = s.scalar(
            select(ReportPhoto.sha256).where(ReportPhoto.report_id == rid, ReportPhoto.kind == "report")
        )
    assert client.get(f"/phan-anh/tra-cuu/{code}/anh/{own}").status_code == 404  # not moderated yet
    assert client.get(f"/phan-anh/tra-cuu/PAZZZZZZZZ/anh/{ev}").status_code == 404


def test_pwa_files(client: Any, rworld: Any) -> None:
    m = client.get("/phan-anh/manifest.webmanifest")
    assert m.status_code == 200 and m.headers["content-type"].startswith("application/manifest+json")
    manifest = m.json()
    assert manifest["start_url"] == "/phan-anh" and manifest["scope"] == "/phan-anh"
    assert manifest["display"] == "standalone" and manifest["name"].startswith("Phản ánh hiện trường")
    for icon in manifest["icons"]:
        r = client.get(icon["src"])
        assert r.status_code == 200 and r.headers["content-type"] == icon["type"]
    sw = client.get("/phan-anh/sw.js")
    assert sw.status_code == 200 and sw.headers["service-worker-allowed"] == "/phan-anh"
    assert "javascript" in sw.headers["content-type"] and "caches.open" in sw.text
    for name in ("rp.js", "citizen.js", "track.js", "public.js", "staff.js", "reports.css"):
        assert client.get(f"/reports/static/{name}").status_code == 200
    for bad in ("../web.py", "..%2Fweb.py", "web.py", "nope.js"):
        assert client.get(f"/reports/static/{bad}").status_code == 404
    assert client.get("/phan-anh/icon-64.png").status_code == 404


def test_public_area_outline(client: Any, rworld: Any) -> None:
    fc = client.get("/api/v1/reports/area").json()
    names = {f["properties"]["name"] for f in fc["features"]}
    assert names == {"Xã Đại Thanh", "Phường Hoàn Kiếm", "Thôn Một", "Thôn Hai"}  # no province
    assert all(set(f["properties"]) == {"code", "name", "kind", "level"} for f in fc["features"])


def test_csrf_token_in_page_matches_session(client: Any, rworld: Any, db: Any) -> None:
    csrf = web_login(client, "op_a")
    with db.session() as s:
        assert csrf in set(s.scalars(select(AuthSession.csrf_token).where(AuthSession.kind == "web")))


def test_operator_sees_the_triage_steps(client: Any, rworld: Any, db: Any) -> None:
    first = submit(client, category="rac-thai", description="Rác thải đổ trộm ven đường làng", **IN_A).json()
    second = submit(
        client, category="rac-thai", description="Bãi rác tự phát bốc mùi gần cổng chợ", **IN_A
    ).json()
    assert first["state"] == second["state"] == "received"  # no routing rule for garbage: triage
    with db.session() as s:
        rid = s.scalar(select(FieldReport.id).where(FieldReport.tracking_code == second["tracking_code"]))
    web_login(client, "op_a")
    page = client.get(f"/reports/{rid}").text
    for step in ("assign", "reject", "merge"):
        assert f'data-action="{step}"' in page
    assert 'data-action="accept"' not in page  # only the assigned agency accepts
    assert "Công an Xã Đại Thanh" in page and "Không thuộc thẩm quyền giải quyết" in page
    assert first["tracking_code"] in page  # the nearby report of the same kind is offered for merging
    assert 'id="moderation"' in page and "Duyệt công khai" in page
    assert set(REJECT_LABELS) == set(REJECT_REASONS)
