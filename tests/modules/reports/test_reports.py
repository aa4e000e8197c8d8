"""Field reports: submission with photos, routing, processing with evidence, rating, privacy, scope."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import datetime
from typing import Any

from PIL import Image
from sqlalchemy import func, select

from tests.modules.reports.conftest import jpeg, submit
from toancanh.core.audit import AuditEntry
from toancanh.core.worktime import VN_TZ, WorkCalendar
from toancanh.modules.reports.models import FieldReport, ReportPhoto
from toancanh.modules.reports.workflow import FIELD_REPORT

IN_A = {"lat": "20.905", "lon": "105.805"}  # hamlet 1 of commune A
IN_B = {"lat": "21.03", "lon": "105.85"}


def _count(db: Any, model: Any = FieldReport) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_submission_is_routed_and_photo_cleaned(client: Any, rworld: Any, db: Any, app: Any) -> None:
    r = submit(client, photos=[jpeg(gps=(20.905, 105.805))], phone="0912345678", **IN_A)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["tracking_code"].startswith("PA") and body["state"] == "assigned"
    assert [t["transition"] for t in body["timeline"]] == ["open", "assign"]
    with db.session() as s:
        report = s.scalar(select(FieldReport))
        assert report.assignee_agency_id == rworld.agencies["ca-a"].id
        assert report.unit_id == rworld.units["H1"].id and not report.anonymous
        photo = s.scalar(select(ReportPhoto))
    stored = app.state.blobs.read(photo.sha256)
    with Image.open(io.BytesIO(stored)) as img:
        assert len(img.getexif()) == 0  # camera model and GPS are gone
    assert b"Test Camera X1" not in stored


def test_location_from_photo_exif_when_no_gps(client: Any, rworld: Any, db: Any) -> None:
    r = submit(client, photos=[jpeg(gps=(21.03, 105.85))])
    assert r.status_code == 201, r.text
    with db.session() as s:
        report = s.scalar(select(FieldReport))
        assert report.location_source == "exif" and report.unit_id == rworld.units["B"].id
        assert report.state == "received"  # no routing rule in commune B: the operators' triage queue


def test_bad_submissions_change_nothing(client: Any, rworld: Any, db: Any) -> None:
    def png_bomb() -> bytes:
        ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
        chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))  # noqa: E731
        return (
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 100))
            + chunk(b"IEND", b"")
        )

    cases = [
        ({"photos": [b"<html><script>alert(1)</script></html>"]}, 400),
        ({"photos": [b"GIF89a" + b"\0" * 100]}, 400),
        ({"photos": [jpeg()] * 6}, 400),
        ({"photos": [png_bomb()]}, 400),
        ({"photos": [jpeg()[:200]]}, 400),
        ({"description": "ngắn"}, 400),
        ({"category": "khong-co"}, 400),
        ({"lat": "10.0", "lon": "106.0"}, 400),  # outside every unit served
        ({"lat": "95", "lon": "105"}, 422),
        ({"phone": "<script>"}, 422),
    ]
    before = (_count(db), _count(db, ReportPhoto))
    for fields, status in cases:
        args = {**IN_A, **fields}
        if "lat" in fields and fields["lat"] is None:
            args.pop("lat")
        r = submit(client, **args)
        assert r.status_code == status, (fields.keys(), r.status_code, r.text[:200])
        assert {"code", "message", "message_en"} <= set(r.json()["error"])
    r = submit(client)  # neither coordinates nor a photo with GPS
    assert r.status_code == 400
    assert (_count(db), _count(db, ReportPhoto)) == before


def test_full_procedure_with_evidence_and_rating(client: Any, rworld: Any, db: Any) -> None:
    code = submit(client, photos=[jpeg()], **IN_A).json()["tracking_code"]
    with db.session() as s:
        rid = s.scalar(select(FieldReport.id))
    police = rworld.auth("police_a")
    assert client.post(f"/api/v1/reports/{rid}/actions/accept", json={}, headers=police).status_code == 200
    # resolving needs an answer and evidence uploaded first
    r = client.post(
        f"/api/v1/reports/{rid}/actions/resolve", json={"answer": "Đã xử lý xong"}, headers=police
    )
    assert r.status_code in (400, 422)
    ev = client.post(
        f"/api/v1/reports/{rid}/evidence",
        files=[("photos", ("kq.jpg", jpeg(color="green"), "image/jpeg"))],
        headers=police,
    )
    assert ev.status_code == 201, ev.text
    sha = ev.json()[0]["sha256"]
    answer = "Công an xã đã đến hiện trường, giải tán nhóm tụ tập và nhắc nhở các hộ liên quan."
    r = client.post(
        f"/api/v1/reports/{rid}/actions/resolve", json={"answer": answer, "evidence": [sha]}, headers=police
    )
    assert r.status_code == 200, r.text
    track = client.get(f"/api/v1/reports/track/{code}").json()
    assert track["state"] == "resolved" and track["answer"] == answer and track["can_rate"]
    assert any(p["kind"] == "evidence" for p in track["photos"])
    # not satisfied: reopened for the agency
    r = client.post(
        f"/api/v1/reports/track/{code}/rate", json={"rating": 2, "satisfied": False, "comment": "Vẫn còn"}
    )
    assert r.status_code == 200 and r.json()["state"] == "in_progress"
    client.post(
        f"/api/v1/reports/{rid}/actions/resolve", json={"answer": answer, "evidence": [sha]}, headers=police
    )
    r = client.post(f"/api/v1/reports/track/{code}/rate", json={"rating": 5, "satisfied": True})
    assert r.status_code == 200 and r.json()["state"] == "closed" and r.json()["rating"] == 5
    states = [t["state"] for t in r.json()["timeline"]]
    assert states == ["received", "assigned", "in_progress", "resolved", "in_progress", "resolved", "closed"]
    assert (
        client.post(f"/api/v1/reports/track/{code}/rate", json={"rating": 1, "satisfied": False}).status_code
        == 409
    )


def test_scope_of_the_queue(client: Any, rworld: Any, db: Any) -> None:
    submit(client, **IN_A)
    submit(client, **IN_B)
    seen = {
        who: {r["unit_id"] for r in client.get("/api/v1/reports", headers=rworld.auth(who)).json()}
        for who in ("admin", "op_a", "op_b", "police_a", "viewer_a")
    }
    a, b = rworld.units["H1"].id, rworld.units["B"].id
    assert seen == {"admin": {a, b}, "op_a": {a}, "op_b": {b}, "police_a": {a}, "viewer_a": {a}}
    assert client.get("/api/v1/reports", headers=rworld.auth("citizen")).status_code == 403
    with db.session() as s:
        rid_b = s.scalar(select(FieldReport.id).where(FieldReport.unit_id == b))
    assert client.get(f"/api/v1/reports/{rid_b}", headers=rworld.auth("op_a")).status_code == 404
    # a viewer reads but cannot act
    with db.session() as s:
        rid_a = s.scalar(select(FieldReport.id).where(FieldReport.unit_id == a))
    r = client.post(
        f"/api/v1/reports/{rid_a}/actions/reject", json={"reason": "x"}, headers=rworld.auth("viewer_a")
    )
    assert r.status_code == 403


def test_agency_staff_see_only_their_agency(client: Any, rworld: Any, db: Any) -> None:
    submit(client, **IN_A)  # routed to ca-a
    with db.session() as s:
        rid = s.scalar(select(FieldReport.id))
    op = rworld.auth("op_a")
    r = client.post(
        f"/api/v1/reports/{rid}/actions/transfer",
        json={"agency_id": rworld.agencies["ca-b"].id, "reason": "Thuộc địa bàn khác"},
        headers=op,
    )
    assert r.status_code == 200, r.text
    assert client.get("/api/v1/reports", headers=rworld.auth("police_a")).json() == []
    assert client.get(f"/api/v1/reports/{rid}", headers=rworld.auth("police_a")).status_code == 404


def test_privacy_of_public_views(client: Any, rworld: Any, db: Any) -> None:
    code = submit(
        client, photos=[jpeg()], name="Nguyễn Văn A", phone="0912345678", lat="20.9051234", lon="105.8054321"
    ).json()["tracking_code"]
    assert client.get("/api/v1/reports/public").json() == []  # nothing public before moderation
    with db.session() as s:
        rid = s.scalar(select(FieldReport.id))
        sha = s.scalar(select(ReportPhoto.sha256))
    assert client.get(f"/reports/photo/{sha}").status_code == 404
    r = client.post(
        f"/api/v1/reports/{rid}/moderation",
        json={"approve": True, "public_photos": [sha]},
        headers=rworld.auth("op_a"),
    )
    assert r.status_code == 200
    public = client.get("/api/v1/reports/public").json()
    assert len(public) == 1
    text = str(public) + str(client.get(f"/api/v1/reports/track/{code}").json())
    for secret in ("Nguyễn Văn A", "0912345678", "20.9051234", "105.8054321"):
        assert secret not in text
    assert public[0]["lat"] == 20.905 and client.get(f"/reports/photo/{sha}").status_code == 200
    # identity: operators see it and the view is audited; agency staff do not see it
    detail = client.get(f"/api/v1/reports/{rid}", headers=rworld.auth("op_a")).json()
    assert detail["reporter"]["phone"] == "0912345678"
    assert client.get(f"/api/v1/reports/{rid}", headers=rworld.auth("police_a")).json()["reporter"] is None
    with db.session() as s:
        views = s.scalar(select(func.count()).where(AuditEntry.action == "field_report.view_identity"))
    assert views == 2  # the moderation answer and the detail both showed the reporter to op_a


def test_nearby_duplicates_and_follow(client: Any, rworld: Any, db: Any) -> None:
    sent = submit(client, **IN_A).json()
    near = client.get(
        "/api/v1/reports/nearby", params={"category": "an-ninh", "lat": 20.9051, "lon": 105.8051}
    ).json()
    assert [n["id"] for n in near] == [sent["id"]] and near[0]["distance_m"] < 30
    assert "tracking_code" not in near[0]  # the reporter's private receipt never shows in public lists
    far = client.get(
        "/api/v1/reports/nearby", params={"category": "an-ninh", "lat": 20.915, "lon": 105.805}
    ).json()
    assert far == []
    other = client.get(
        "/api/v1/reports/nearby", params={"category": "rac-thai", "lat": 20.905, "lon": 105.805}
    )
    assert other.json() == []
    r = client.post(f"/api/v1/reports/public/{sent['id']}/follow", json={"phone": "0987654321"})
    assert r.status_code == 201 and r.json() == {"id": sent["id"], "supporters": 2}
    assert client.post("/api/v1/reports/public/999999/follow", json={}).status_code == 404


def test_merge_duplicates(client: Any, rworld: Any, db: Any) -> None:
    first = submit(client, **IN_A).json()["tracking_code"]
    second = submit(client, **IN_A, phone="0900000000").json()["tracking_code"]
    with db.session() as s:
        ids = dict(s.execute(select(FieldReport.tracking_code, FieldReport.id)).tuples().all())
    r = client.post(
        f"/api/v1/reports/{ids[second]}/actions/merge",
        json={"target_id": ids[first]},
        headers=rworld.auth("op_a"),
    )
    assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/reports/track/{second}").json()["state"] == "merged"
    assert client.get(f"/api/v1/reports/track/{first}").json()["supporters"] == 2


def test_rate_limit_per_device(client: Any, rworld: Any) -> None:
    for _ in range(10):
        assert submit(client, device_id="phone-1", **IN_A).status_code == 201
    r = submit(client, device_id="phone-1", **IN_A)
    assert r.status_code == 429


def test_deadlines_on_working_time() -> None:
    cal = WorkCalendar.default()

    class Case:
        priority = "urgent"
        resolve_days = 3

    friday = datetime(2026, 2, 13, 15, 0, tzinfo=VN_TZ)  # the last working day before Tết 2026
    ack = FIELD_REPORT.sla_of(Case(), "received")
    assert ack is not None and ack.deadline(cal, friday) == datetime(2026, 2, 23, 9, 30, tzinfo=VN_TZ)
    Case.priority = "normal"
    ack = FIELD_REPORT.sla_of(Case(), "assigned")
    assert ack.deadline(cal, friday) == datetime(2026, 2, 23, 15, 0, tzinfo=VN_TZ)
    resolve = FIELD_REPORT.sla_of(Case(), "in_progress")
    assert resolve.deadline(cal, friday) == datetime(
        2026, 2, 25, 15, 0, tzinfo=VN_TZ
    )  # Mon 23, Tue 24, Wed 25
    assert FIELD_REPORT.sla_of(Case(), "closed") is None


def test_tracking_codes_never_appear_in_public_surfaces(client: Any, rworld: Any, db: Any) -> None:
    """The tracking code lets its holder read everything and rate the answer, so only the reporter gets it."""
    sent = submit(client, photos=[jpeg()], **IN_A).json()
    code = sent["tracking_code"]
    client.post(
        f"/api/v1/reports/{sent['id']}/moderation", json={"approve": True}, headers=rworld.auth("op_a")
    )
    surfaces = [
        client.get("/api/v1/reports/public").text,
        client.get(
            "/api/v1/reports/nearby", params={"category": "an-ninh", "lat": 20.905, "lon": 105.805}
        ).text,
        client.get("/phan-anh/cong-khai").text,
        client.get("/open311/v2/requests.json").text,
        client.get("/open311/v2/requests.xml").text,
        client.get(f"/open311/v2/requests/{sent['id']}.json").text,
        client.get("/open311/v2/servicerequestupdates.json").text,
    ]
    for text in surfaces:
        assert code not in text
    assert client.get(f"/api/v1/reports/track/{code}").json()["tracking_code"] == code


def test_case_events_carry_readable_titles(client: Any, rworld: Any, db: Any) -> None:
    from toancanh.core.outbox import OutboxEvent

    submit(client, **IN_A)
    with db.session() as s:
        events = s.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.subject.like("toancanh.reports.report.%"))
            .order_by(OutboxEvent.id)
        ).all()
        titles = [(e.subject.rsplit(".", 1)[-1], e.data["title_vi"], e.data["title_en"]) for e in events]
    rid = titles and events[0].data["case_id"]
    assert titles == [
        ("opened", f"Phản ánh #{rid}: Đã tiếp nhận", f"Field report #{rid}: Received"),
        ("assign", f"Phản ánh #{rid}: Đã chuyển cơ quan xử lý", f"Field report #{rid}: Assigned"),
    ]


def test_hotline_reports_by_operators(client: Any, rworld: Any, db: Any) -> None:
    form = {
        "category": "rac-thai",
        "description": "Người dân gọi điện báo bãi rác tự phát ở đầu thôn",
        "phone": "0911222333",
    }
    r = client.post("/api/v1/reports/hotline", data={**form, **IN_A}, headers=rworld.auth("op_a"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["channel"] == "hotline" and body["reporter"]["phone"] == "0911222333"
    before = _count(db)
    # agency staff cannot enter hotline reports; an operator cannot enter one outside their area
    assert (
        client.post(
            "/api/v1/reports/hotline", data={**form, **IN_A}, headers=rworld.auth("police_a")
        ).status_code
        == 403
    )
    r = client.post("/api/v1/reports/hotline", data={**form, **IN_B}, headers=rworld.auth("op_a"))
    assert r.status_code == 400
    assert _count(db) == before


def test_hotline_page(client: Any, rworld: Any) -> None:
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"username": "op_a", "password": "op_a-password", "csrf": token})
    r = client.get("/reports/hotline")
    assert r.status_code == 200 and 'id="hotline-form"' in r.text and "đường dây nóng" in r.text
    assert 'href="/reports/hotline"' in client.get("/reports/queue").text
    client.cookies.clear()
    assert client.get("/reports/hotline", follow_redirects=False).status_code == 303


def test_rate_limit_per_account(client: Any, rworld: Any, db: Any, monkeypatch: Any) -> None:
    """An account (here an Open311 app's key) is limited per hour, whatever devices it reports for."""
    from toancanh.core.auth.service import create_api_key
    from toancanh.modules.reports import service

    monkeypatch.setattr(service, "ACCOUNT_SUBMISSIONS_PER_HOUR", 3)
    with db.session() as s:
        key, _ = create_api_key(s, s.merge(rworld.users["citizen"]), "app")
    form = {
        "service_code": "an-ninh",
        "lat": "20.905",
        "long": "105.805",
        "api_key": key,
        "description": "Tụ tập gây mất trật tự ban đêm ở đầu thôn",
    }
    codes = [
        client.post("/open311/v2/requests.json", data={**form, "device_id": f"d{i}"}).status_code
        for i in range(4)
    ]
    assert codes == [200, 200, 200, 400]  # Open311 reports every refusal as 400 with its own error body
    before = _count(db)
    assert client.post("/open311/v2/requests.json", data={**form, "device_id": "d9"}).status_code == 400
    assert _count(db) == before


def test_statistics_page(client: Any, rworld: Any, db: Any) -> None:
    import re

    submit(client, **IN_A)
    submit(client, **IN_B)
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    client.post("/login", data={"username": "op_a", "password": "op_a-password", "csrf": token})
    r = client.get("/reports/stats")
    assert r.status_code == 200 and "Thống kê phản ánh" in r.text and "QĐ 766" in r.text
    table = r.text[r.text.index('id="stats-table"') :]
    # scoped like the queue: op_a's commune received one report, commune B's is not counted
    assert re.search(r"<td>An ninh trật tự</td><td>1</td>", table)
    assert client.get("/reports/stats?by=unit").status_code == 200
    assert client.get("/reports/stats?by=nonsense").status_code == 422
    assert 'href="/reports/stats"' in client.get("/reports/queue").text
