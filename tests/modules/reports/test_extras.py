"""Processing and abuse rules of field reports: deadline extension (gia hạn), blurred public photos, the
block list of abusive reporters, and bulk actions of the operator queue."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

from PIL import Image, ImageChops, ImageStat
from sqlalchemy import func, select

from tests.modules.reports.conftest import jpeg, submit
from tests.modules.reports.test_open311 import new_key
from tests.modules.reports.test_open311 import post as post_open311
from tests.modules.reports.test_pages import web_login
from toancanh.core.audit import AuditEntry
from toancanh.core.auth.service import principal_for
from toancanh.core.db import utcnow
from toancanh.core.workflow import CaseHistory
from toancanh.core.worktime import VN_TZ
from toancanh.modules.reports import blocks, service
from toancanh.modules.reports.models import FieldReport, ReportBlock, ReportPhoto
from toancanh.modules.reports.workflow import FIELD_REPORT

IN_A = {"lat": "20.905", "lon": "105.805"}  # hamlet 1 of commune A, routed to ca-a
IN_B = {"lat": "21.03", "lon": "105.85"}
API = "/api/v1/reports"


def _count(db: Any, model: Any = FieldReport) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _new(client: Any, **fields: Any) -> int:
    r = submit(client, **{**IN_A, **fields})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _audits(db: Any, action: str) -> list[AuditEntry]:
    with db.session() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


# ------------------------------------------------------------------------------------------- extend


def test_extend_moves_the_deadline_across_tet(client: Any, rworld: Any, db: Any, app: Any) -> None:
    rid = _new(client)
    engine = app.state.workflow
    tuesday = datetime(2026, 2, 10, 15, 0, tzinfo=VN_TZ)
    with db.session() as s:
        report = s.get(FieldReport, rid)
        report.resolve_days = 3
        police = principal_for(s, s.merge(rworld.users["police_a"]))
        service.act(s, engine, report, "accept", police, {}, now=tuesday)
        assert report.due_at == datetime(2026, 2, 13, 15, 0, tzinfo=VN_TZ)  # Friday, the eve of Tết
        op = principal_for(s, s.merge(rworld.users["op_a"]))
        friday = datetime(2026, 2, 13, 9, 0, tzinfo=VN_TZ)
        reason = "Cần phối hợp với công an huyện, qua kỳ nghỉ Tết"
        service.act(s, engine, report, "extend", op, {"days": 2, "reason": reason}, now=friday)
        # Tết Bính Ngọ: 14-22 February are off; two working days after Friday 15:00 is Tuesday 24th
        assert report.due_at == datetime(2026, 2, 24, 15, 0, tzinfo=VN_TZ)
        assert report.state == "in_progress" and report.resolve_days == 5
        # the resolve deadline computed again from the state's start agrees with the extended one
        again = FIELD_REPORT.sla_of(report, "in_progress")
        assert again is not None and again.deadline(engine.calendar, tuesday) == report.due_at
        last = s.scalars(
            select(CaseHistory).where(CaseHistory.case_id == rid).order_by(CaseHistory.id.desc())
        ).first()
        assert last.transition == "extend" and last.from_state == last.to_state == "in_progress"
        assert last.data["days"] == 2 and last.data["reason"] == reason
        assert datetime.fromisoformat(last.data["due_at"]) == report.due_at
    detail = client.get(f"{API}/{rid}", headers=rworld.auth("op_a")).json()
    assert detail["timeline"][-1]["transition"] == "extend" and detail["resolve_days"] == 5
    assert [t["transition"] for t in client.get(f"{API}/track/{detail['tracking_code']}").json()["timeline"]][
        -1
    ] == "extend"


def test_extend_an_overdue_case_clears_the_overdue_flag(client: Any, rworld: Any, db: Any, app: Any) -> None:
    rid = _new(client)
    engine = app.state.workflow
    start = datetime(2026, 3, 2, 8, 0, tzinfo=VN_TZ)  # Monday
    with db.session() as s:
        report = s.get(FieldReport, rid)
        report.state_since, report.due_at = start, start + timedelta(hours=8)
        resolve_days = report.resolve_days
        engine.check_deadlines(s, FIELD_REPORT, FieldReport, now=start + timedelta(days=2))
        assert report.sla_status == "overdue"
        op = principal_for(s, s.merge(rworld.users["op_a"]))
        later = start + timedelta(days=2)
        service.act(s, engine, report, "extend", op, {"days": 5, "reason": "Chờ kết quả xác minh"}, now=later)
        assert report.sla_status == "ok" and report.state == "assigned"
        assert report.resolve_days == resolve_days  # only "in progress" adds to the resolve time
        assert engine.check_deadlines(s, FIELD_REPORT, FieldReport, now=later) == []


def test_who_may_extend_and_what_is_refused(client: Any, rworld: Any, db: Any) -> None:
    rid = _new(client)
    url = f"{API}/{rid}/actions/extend"
    body = {"days": 3, "reason": "Cần thêm thời gian xác minh hiện trường"}
    with db.session() as s:
        due = s.get(FieldReport, rid).due_at
    for who, status in (("police_a", 403), ("viewer_a", 403), ("op_b", 404)):
        assert client.post(url, json=body, headers=rworld.auth(who)).status_code == status, who
    for bad, status in (
        ({"days": 0, "reason": body["reason"]}, 422),
        ({"days": 31, "reason": body["reason"]}, 422),
        ({"days": 3}, 422),  # no reason
        ({"days": 3, "reason": "vì thế"}, 400),  # too short to say why
        ({"reason": body["reason"]}, 422),  # no days
    ):
        r = client.post(url, json=bad, headers=rworld.auth("op_a"))
        assert r.status_code == status, (bad, r.text)
        assert {"message", "message_en"} <= set(r.json()["error"])
    with db.session() as s:
        assert s.get(FieldReport, rid).due_at == due  # refusals changed nothing
    assert "extend" in client.get(f"{API}/{rid}", headers=rworld.auth("op_a")).json()["available"]
    assert "extend" not in client.get(f"{API}/{rid}", headers=rworld.auth("police_a")).json()["available"]
    r = client.post(url, json=body, headers=rworld.auth("leader_a"))  # the commune's leader approves
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "assigned" and r.json()["due_at"] > due.isoformat()
    client.post(f"{API}/{rid}/actions/reject", json={"reason": "Trùng"}, headers=rworld.auth("op_a"))
    assert client.post(url, json=body, headers=rworld.auth("op_a")).status_code == 409


# ------------------------------------------------------------------------------------------- blur


def _checkerboard(width: int = 320, height: int = 240, cell: int = 4) -> bytes:
    img = Image.new("L", (width, height))
    img.putdata([255 if (x // cell + y // cell) % 2 else 0 for y in range(height) for x in range(width)])
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


def _sharpness(img: Image.Image, box: tuple[int, int, int, int]) -> float:
    """Mean absolute difference between horizontally neighbouring pixels: high on a sharp pattern."""
    region = img.convert("L").crop(box)
    shifted = region.crop((1, 0, region.width, region.height))
    trimmed = region.crop((0, 0, region.width - 1, region.height))
    return float(ImageStat.Stat(ImageChops.difference(shifted, trimmed)).mean[0])


def test_blurred_copy_is_what_the_public_sees(client: Any, rworld: Any, db: Any, app: Any) -> None:
    sent = submit(client, photos=[_checkerboard()], **IN_A).json()
    rid, code = sent["id"], sent["tracking_code"]
    with db.session() as s:
        sha = s.scalar(select(ReportPhoto.sha256).where(ReportPhoto.report_id == rid))
    op = rworld.auth("op_a")
    url = f"{API}/{rid}/photos/{sha}/blur"
    r = client.post(url, json={"boxes": [{"x": 0.25, "y": 0.25, "w": 0.5, "h": 0.5}]}, headers=op)
    assert r.status_code == 200, r.text
    blurred = r.json()["public_sha256"]
    assert blurred and blurred != sha and r.json()["sha256"] == sha
    original = Image.open(io.BytesIO(app.state.blobs.read(sha)))
    public = Image.open(io.BytesIO(app.state.blobs.read(blurred)))
    assert public.size == original.size == (320, 240)
    inside, outside = (90, 70, 230, 170), (0, 0, 320, 50)  # a few pixels in from the box's edges
    assert _sharpness(original, inside) > 40 and _sharpness(public, outside) > 40  # a jump every 4 px
    assert _sharpness(public, inside) < 0.05 * _sharpness(original, inside)
    # nothing of the pattern remains: the region is close to one flat grey
    assert ImageStat.Stat(public.convert("L").crop(inside)).stddev[0] < 12
    # published: the public list, the public URL and Open311 give the blurred copy only
    client.post(f"{API}/{rid}/moderation", json={"approve": True, "public_photos": [sha]}, headers=op)
    listed = client.get(f"{API}/public").json()[0]["photos"]
    assert [p["sha256"] for p in listed] == [blurred] and sha not in str(listed)
    assert client.get(f"/reports/photo/{blurred}").status_code == 200
    assert client.get(f"/reports/photo/{sha}").status_code == 404  # the original is for staff only
    assert sha not in str(client.get(f"{API}/track/{code}").json())
    assert blurred in client.get(f"/open311/v2/requests/{rid}.json").text
    tracked = client.get(f"/phan-anh/tra-cuu/{code}/anh/{sha}")
    assert tracked.status_code == 200 and tracked.content == app.state.blobs.read(blurred)
    # staff keep the original, with the public copy beside it
    photos = client.get(f"{API}/{rid}", headers=op).json()["photos"]
    assert photos[0]["sha256"] == sha and photos[0]["public_url"] == f"/reports/photo/{blurred}"
    web_login(client, "op_a")
    assert client.get(f"/reports/photo/{sha}").content == app.state.blobs.read(sha)
    assert len(_audits(db, "field_report.blur_photo")) == 1
    # an empty list publishes the original again
    assert client.post(url, json={"boxes": []}, headers=op).json()["public_sha256"] is None
    client.cookies.clear()
    assert client.get(f"/reports/photo/{sha}").status_code == 200


def test_blur_requests_are_checked(client: Any, rworld: Any, db: Any) -> None:
    rid = _new(client, photos=[jpeg()])
    with db.session() as s:
        sha = s.scalar(select(ReportPhoto.sha256).where(ReportPhoto.report_id == rid))
    url = f"{API}/{rid}/photos/{sha}/blur"
    box = {"x": 0.1, "y": 0.1, "w": 0.2, "h": 0.2}
    op = rworld.auth("op_a")
    for boxes in (
        [box] * 21,
        [{**box, "x": 0.9}],  # past the right edge
        [{**box, "w": 0}],
        [{**box, "y": -0.1}],
        [{**box, "h": 1.5}],
        [{**box, "z": 1}],
        "all",
    ):
        r = client.post(url, json={"boxes": boxes}, headers=op)
        assert r.status_code == 422, (boxes, r.text)
    assert client.post(url, json={"boxes": [box]}, headers=rworld.auth("police_a")).status_code == 403
    assert client.post(url, json={"boxes": [box]}, headers=rworld.auth("op_b")).status_code == 404
    assert (
        client.post(f"{API}/{rid}/photos/{'0' * 64}/blur", json={"boxes": [box]}, headers=op).status_code
        == 404
    )
    with db.session() as s:
        assert s.scalar(select(ReportPhoto.public_sha256)) is None
    assert client.post(url, json={"boxes": [box] * 20}, headers=op).status_code == 200


# ------------------------------------------------------------------------------------------- block list


def test_blocked_phone_is_refused_in_the_unit_and_nothing_is_stored(
    client: Any, rworld: Any, db: Any
) -> None:
    op = rworld.auth("op_a")
    r = client.post(
        f"{API}/blocks",
        json={"kind": "phone", "value": "+84 912 345 678", "reason": "Gửi phản ánh sai sự thật nhiều lần"},
        headers=op,
    )
    assert r.status_code == 201, r.text
    block = r.json()
    assert block["value"] == "0912345678" and block["unit_id"] == rworld.units["A"].id
    before = (_count(db), _count(db, ReportPhoto))
    r = submit(client, phone="0912345678", photos=[jpeg()], **IN_A)
    assert r.status_code == 403
    err = r.json()["error"]
    assert err["code"] == "reporter_blocked"
    assert "bị chặn" in err["message"] and "blocked" in err["message_en"]
    assert (_count(db), _count(db, ReportPhoto)) == before
    assert submit(client, phone="0912345678", **IN_B).status_code == 201  # another commune's report
    assert submit(client, phone="0987654321", **IN_A).status_code == 201
    # scope of the list, and who may change it
    assert [b["id"] for b in client.get(f"{API}/blocks", headers=op).json()] == [block["id"]]
    assert client.get(f"{API}/blocks", headers=rworld.auth("op_b")).json() == []
    assert client.get(f"{API}/blocks", headers=rworld.auth("police_a")).status_code == 403
    assert client.delete(f"{API}/blocks/{block['id']}", headers=rworld.auth("op_b")).status_code == 404
    body = {"kind": "phone", "value": "0900000000", "reason": "spam", "unit_id": rworld.units["B"].id}
    assert client.post(f"{API}/blocks", json=body, headers=op).status_code == 403  # not op_a's commune
    assert (
        client.post(f"{API}/blocks", json={**body, "unit_id": None}, headers=rworld.auth("admin")).status_code
        == 400
    )
    # unblocked: accepted again; both steps audited
    assert client.delete(f"{API}/blocks/{block['id']}", headers=op).status_code == 200
    assert submit(client, phone="0912345678", **IN_A).status_code == 201
    assert len(_audits(db, "field_report.block")) == 1 and len(_audits(db, "field_report.unblock")) == 1


def test_blocked_device_email_and_network(client: Any, rworld: Any, db: Any) -> None:
    op = rworld.auth("op_a")
    for kind, value in (("device", "phone-1"), ("email", "Spam@Example.VN")):
        body = {"kind": kind, "value": value, "reason": "Quấy rối", "unit_id": rworld.units["01"].id}
        assert client.post(f"{API}/blocks", json=body, headers=rworld.auth("admin")).status_code == 201
    assert submit(client, device_id="phone-1", **IN_B).status_code == 403  # a province-wide block
    # Open311 too, in its own error format and the caller's language
    api_key = new_key(db)
    before = _count(db)
    r = post_open311(client, api_key, email="spam@example.vn", headers={"Accept-Language": "en"})
    assert r.status_code == 403 and "blocked" in r.json()[0]["description"]
    assert post_open311(client, api_key, email="spam@example.vn").json()[0]["description"].count("chặn") == 1
    assert _count(db) == before
    assert post_open311(client, api_key, email="ok@example.vn").status_code == 200
    # an IP network, and an expiry
    with db.session() as s:
        admin = principal_for(s, s.merge(rworld.users["admin"]))
        now = utcnow()
        unit = rworld.units["A"].id
        blocks.block(s, admin, kind="ip", value="203.0.113.9/24", reason="Gửi tự động", unit_id=unit)
        who = blocks.Identity(ip="203.0.113.77")
        assert blocks.find_block(s, who, rworld.units["H1"].id) is not None
        assert blocks.find_block(s, blocks.Identity(ip="203.0.114.1"), unit) is None
        assert blocks.find_block(s, blocks.Identity(ip="not-an-ip"), unit) is None
        blocks.block(
            s,
            admin,
            kind="phone",
            value="0911111111",
            reason="Tạm chặn",
            unit_id=unit,
            expires_at=now + timedelta(days=1),
        )
        phone = blocks.Identity(phone="0911 111 111")
        assert blocks.find_block(s, phone, unit, now) is not None
        assert blocks.find_block(s, phone, unit, now + timedelta(days=2)) is None
        assert s.scalar(select(ReportBlock.value).where(ReportBlock.kind == "ip")) == "203.0.113.0/24"
    past = (utcnow() - timedelta(hours=1)).isoformat()
    body = {"kind": "ip", "value": "198.51.100.1", "reason": "Gửi tự động", "expires_at": past}
    assert client.post(f"{API}/blocks", json=body, headers=op).status_code == 400
    for bad in (
        {"kind": "ip", "value": "300.1.1.1"},
        {"kind": "phone", "value": "12"},
        {"kind": "email", "value": "x"},
    ):
        assert (
            client.post(f"{API}/blocks", json={**bad, "reason": "Gửi tự động"}, headers=op).status_code == 400
        )
    assert (
        client.post(
            f"{API}/blocks", json={"kind": "fax", "value": "1", "reason": "abc"}, headers=op
        ).status_code
        == 422
    )


# ------------------------------------------------------------------------------------------- bulk


def test_bulk_actions_per_report(client: Any, rworld: Any, db: Any) -> None:
    a1, a2, a3 = (_new(client) for _ in range(3))
    b1 = _new(client, **IN_B)
    op = rworld.auth("op_a")
    r = client.post(
        f"{API}/bulk",
        json={"ids": [a1, a2, b1, 999999, a1], "action": "reject", "reason": "Không thuộc thẩm quyền"},
        headers=op,
    )
    assert r.status_code == 200, r.text
    res = r.json()
    assert (res["ok"], res["failed"]) == (2, 2)
    by_id = {x["id"]: x for x in res["results"]}
    assert list(by_id) == [a1, a2, b1, 999999]
    assert by_id[a1]["ok"] and by_id[a1]["state"] == "rejected"
    assert (
        by_id[b1] == {**by_id[b1], "ok": False, "code": "not_found"} and by_id[999999]["code"] == "not_found"
    )
    # one failure does not undo the others
    ca_b = rworld.agencies["ca-b"].id
    res = client.post(
        f"{API}/bulk", json={"ids": [a1, a3], "action": "assign", "agency_id": ca_b}, headers=op
    ).json()
    assert [x["ok"] for x in res["results"]] == [False, True]
    assert res["results"][0]["code"] == "conflict" and res["results"][0]["error_en"]
    with db.session() as s:
        assert s.get(FieldReport, a3).assignee_agency_id == ca_b
        assert s.get(FieldReport, a1).state == "rejected"
        assert s.get(FieldReport, b1).state == "received"
    # moderation keeps the photos unpublished (each is looked at for faces and plates)
    res = client.post(
        f"{API}/bulk", json={"ids": [a3], "action": "moderate", "approve": True}, headers=op
    ).json()
    assert res["ok"] == 1 and res["results"][0]["moderation"] == "approved"
    # the agency cannot reject, and says so per report
    res = client.post(
        f"{API}/bulk", json={"ids": [a2], "action": "close"}, headers=rworld.auth("police_a")
    ).json()
    assert res["results"][0]["ok"] is False
    # whole-request refusals
    for body, status in (
        ({"ids": list(range(1, 202)), "action": "close"}, 422),
        ({"ids": [], "action": "close"}, 422),
        ({"ids": [a3], "action": "delete"}, 422),
        ({"ids": [a3], "action": "assign"}, 400),
        ({"ids": [a3], "action": "reject"}, 400),
        ({"ids": [a3], "action": "moderate"}, 400),
    ):
        assert client.post(f"{API}/bulk", json=body, headers=op).status_code == status, body
    assert (
        client.post(
            f"{API}/bulk", json={"ids": [a3], "action": "close"}, headers=rworld.auth("citizen")
        ).status_code
        == 403
    )


# ------------------------------------------------------------------------------------------- pages


def test_pages_offer_the_new_tools(client: Any, rworld: Any, db: Any) -> None:
    rid = _new(client, photos=[jpeg()])
    web_login(client, "op_a")
    queue = client.get("/reports/queue").text
    assert 'id="bulk-bar"' in queue and f'class="rq-pick" value="{rid}"' in queue
    page = client.get(f"/reports/{rid}").text
    assert 'data-action="extend"' in page and 'name="days"' in page
    assert 'class="rd-blur"' in page and "Gia hạn" in page
    client.post(
        f"{API}/{rid}/actions/extend",
        json={"days": 2, "reason": "Chờ ý kiến của huyện"},
        headers=rworld.auth("op_a"),
    )
    assert "Chờ ý kiến của huyện" in client.get(f"/reports/{rid}").text
    client.cookies.clear()
    web_login(client, "viewer_a")
    assert 'id="bulk-bar"' not in client.get("/reports/queue").text


def test_a_block_in_a_unit_that_does_not_exist_is_refused(client: Any, rworld: Any) -> None:
    """An administrator's grant covers every unit, even an unknown id: found by the API fuzz test (a 500)."""
    r = client.post(
        f"{API}/blocks",
        json={"kind": "device", "value": "abc-123", "reason": "thử nghiệm", "unit_id": 987654},
        headers=rworld.auth("admin"),
    )
    assert r.status_code == 400, r.text
