"""Notification channels: routes that send alerts by e-mail, SMS and Zalo through real gateways.

A real HTTP server on 127.0.0.1 plays the SMS gateway (generic JSON + bearer token) and Zalo's ZNS endpoint;
the SMTP server of the conftest receives the e-mails. Events are handed to the worker's handler directly,
so each test knows exactly which events it sent.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.modules.notifications.conftest import PUBLIC_URL, Mailbox
from toancanh.core.audit import AuditEntry
from toancanh.core.auth.models import User
from toancanh.core.bus import Event
from toancanh.modules.notifications import addresses, channels, gateways, service
from toancanh.modules.notifications.delivery import MAX_ATTEMPTS, TEST_SUBJECT, RetryLater
from toancanh.modules.notifications.models import Delivery, NotificationRoute
from toancanh.modules.notifications.schemas import RouteIn
from toancanh.settings import Settings

SMS_TOKEN = "sms-token-123"
ZALO_TOKEN = "zalo-oa-access-token"
TEMPLATE = "248531"
FAILING_PHONE = "84900000999"  # the SMS gateway answers 500 for this number
RAISED = "toancanh.alerts.alert.raised"
TITLE = "Báo cháy: Bếp ăn Trường Mầm non Hoa Sen"
# Stored the way people type them; the gateways must get 84xxxxxxxxx.
PHONES = {"leader_a": "0912 000 001", "op_a": "+84 912 000 002", "op_b": "84912000003"}
EMAILS = {"leader_a": "Lanh.Dao@Example.vn", "op_a": "truc.ban@example.vn"}


@dataclass
class Gateway:
    """The SMS gateway (/sms) and Zalo's ZNS endpoint (/zns), recording what they receive."""

    port: int = 0
    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [c for c in self.calls if c["path"] == path]


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    box = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server)
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            with box.lock:
                box.calls.append({"path": self.path, "headers": dict(self.headers), "json": body})
                n = len(box.calls)
            status, answer = 200, {}
            if self.path == "/sms":
                status, answer = (
                    (500, {"error": "down"}) if body["to"] == FAILING_PHONE else (200, {"id": f"s{n}"})
                )
            elif self.path == "/zns":
                ok = self.headers.get("access_token") == ZALO_TOKEN
                answer = (
                    {"error": 0, "data": {"msg_id": f"z{n}"}} if ok else {"error": -124, "message": "bad"}
                )
            raw = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield box
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def settings(settings: Settings, gateway: Gateway) -> Settings:
    return settings.model_copy(
        update={
            "sms_gateway": gateway.url("/sms"),
            "sms_gateway_token": SMS_TOKEN,
            "sms_sender": "UBND-DAITHANH",
            "zalo_gateway": gateway.url("/zns"),
            "zalo_access_token": ZALO_TOKEN,
            "zalo_template_id": TEMPLATE,
        }
    )


@pytest.fixture
def cworld(world: Any, db: Any) -> Any:
    """The shared world, with phone numbers and e-mails for some users."""
    with db.session() as s:
        for who, phone in PHONES.items():
            s.get(User, world.users[who].id).phone = phone
        for who, mail in EMAILS.items():
            s.get(User, world.users[who].id).email = mail
    return world


def alert(w: Any, unit: str, severity: str | None, domain: str = "environment", **data: Any) -> Event:
    u = w.units[unit]
    subject = data.pop("subject", RAISED)
    body = {"id": 7, "category": "fire.kitchen", "title_vi": TITLE, "title_en": "Fire alarm", **data}
    if severity is not None:
        body["severity"] = severity
    return Event.create(subject, body, unit_id=u.id, unit_path=u.path, domain=domain)


def dispatch(client: Any, event: Event) -> None:
    client.portal.call(client.app.state.notifications.handle, event)


