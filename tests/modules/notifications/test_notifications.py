"""Notifications end to end: outbox -> bus -> the durable notification worker -> inbox, SMTP, webhooks."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

from sqlalchemy import func, select

from tests.modules.notifications.conftest import PUBLIC_URL, Hooks, Mailbox, wait_for
from tests.modules.reports.conftest import jpeg, submit
from toancanh.core.bus import Event
from toancanh.core.outbox import OutboxEvent
from toancanh.modules.notifications import service
from toancanh.modules.notifications.delivery import MAX_ATTEMPTS
from toancanh.modules.notifications.models import Delivery, Notification, Webhook
from toancanh.modules.reports.models import FieldReport

IN_A = {"lat": "20.905", "lon": "105.805"}  # hamlet 1 of commune A, routed to ca-a
REPORTER, FOLLOWER = "nguoidan@example.vn", "hangxom@example.vn"
SECRET = "s3cret-s3cret-s3cret"


def _ours(db: Any) -> set[str]:
    """Ids of this test's events. On a NATS server other test runs share, their events reach our worker too
    (whose answers to them do not matter here): assertions look at this test's events only."""
    with db.session() as s:
        return set(s.scalars(select(OutboxEvent.uid)))


def _notifications(db: Any) -> list[tuple[int, str]]:
    ours = _ours(db)
    with db.session() as s:
        rows = s.execute(select(Notification.user_id, Notification.event_subject, Notification.event_id))
        return [(u, subject) for u, subject, eid in rows.tuples() if eid in ours]


def _mails(db: Any, mailbox: Mailbox, address: str) -> list[Any]:
    ours = _ours(db)
    return [m for m in mailbox.to(address) if m["Message-ID"].strip("<").split(".")[0] in ours]


def _resolve(client: Any, world: Any, rid: int) -> None:
    police = world.auth("police_a")
    assert client.post(f"/api/v1/reports/{rid}/actions/accept", json={}, headers=police).status_code == 200
    ev = client.post(
        f"/api/v1/reports/{rid}/evidence",
        files=[("photos", ("kq.jpg", jpeg(color="green"), "image/jpeg"))],
        headers=police,
    )
    assert ev.status_code == 201, ev.text
    r = client.post(
        f"/api/v1/reports/{rid}/actions/resolve",
        json={"answer": "Đã giải tán nhóm tụ tập.", "evidence": [ev.json()[0]["sha256"]]},
        headers=police,
    )
    assert r.status_code == 200, r.text


def _report_id(db: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.max(FieldReport.id))))


def test_a_routed_report_notifies_the_assigned_agency_only(client: Any, rworld: Any, db: Any) -> None:
    assert submit(client, **IN_A).status_code == 201
    police = rworld.users["police_a"].id
    wait_for(lambda: any(u == police for u, _ in _notifications(db)), what="police_a's notification")
    assert {u for u, _ in _notifications(db)} == {police}
    rows = client.get("/api/v1/notifications", headers=rworld.auth("police_a")).json()
    mine = [r for r in rows if r["event_subject"] == "toancanh.reports.report.assign"]
    assert mine and mine[0]["link"] == f"/reports/{_report_id(db)}" and mine[0]["title_vi"]
    assert client.get("/api/v1/notifications/unread-count", headers=rworld.auth("police_a")).json() == {
        "unread": len(rows)
    }


def test_deadline_events_reach_the_operators_and_leaders_of_the_unit(
    client: Any, rworld: Any, db: Any
) -> None:
    assert submit(client, **IN_A).status_code == 201
    rid = _report_id(db)
    with db.session() as s:
        report = s.get(FieldReport, rid)
        unit_id, agency = report.unit_id, report.assignee_agency_id
    event = Event.create(
        "toancanh.reports.report.sla_warning",
        {"case_id": rid, "assignee_agency_id": agency, "title_vi": "Sắp đến hạn", "title_en": "Due soon"},
        unit_id=unit_id,
        unit_path="/01/00664/0066401/",
        domain="security",
    )
    client.portal.call(client.app.state.notifications.handle, event)
    with db.session() as s:
        got = set(s.scalars(select(Notification.user_id).where(Notification.event_id == event.id)))
    expect = {rworld.users[w].id for w in ("police_a", "op_a", "op_hamlet", "leader_a")}
    assert got == expect  # not the admin, commune B, the traffic centre (other domain) nor the viewer