def deliveries(db: Any, event: Event) -> dict[tuple[str, str], Delivery]:
    with db.session() as s:
        rows = s.scalars(select(Delivery).where(Delivery.event_id == event.id))
        return {(d.channel, d.target): d for d in rows}


def route(client: Any, w: Any, **body: Any) -> dict[str, Any]:
    r = client.post("/api/v1/notification-routes", json={"name": "r", **body}, headers=w.auth("admin"))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------ addresses


def test_phone_numbers_e_mails_and_sms_text() -> None:
    for raw in ("0912345678", "+84 912 345 678", "84912345678", "0912.345.678", "(+84) 912-345-678"):
        assert addresses.vn_phone(raw) == "84912345678", raw
    for raw in ("012345678", "02438251234", "+1 555 123 4567", "0912345", "09123456789", "abc", ""):
        with pytest.raises(addresses.AddressError) as exc:
            addresses.vn_phone(raw)
        assert "Số điện thoại" in exc.value.message_vi and "Vietnamese mobile" in exc.value.message_en
    assert addresses.email(" Truc.Ban@Example.VN ") == "truc.ban@example.vn"
    for raw in ("no-at.example.vn", "a@b", "a b@example.vn", "a@@example.vn", "x@example..vn"):
        with pytest.raises(addresses.AddressError):
            addresses.email(raw)
    assert addresses.zalo("0912 345 678") == "84912345678"
    assert addresses.zalo("5512345678901234567") == "5512345678901234567"  # a Zalo user id
    with pytest.raises(addresses.AddressError):
        addresses.zalo("zalo-user")
    with pytest.raises(addresses.AddressError):
        addresses.normalize("fax", "0912345678")
    assert addresses.without_diacritics("Cháy ở Đại Thanh — “khẩn”…") == 'Chay o Dai Thanh - "khan"...'
    msg = channels.Message(TITLE * 3, "severe", "Xã Đại Thanh", f"{PUBLIC_URL}/alerts/incidents/12")
    sms = msg.sms()
    assert len(sms) <= 160 and sms.isascii() and sms.startswith("[Nghiem trong] Bao chay")
    assert sms.endswith(f"{PUBLIC_URL}/alerts/incidents/12")
    assert msg.line().startswith("[Nghiêm trọng] Báo cháy") and msg.line().endswith("- Xã Đại Thanh")


# ------------------------------------------------------------------------------------------ gateways


def test_sms_zalo_and_email_reach_the_gateways_once(
    client: Any, cworld: Any, db: Any, gateway: Gateway, mailbox: Mailbox
) -> None:
    w = cworld
    route(client, w, unit_code="00664", channels=["email", "sms", "zalo"], roles=["leader"])
    event = alert(w, "H1", "severe", incident_id=31)
    dispatch(client, event)

    (sms,) = gateway.at("/sms")
    assert sms["headers"]["Authorization"] == f"Bearer {SMS_TOKEN}"
    body = sms["json"]
    assert set(body) == {"to", "text", "sender", "ref"}
    assert body["to"] == "84912000001" and body["sender"] == "UBND-DAITHANH" and body["ref"]
    assert body["text"].isascii() and "[Nghiem trong] Bao chay: Bep an Truong Mam non Hoa Sen" in body["text"]
    assert "Thon Mot" in body["text"] and body["text"].endswith(f"{PUBLIC_URL}/alerts/incidents/31")
    (zns,) = gateway.at("/zns")
    assert zns["headers"]["access_token"] == ZALO_TOKEN
    assert zns["json"]["phone"] == "84912000001" and zns["json"]["template_id"] == TEMPLATE
    assert zns["json"]["template_data"] == {
        "title": f"[Nghiêm trọng] {TITLE} - Thôn Một",
        "link": f"{PUBLIC_URL}/alerts/incidents/31",
    }
    assert zns["json"]["tracking_id"] and len(zns["json"]["tracking_id"]) <= 48
    (mail,) = mailbox.to("lanh.dao@example.vn")
    assert mail["Subject"] == f"[Toàn Cảnh] Nghiêm trọng: {TITLE}"
    assert "Thôn Một" in mail.get_content() and f"{PUBLIC_URL}/alerts/incidents/31" in mail.get_content()

    got = deliveries(db, event)
    assert {k: (d.status, d.attempts) for k, d in got.items()} == {
        ("sms", "84912000001"): ("sent", 1),
        ("zalo", "84912000001"): ("sent", 1),
        ("email", "lanh.dao@example.vn"): ("sent", 1),
    }
    assert got[("sms", "84912000001")].provider_id.startswith("s")
    assert got[("zalo", "84912000001")].provider_id.startswith("z")
    # The bus delivers the event again: nothing is sent twice.
    dispatch(client, event)
    assert len(gateway.at("/sms")) == 1 and len(gateway.at("/zns")) == 1
    assert len(mailbox.to("lanh.dao@example.vn")) == 1
    assert {d.attempts for d in deliveries(db, event).values()} == {1}