def test_resolving_emails_the_reporter_with_the_code_and_followers_without(
    client: Any, rworld: Any, db: Any, mailbox: Mailbox
) -> None:
    sent = submit(client, email=REPORTER, **IN_A).json()
    code, rid = sent["tracking_code"], _report_id(db)
    r = client.post(f"/api/v1/reports/public/{rid}/follow", json={"email": FOLLOWER})
    assert r.status_code == 201, r.text
    _resolve(client, rworld, rid)

    mine = wait_for(lambda: _mails(db, mailbox, REPORTER), what="the reporter's e-mail")
    theirs = wait_for(lambda: _mails(db, mailbox, FOLLOWER), what="the follower's e-mail")
    assert len(mine) == 1 and len(theirs) == 1
    assert mine[0]["Subject"] == f"Phản ánh {code} đã có kết quả xử lý"
    text = mine[0].get_content()
    assert code in text and f"{PUBLIC_URL}/phan-anh/tra-cuu/{code}" in text
    assert theirs[0]["Subject"] == f"Phản ánh số #{rid} đã có kết quả xử lý"
    assert (
        f"#{rid}" in theirs[0].get_content() and f"{PUBLIC_URL}/phan-anh/cong-khai" in theirs[0].get_content()
    )
    raw = b"".join(r for r in mailbox.raw if FOLLOWER.encode() in r)
    assert raw and code.encode() not in raw and code not in theirs[0].get_content()

    # The bus delivers the resolve event again: nothing is sent twice.
    with db.session() as s:
        event = (
            s.scalars(select(OutboxEvent).where(OutboxEvent.subject == "toancanh.reports.report.resolve"))
            .one()
            .to_event()
        )
    client.portal.call(client.app.state.notifications.handle, event)
    assert len(_mails(db, mailbox, REPORTER)) == 1 and len(_mails(db, mailbox, FOLLOWER)) == 1
    with db.session() as s:
        rows = s.scalars(select(Delivery).where(Delivery.event_id == event.id, Delivery.channel == "email"))
        assert sorted((d.target, d.status, d.attempts) for d in rows) == [
            (FOLLOWER, "sent", 1),
            (REPORTER, "sent", 1),
        ]


def test_webhooks_signed_scoped_retried_and_recorded(client: Any, rworld: Any, db: Any, hooks: Hooks) -> None:
    admin = rworld.auth("admin")
    specs = {
        "ok": {"url": hooks.url("/ok"), "pattern": "toancanh.reports.>", "secret": SECRET},
        "b": {"url": hooks.url("/b"), "pattern": "toancanh.>", "unit_code": "00070"},
        "fail": {"url": hooks.url("/fail"), "pattern": "toancanh.reports.report.*"},
    }
    ids = {}
    for name, spec in specs.items():
        r = client.post("/api/v1/webhooks", json={"name": name, **spec}, headers=admin)
        assert r.status_code == 201, r.text
        assert r.json()["secret"] and (name != "ok" or r.json()["secret"] == SECRET)
        ids[name] = r.json()["id"]
    assert "secret" not in client.get("/api/v1/webhooks", headers=admin).json()[0]

    assert submit(client, **IN_A).status_code == 201
    calls = wait_for(
        lambda: [c for c in hooks.at("/ok") if c["json"]["subject"].endswith(".assign")], what="the webhook"
    )
    call = calls[0]
    expected = "sha256=" + hmac.new(SECRET.encode(), call["body"], hashlib.sha256).hexdigest()
    assert call["headers"]["X-Toancanh-Signature"] == expected
    assert call["json"]["unit_path"].startswith("/01/00664/") and call["json"]["data"]["case_id"]

    def deliveries(name: str) -> list[Delivery]:
        ours = _ours(db)
        with db.session() as s:
            rows = s.scalars(select(Delivery).where(Delivery.target == f"webhook:{ids[name]}"))
            return [d for d in rows if d.event_id in ours]

    def failed_for_good() -> bool:
        rows = deliveries("fail")
        return len(rows) == 2 and all(d.status == "failed" for d in rows)  # opened + assign

    wait_for(failed_for_good, timeout=60, what="the failing webhook to be given up")
    assert {d.attempts for d in deliveries("fail")} == {MAX_ATTEMPTS}
    assert {(d.status, d.attempts) for d in deliveries("ok")} == {("sent", 1)} and len(deliveries("ok")) == 2
    with db.session() as s:
        fail = s.get(Webhook, ids["fail"])
        assert fail.failures >= 2 and fail.last_status == "HTTP 500"
        assert s.get(Webhook, ids["ok"]).last_status == "200"
    ours = _ours(db)
    assert len([c for c in hooks.at("/fail") if c["json"]["id"] in ours]) == 2 * MAX_ATTEMPTS
    assert [c for c in hooks.at("/b") if c["json"]["id"] in ours] == []  # scoped to commune B
    assert all(c["json"]["unit_path"].startswith("/01/00070/") for c in hooks.at("/b"))

    assert client.delete(f"/api/v1/webhooks/{ids['b']}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/webhooks/{ids['b']}", headers=admin).status_code == 404