def test_file_gateway_and_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conf = SimpleNamespace(
        sms_gateway=f"file:{tmp_path / 'out' / 'sms.jsonl'}",
        zalo_gateway="",
        sms_gateway_token="",
        sms_sender="",
        zalo_access_token="",
        zalo_template_id="",
    )

    async def scenario() -> tuple[Any, Any]:
        async with httpx.AsyncClient() as http:
            sms = gateways.build("sms", conf, http)
            assert isinstance(sms, gateways.FileGateway) and gateways.build("zalo", conf, http) is None
            first = await sms.send("84912345678", "Bao chay", ref="r1", link="https://x/1")
            await sms.send("84912345679", "Het canh bao", ref="r2")
            # A third-party gateway, found through its package's entry point.
            plugin = tmp_path / "plugin"
            (plugin / "tc_fake_gw-1.0.dist-info").mkdir(parents=True)
            (plugin / "tc_fake_gw-1.0.dist-info" / "METADATA").write_text("Name: tc-fake-gw\nVersion: 1.0\n")
            (plugin / "tc_fake_gw-1.0.dist-info" / "entry_points.txt").write_text(
                "[toancanh.gateways]\nfakegw = tc_fake_gw:make\n"
            )
            (plugin / "tc_fake_gw.py").write_text(
                "class G:\n"
                "    def __init__(self, kind, target):\n"
                "        self.kind, self.target, self.sent = kind, target, []\n"
                "    async def send(self, to, text, *, ref, link=''):\n"
                "        self.sent.append((to, text, ref))\n"
                "        return 'fake-' + ref\n"
                "def make(kind, target, settings):\n"
                "    return G(kind, target)\n"
            )
            monkeypatch.syspath_prepend(str(plugin))
            conf.zalo_gateway = "fakegw:oa=123"
            zalo = gateways.build("zalo", conf, http)
            assert zalo is not None and zalo.kind == "zalo" and zalo.target == "oa=123"  # type: ignore[attr-defined]
            assert await zalo.send("84912345678", "Cháy", ref="r3") == "fake-r3"
            conf.zalo_gateway = "nosuchgw:x"
            built, errors = gateways.build_all(conf, http)
            return first, (built, errors)

    first, (built, errors) = asyncio.run(scenario())
    lines = [json.loads(line) for line in (tmp_path / "out" / "sms.jsonl").read_text().splitlines()]
    assert [(r["kind"], r["to"], r["text"], r["ref"]) for r in lines] == [
        ("sms", "84912345678", "Bao chay", "r1"),
        ("sms", "84912345679", "Het canh bao", "r2"),
    ]
    assert lines[0]["id"] == first and lines[0]["link"] == "https://x/1" and lines[0]["at"]
    assert set(built) == {"sms"} and "nosuchgw" in errors["zalo"]
    info = gateways.describe("zalo", conf, errors["zalo"])
    assert not info.configured and info.error


# ------------------------------------------------------------------------------------------ routing


def test_routing_matrix(cworld: Any, db: Any, client: Any) -> None:
    w = cworld
    specs = {  # name -> route; each sends SMS to its own number
        "severe": {},
        "minor": {"min_severity": "minor"},
        "environment": {"min_severity": "minor", "domain": "environment"},
        "hamlet": {"min_severity": "minor", "unit_code": "0066401"},
        "incidents": {"min_severity": "minor", "pattern": "toancanh.alerts.incident.>"},
        "off": {"min_severity": "minor", "active": False},
        "fire": {"min_severity": "minor", "categories": ["fire"]},
    }
    number = {name: f"8498800{i:04d}" for i, name in enumerate(specs)}
    with db.session() as s:
        for name, spec in specs.items():
            extra = [{"channel": "sms", "address": number[name]}]
            service.create_route(s, RouteIn(name=name, channels=["sms"], extra=extra, **spec))
        service.create_route(
            s, RouteIn(name="leaders", unit_code="00664", channels=["sms", "email"], roles=["leader"])
        )

    def reached(event: Event) -> set[str]:
        with db.session() as s:
            planned = channels.plan(s, event, {"sms", "email", "zalo"}, "IOC", PUBLIC_URL)
        names = {v: k for k, v in number.items()}
        return {names.get(p.address, f"{p.channel}:{p.address}") for p in planned}

    leader = {"sms:84912000001", "email:lanh.dao@example.vn"}
    assert reached(alert(w, "H1", "severe")) == {"severe", "minor", "environment", "hamlet", "fire"} | leader
    assert (
        reached(alert(w, "H1", "Extreme", category="flood.street"))
        == {
            "severe",
            "minor",
            "environment",
            "hamlet",
        }
        | leader
    )
    assert reached(alert(w, "B", "moderate", domain="traffic", category="traffic.jam")) == {"minor"}
    assert reached(alert(w, "H2", "severe", domain="traffic")) == {"severe", "minor", "fire"} | leader
    assert reached(alert(w, "H2", None, subject="toancanh.alerts.incident.open", type="fire")) == {
        "minor",
        "incidents",
        "environment",
        "fire",
    }
    assert reached(alert(w, "A", "low")) == {"minor", "environment", "fire"}  # not a CAP severity
    assert reached(Event.create("toancanh.reports.report.opened", {"severity": "extreme"})) == set()


def test_failing_gateway_is_retried_then_recorded_and_blocks_nothing(
    client: Any, cworld: Any, db: Any, gateway: Gateway
) -> None:
    w = cworld
    extra = [
        {"channel": "sms", "address": FAILING_PHONE},
        {"channel": "sms", "address": "0912000010"},
        {"channel": "zalo", "address": "0912000010"},
    ]
    route(client, w, channels=["sms", "zalo"], extra=extra)
    event = alert(w, "H1", "extreme")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if attempt < MAX_ATTEMPTS:
            with pytest.raises(RetryLater):
                dispatch(client, event)
        else:
            dispatch(client, event)  # given up: nothing left to retry
        rows = deliveries(db, event)
        assert rows[("sms", FAILING_PHONE)].attempts == attempt
    assert rows[("sms", FAILING_PHONE)].status == "failed"
    assert "HTTP 500" in rows[("sms", FAILING_PHONE)].last_error
    assert (rows[("sms", "84912000010")].status, rows[("sms", "84912000010")].attempts) == ("sent", 1)
    assert (rows[("zalo", "84912000010")].status, rows[("zalo", "84912000010")].attempts) == ("sent", 1)
    dispatch(client, event)
    assert len([c for c in gateway.at("/sms") if c["json"]["to"] == FAILING_PHONE]) == MAX_ATTEMPTS
    assert len(gateway.at("/zns")) == 1

    # Nonsense in an event's data sends a plain message and stops nothing.
    odd = alert(w, "H1", "severe", title_vi=["x"], incident_id="abc", link="//evil.example/")
    odd.data["severity"] = {"not": "a string"}
    route(
        client,
        w,
        min_severity="minor",
        channels=["zalo"],
        extra=[{"channel": "zalo", "address": "0912000011"}],
    )
    dispatch(client, odd)
    (sent,) = [c for c in gateway.at("/zns") if c["json"]["phone"] == "84912000011"]
    assert sent["json"]["template_data"] == {
        "title": f"{RAISED} - Thôn Một",
        "link": f"{PUBLIC_URL}/alerts/console",
    }