def test_bad_webhook_input_is_refused_and_nothing_is_stored(client: Any, rworld: Any, db: Any) -> None:
    admin = rworld.auth("admin")
    good = {"name": "x", "url": "https://example.org/hook"}
    bad = [
        {**good, "url": "ftp://example.org/hook"},
        {**good, "url": "javascript:alert(1)"},
        {**good, "url": "http://"},
        {**good, "pattern": "toancanh.>.x"},
        {**good, "pattern": "toancanh..reports"},
        {**good, "pattern": "other.>"},
        {**good, "secret": "short"},
        {**good, "unit_code": "99999"},
        {**good, "extra": 1},
    ]
    for body in bad:
        r = client.post("/api/v1/webhooks", json=body, headers=admin)
        assert 400 <= r.status_code < 500, (body, r.status_code)
        assert "error" in r.json()
    assert client.post("/api/v1/webhooks", json=good, headers=rworld.auth("op_a")).status_code == 403
    assert client.get("/api/v1/webhooks", headers=rworld.auth("op_a")).status_code == 403
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Webhook)) == 0


def _stop_worker(client: Any) -> None:
    """Unsubscribe the worker: on a shared NATS server, other runs' events would add notifications."""
    client.portal.call(client.app.state.notifications.subscription.unsubscribe)


def test_each_user_sees_only_their_own_notifications(client: Any, rworld: Any, db: Any) -> None:
    _stop_worker(client)
    with db.session() as s:
        theirs = service.notify(s, [rworld.users["police_a"].id], "Của người khác", "Someone else's")[0].id
        mine = [n.id for n in service.notify(s, [rworld.users["op_a"].id] * 2, "Việc mới", link="/reports")]
        mine += [n.id for n in service.notify(s, [rworld.users["op_a"].id], "Việc thứ hai")]
    op = rworld.auth("op_a")
    assert [n["id"] for n in client.get("/api/v1/notifications", headers=op).json()] == sorted(
        mine, reverse=True
    )
    assert client.post(f"/api/v1/notifications/{theirs}/read", headers=op).status_code == 404
    assert client.post("/api/v1/notifications/999999/read", headers=op).status_code == 404
    r = client.post(f"/api/v1/notifications/{mine[0]}/read", headers=op)
    assert r.status_code == 200 and r.json()["read_at"]
    assert client.get("/api/v1/notifications/unread-count", headers=op).json() == {"unread": 1}
    unread = client.get("/api/v1/notifications", params={"unread": "true"}, headers=op).json()
    assert [n["id"] for n in unread] == [mine[1]]
    assert client.post("/api/v1/notifications/read-all", headers=op).json() == {"unread": 0}
    police = rworld.auth("police_a")
    assert client.get("/api/v1/notifications/unread-count", headers=police).json() == {"unread": 1}
    assert client.get("/api/v1/notifications").status_code == 401


def test_bell_and_inbox_page(client: Any, rworld: Any, db: Any) -> None:
    _stop_worker(client)
    with db.session() as s:
        service.notify(s, [rworld.users["op_a"].id], "Phản ánh mới <b>x</b>", "New report", link="/reports/1")
    assert client.get("/notifications/bell").text == ""  # signed out: nothing to show
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={"username": "op_a", "password": "op_a-password", "csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    home = client.get("/notifications")
    assert home.status_code == 200
    assert 'hx-get="/notifications/bell"' in home.text and 'hx-trigger="load, every 30s"' in home.text
    assert "Phản ánh mới &lt;b&gt;x&lt;/b&gt;" in home.text
    assert '<span class="badge">1</span>' in client.get("/notifications/bell").text
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', home.text).group(1)
    with db.session() as s:
        nid = s.scalar(select(Notification.id))
    r = client.post(f"/notifications/{nid}/open", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/reports/1"
    assert "badge" not in client.get("/notifications/bell").text