# ------------------------------------------------------------------------------------------ API


def test_bad_routes_are_refused_and_change_nothing(client: Any, cworld: Any, db: Any) -> None:
    w = cworld
    admin = w.auth("admin")
    good = {"name": "Lãnh đạo", "channels": ["sms"], "roles": ["leader"]}
    bad = [
        {**good, "extra": [{"channel": "sms", "address": "0123"}]},
        {**good, "channels": ["email"], "extra": [{"channel": "email", "address": "not-an-email"}]},
        {**good, "channels": ["sms", "fax"]},
        {**good, "roles": ["wizard"]},
        {**good, "roles": ["citizen"]},
        {**good, "extra": [{"channel": "zalo", "address": "0912345678"}]},  # not one of its channels
        {**good, "extra": [{"channel": "telex", "address": "x"}]},
        {**good, "channels": []},
        {"name": "x", "channels": ["sms"]},  # nobody to tell
        {**good, "min_severity": "catastrophic"},
        {**good, "domain": "astrology"},
        {**good, "categories": ["fire alarm!"]},
        {**good, "pattern": "toancanh.>.x"},
        {**good, "pattern": "other.>"},
        {**good, "unit_code": "99999"},
        {**good, "unit_id": 999999},
        {**good, "user_ids": [999999]},
        {**good, "name": ""},
        {**good, "surprise": 1},
    ]
    for body in bad:
        r = client.post("/api/v1/notification-routes", json=body, headers=admin)
        assert 400 <= r.status_code < 500, (body, r.status_code, r.text)
        assert set(r.json()["error"]) >= {"code", "message", "message_en"}
    r = client.post("/api/v1/notification-routes", json=bad[0], headers=admin)
    assert "Số điện thoại di động" in json.dumps(r.json(), ensure_ascii=False)
    created = route(client, w, **good)
    r = client.put(f"/api/v1/notification-routes/{created['id']}", json=bad[3], headers=admin)
    assert r.status_code == 422
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(NotificationRoute)) == 1
        assert s.get(NotificationRoute, created["id"]).roles == ["leader"]
        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.entity_type == "notification_route"))
        assert list(actions) == ["notification_route.create"]


def test_routes_api_for_administrators_only(client: Any, cworld: Any, db: Any) -> None:
    w = cworld
    body = {
        "name": "Cực kỳ nghiêm trọng",
        "min_severity": "extreme",
        "channels": ["email"],
        "roles": ["operator"],
    }
    for who in ("op_a", "police_a", "leader_a", "viewer_a", "traffic_center", "citizen"):
        h = w.auth(who)
        assert client.get("/api/v1/notification-routes", headers=h).status_code == 403
        assert client.post("/api/v1/notification-routes", json=body, headers=h).status_code == 403
        assert client.get("/api/v1/notifications/deliveries", headers=h).status_code == 403
    assert client.get("/api/v1/notification-routes").status_code == 401
    admin = w.auth("admin")
    created = route(client, w, **body, extra=[{"channel": "email", "address": " Ops@Example.VN "}])
    assert created["extra"] == [{"channel": "email", "address": "ops@example.vn"}]
    rid = created["id"]
    assert client.get(f"/api/v1/notification-routes/{rid}", headers=w.auth("op_a")).status_code == 403
    assert client.get(f"/api/v1/notification-routes/{rid}", headers=admin).json()["name"] == body["name"]
    changed = {**body, "unit_code": "00664", "channels": ["email", "sms"], "active": False}
    r = client.put(f"/api/v1/notification-routes/{rid}", json=changed, headers=admin)
    assert r.status_code == 200 and r.json()["channels"] == ["email", "sms"] and not r.json()["active"]
    assert r.json()["unit_id"] == w.units["A"].id
    assert [x["id"] for x in client.get("/api/v1/notification-routes", headers=admin).json()] == [rid]
    assert client.delete(f"/api/v1/notification-routes/{rid}", headers=w.auth("op_a")).status_code == 403
    assert client.delete(f"/api/v1/notification-routes/{rid}", headers=admin).status_code == 204
    assert client.get(f"/api/v1/notification-routes/{rid}", headers=admin).status_code == 404
    assert client.put(f"/api/v1/notification-routes/{rid}", json=body, headers=admin).status_code == 404
    with db.session() as s:
        rows = s.execute(
            select(AuditEntry.action, AuditEntry.actor, AuditEntry.changes)
            .where(AuditEntry.entity_type == "notification_route")
            .order_by(AuditEntry.id)
        ).all()
    assert [(a, who) for a, who, _ in rows] == [
        ("notification_route.create", "admin"),
        ("notification_route.update", "admin"),
        ("notification_route.delete", "admin"),
    ]
    assert rows[1][2]["channels"] == [["email"], ["email", "sms"]]


def test_send_test_and_the_delivery_log(
    client: Any, cworld: Any, db: Any, gateway: Gateway, mailbox: Mailbox
) -> None:
    w = cworld
    no_phone = w.users["op_hamlet"].id
    created = route(
        client,
        w,
        unit_code="00664",
        channels=["sms", "zalo"],
        roles=["leader"],
        user_ids=[no_phone],
        extra=[{"channel": "zalo", "address": "0912000020"}],
    )
    url = f"/api/v1/notification-routes/{created['id']}/test"
    assert client.post(url, headers=w.auth("op_a")).status_code == 403
    assert client.post("/api/v1/notification-routes/999999/test", headers=w.auth("admin")).status_code == 404
    r = client.post(url, headers=w.auth("admin"))
    assert r.status_code == 200, r.text
    result = r.json()
    outcomes = {(o["channel"], o["to"], o["user"]): (o["ok"], o["status"]) for o in result["outcomes"]}
    assert outcomes == {
        ("sms", "84912000001", "leader_a"): (True, "sent"),
        ("zalo", "84912000001", "leader_a"): (True, "sent"),
        ("sms", "", "op_hamlet"): (False, outcomes[("sms", "", "op_hamlet")][1]),
        ("zalo", "", "op_hamlet"): (False, outcomes[("zalo", "", "op_hamlet")][1]),
        ("zalo", "84912000020", ""): (True, "sent"),
    }
    assert "no address" in outcomes[("sms", "", "op_hamlet")][1]
    assert (result["sent"], result["failed"]) == (3, 2)
    assert "Tin nhan thu" in gateway.at("/sms")[0]["json"]["text"]
    assert {c["json"]["phone"] for c in gateway.at("/zns")} == {"84912000001", "84912000020"}

    log = client.get("/api/v1/notifications/deliveries", params={"channel": "zalo"}, headers=w.auth("admin"))
    assert log.status_code == 200
    assert {(d["target"], d["status"], d["subject"]) for d in log.json()} == {
        ("84912000001", "sent", TEST_SUBJECT),
        ("84912000020", "sent", TEST_SUBJECT),
    }
    assert all(d["provider_id"].startswith("z") for d in log.json())
    one = client.get("/api/v1/notifications/deliveries", params={"limit": 1}, headers=w.auth("admin"))
    assert len(one.json()) == 1
    bad = client.get("/api/v1/notifications/deliveries", params={"status": "lost"}, headers=w.auth("admin"))
    assert bad.status_code == 422
    with db.session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "notification_route.test"))
        assert entry.actor == "admin" and entry.changes == {"sent": 3, "failed": 2}


# ------------------------------------------------------------------------------------------ page


def login(client: Any, who: str) -> str:
    """Sign in through the login form; returns the session's CSRF token."""
    client.cookies.clear()
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={"username": who, "password": f"{who}-password", "csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    home = client.get("/notifications")
    return re.search(r'"X-CSRF-Token": "([^"]+)"', home.text).group(1)  # type: ignore[union-attr]


def test_channels_page(client: Any, cworld: Any, db: Any, gateway: Gateway) -> None:
    w = cworld
    csrf = login(client, "admin")
    page = client.get("/notifications/channels")
    assert page.status_code == 200
    assert "Kênh thông báo" in page.text and "Chưa có tuyến thông báo nào." in page.text
    assert SMS_TOKEN not in page.text and ZALO_TOKEN not in page.text and "127.0.0.1" in page.text
    form = {
        "csrf": csrf,
        "name": "Cháy: báo lãnh đạo",
        "active": "1",
        "pattern": "toancanh.alerts.>",
        "unit_id": str(w.units["A"].id),
        "domain": "",
        "min_severity": "severe",
        "categories": "fire, flood",
        "channels": ["sms", "zalo"],
        "roles": ["leader"],
        "extra_sms": "0912 000 030\n+84912000031",
    }
    r = client.post("/notifications/channels/routes", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    with db.session() as s:
        (saved,) = s.scalars(select(NotificationRoute)).all()
        assert saved.categories == ["fire", "flood"] and saved.unit_id == w.units["A"].id
        assert saved.extra == [
            {"channel": "sms", "address": "84912000030"},
            {"channel": "sms", "address": "84912000031"},
        ]
    page = client.get(r.headers["location"])
    assert "Cháy: báo lãnh đạo" in page.text and "Gửi thử" in page.text and "Đã lưu" in page.text

    r = client.post("/notifications/channels/routes", data={**form, "extra_sms": "12345"})
    assert r.status_code == 400 and "Số điện thoại di động Việt Nam không hợp lệ" in r.text
    assert ">12345</textarea>" in r.text  # what was typed comes back in the form
    r = client.post("/notifications/channels/routes", data={**form, "roles": ["wizard"]})
    assert r.status_code == 400 and "Vai trò không hợp lệ" in r.text
    r = client.post("/notifications/channels/routes", data={**form, "csrf": "forged"})
    assert r.status_code == 403
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(NotificationRoute)) == 1

    r = client.post(
        f"/notifications/channels/routes/{saved.id}/test", data={"csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303 and "tested=" in r.headers["location"]
    assert {c["json"]["to"] for c in gateway.at("/sms")} == {"84912000001", "84912000030", "84912000031"}
    page = client.get(r.headers["location"])
    assert "Đã gửi thử: 4 thành công, 0 không gửi được" in page.text and TEST_SUBJECT in page.text

    r = client.post(
        "/notifications/channels/webhooks",
        data={"csrf": csrf, "name": "Hệ thống PCCC", "url": "https://pccc.example.vn/hook", "unit_id": ""},
    )
    assert r.status_code == 201 and 'id="nc-new-secret"' in r.text
    assert 'href="/notifications/channels"' in client.get("/alerts/console").text

    login(client, "op_a")
    assert client.get("/notifications/channels").status_code == 403
    assert 'href="/notifications/channels"' not in client.get("/alerts/console").text
    r = client.post(f"/notifications/channels/routes/{saved.id}/delete", data={"csrf": csrf})
    assert r.status_code == 403
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(NotificationRoute)) == 1
