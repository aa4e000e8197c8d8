"""CAP out: every document the IOC writes validates against the OASIS CAP 1.2 schema (an Alert in Vietnamese and
English, an Update and a Cancel with references, a circle, several polygons), the Atom feed parses and its links
resolve, what the public sees (published, not long expired, no drafts), who may publish (permission
warnings.publish over the unit), bad input refused with 400 and nothing stored, and the IOC's own feed read
back by the CAP connector.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import func, select

from tests.conftest import square
from toancanh.connectors.cap import parse
from toancanh.connectors.cap.const import VIETNAM_TZ
from toancanh.connectors.cap.coordinator import CapCoordinator, database_units, record_via_app
from toancanh.core.audit import AuditEntry
from toancanh.core.db import utcnow
from toancanh.core.outbox import OutboxEvent
from toancanh.modules.alerts import cap_out
from toancanh.modules.alerts.models import Event, PublicWarning

XSD = Path(__file__).resolve().parents[2] / "data" / "cap" / "CAP-v1.2.xsd"
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2", "atom": "http://www.w3.org/2005/Atom"}
BASE = "/api/v1/alerts/warnings"
SENDER = "ioc@toancanh.local"
CAP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00$")


@pytest.fixture(scope="module")
def xsd() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def valid(schema: etree.XMLSchema, data: bytes) -> Any:
    doc = etree.fromstring(data)
    assert schema.validate(doc), schema.error_log
    return doc


def warning(world: Any, **kw: Any) -> dict[str, Any]:
    return {
        "unit_id": world.units["A"].id,
        "category": "Met",
        "event": "Bão",
        "urgency": "Expected",
        "severity": "Severe",
        "certainty": "Likely",
        "headline": "Cảnh báo bão số 3: gió mạnh cấp 10",
        "area_desc": "Xã Đại Thanh",
        "area": square(105.805, 20.905, 0.01),
        **kw,
    }


def publish(client: TestClient, world: Any, who: str = "op_a", **kw: Any) -> Any:
    return client.post(BASE, json=warning(world, **kw), headers=world.auth(who))


def created(client: TestClient, world: Any, who: str = "op_a", **kw: Any) -> dict[str, Any]:
    r = publish(client, world, who, **kw)
    assert r.status_code == 201, r.text
    return dict(r.json())


def fetch_cap(client: TestClient, url: str) -> bytes:
    r = client.get(url.removeprefix("http://testserver"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/cap+xml")
    return bytes(r.content)


def count(db: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(PublicWarning)) or 0)


# ------------------------------------------------------------------------------------------- documents


def test_an_alert_in_vietnamese_and_english_validates(client: TestClient, world: Any, xsd: Any) -> None:
    now = utcnow()
    w = created(
        client,
        world,
        headline_en="Storm no. 3 warning: winds force 10",
        description="Bão số 3 đang tiến vào đất liền.",
        description_en="Storm no. 3 is moving inland.",
        instruction="Ở trong nhà.",
        effective_at=now.isoformat(),
        expires_at=(now + timedelta(hours=36)).isoformat(),
    )
    year = now.astimezone(VIETNAM_TZ).year
    assert w["identifier"] == f"{SENDER}-00664-{year}-1"
    assert w["cap_url"] == f"http://testserver/cap/warnings/{SENDER}-00664-{year}-1.xml"
    doc = valid(xsd, fetch_cap(client, w["cap_url"]))
    assert doc.findtext("cap:identifier", namespaces=NS) == w["identifier"]
    assert doc.findtext("cap:sender", namespaces=NS) == SENDER
    assert doc.findtext("cap:scope", namespaces=NS) == "Public"
    for name in ("sent",):
        assert CAP_TIME.match(doc.findtext(f"cap:{name}", namespaces=NS))
    infos = doc.findall("cap:info", NS)
    assert [i.findtext("cap:language", namespaces=NS) for i in infos] == ["vi-VN", "en-US"]
    vi, en = infos
    assert vi.findtext("cap:headline", namespaces=NS) == "Cảnh báo bão số 3: gió mạnh cấp 10"
    assert en.findtext("cap:headline", namespaces=NS) == "Storm no. 3 warning: winds force 10"
    assert en.findtext("cap:description", namespaces=NS) == "Storm no. 3 is moving inland."
    assert en.findtext("cap:instruction", namespaces=NS) == "Ở trong nhà."  # no English: the Vietnamese
    assert "Xã Đại Thanh" in vi.findtext("cap:senderName", namespaces=NS)
    for name in ("effective", "expires"):
        assert CAP_TIME.match(vi.findtext(f"cap:{name}", namespaces=NS))
    polygon = vi.findtext("cap:area/cap:polygon", namespaces=NS).split()
    assert polygon[0] == polygon[-1] == "20.905,105.805" and len(polygon) == 5  # lat,lon and closed
    assert vi.findtext("cap:area/cap:geocode/cap:valueName", namespaces=NS) == "VN-ADMIN"
    assert vi.findtext("cap:area/cap:geocode/cap:value", namespaces=NS) == "00664"
    assert created(client, world)["identifier"] == f"{SENDER}-00664-{year}-2"


def test_an_update_and_a_cancel_refer_to_the_earlier_warning(
    client: TestClient, world: Any, xsd: Any
) -> None:
    first = created(client, world)
    sent = cap_out.cap_time(datetime.fromisoformat(first["sent_at"]))
    update = created(client, world, msg_type="Update", references=[first["identifier"]], severity="Extreme")
    assert update["references"] == f"{SENDER},{first['identifier']},{sent}"
    doc = valid(xsd, fetch_cap(client, update["cap_url"]))
    assert doc.findtext("cap:msgType", namespaces=NS) == "Update"
    assert doc.findtext("cap:references", namespaces=NS) == update["references"]
    cancel = created(
        client,
        world,
        msg_type="Cancel",
        references=[first["identifier"], update["identifier"]],
        urgency="Past",
    )
    doc = valid(xsd, fetch_cap(client, cancel["cap_url"]))
    assert doc.findtext("cap:msgType", namespaces=NS) == "Cancel"
    assert len(doc.findtext("cap:references", namespaces=NS).split()) == 2


def test_a_circle_area_and_other_statuses_validate(client: TestClient, world: Any, xsd: Any) -> None:
    w = created(
        client,
        world,
        area=None,
        circle={"lat": 20.92, "lon": 105.82, "radius_km": 1.5},
        category="Fire",
        event="Cháy rừng",
        status="Exercise",
    )
    doc = valid(xsd, fetch_cap(client, w["cap_url"]))
    assert doc.findtext("cap:status", namespaces=NS) == "Exercise"
    [info] = doc.findall("cap:info", NS)  # no English headline: one info
    assert info.findtext("cap:area/cap:circle", namespaces=NS) == "20.92,105.82 1.5"
    assert info.find("cap:area/cap:polygon", NS) is None
    whole = created(client, world, area=None, area_desc="Toàn xã")
    doc = valid(xsd, fetch_cap(client, whole["cap_url"]))
    assert doc.find("cap:info/cap:area/cap:polygon", NS) is None
    assert doc.findtext("cap:info/cap:area/cap:geocode/cap:value", namespaces=NS) == "00664"


def test_warning_to_cap_writes_several_polygons_and_only_xml_characters(xsd: Any) -> None:
    w = PublicWarning(
        identifier="x@y-01-2026-1",
        unit_id=1,
        status="Actual",
        msg_type="Alert",
        references="",
        category="Env",
        event="Ô nhiễm\x00 không khí",
        urgency="Immediate",
        severity="Moderate",
        certainty="Observed",
        headline="AQI > 200 & tăng",
        headline_en="AQI above 200",
        description="<b>không phải thẻ</b>\x07",
        description_en="",
        instruction="",
        instruction_en="",
        area_desc="Hai khu vực",
        area={
            "type": "MultiPolygon",
            "coordinates": [
                [[[105.80, 20.90], [105.81, 20.90], [105.81, 20.91], [105.80, 20.90]]],
                [[[105.82, 20.92], [105.83, 20.92], [105.83, 20.93], [105.82, 20.92]]],
            ],
        },
        sent_at=datetime(2026, 3, 1, 1, 2, 3, 456789),  # naive: taken as UTC
        expires_at=datetime(2026, 3, 1, 23, 0, tzinfo=UTC),
        updated_at=datetime(2026, 3, 1, 1, 2, 3, tzinfo=UTC),
    )
    doc = valid(xsd, cap_out.warning_to_cap(w, "x@y", "Thành phố Hà Nội", "01"))
    assert doc.findtext("cap:sent", namespaces=NS) == "2026-03-01T08:02:03+07:00"
    assert doc.findtext("cap:info/cap:expires", namespaces=NS) == "2026-03-02T06:00:00+07:00"
    assert len(doc.findall("cap:info", NS)) == 2
    assert len(doc.findall("cap:info[1]/cap:area/cap:polygon", NS)) == 2
    assert doc.findtext("cap:info/cap:event", namespaces=NS) == "Ô nhiễm không khí"
    assert doc.findtext("cap:info/cap:description", namespaces=NS) == "<b>không phải thẻ</b>"
    feed = etree.fromstring(cap_out.warnings_atom([w], "https://ioc.example.vn/", "x@y"))
    assert (
        feed.findtext("atom:entry/atom:id", namespaces=NS)
        == "https://ioc.example.vn/cap/warnings/x@y-01-2026-1.xml"
    )


# ------------------------------------------------------------------------------------------- the public feed


def test_the_atom_feed_parses_and_its_links_resolve(client: TestClient, world: Any, xsd: Any) -> None:
    one = created(client, world, headline_en="Storm")
    two = created(client, world, area=None, circle={"lat": 20.92, "lon": 105.82, "radius_km": 1})
    r = client.get("/cap/warnings.atom")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    feed = etree.fromstring(r.content)
    assert feed.findtext("atom:id", namespaces=NS) == "http://testserver/cap/warnings.atom"
    assert feed.findtext("atom:title", namespaces=NS) and feed.findtext(
        "atom:author/atom:name", namespaces=NS
    )
    assert CAP_TIME.match(feed.findtext("atom:updated", namespaces=NS))
    entries = feed.findall("atom:entry", NS)
    assert [e.findtext("atom:title", namespaces=NS) for e in entries] == [two["headline"], one["headline"]]
    for e in entries:
        assert e.findtext("atom:id", namespaces=NS) and e.findtext("atom:updated", namespaces=NS)
        assert e.findtext("atom:summary", namespaces=NS)
        link = e.find("atom:link", NS)
        assert link.get("rel") == "alternate" and link.get("type") == "application/cap+xml"
    links = parse.read_feed(r.content).links  # what the CAP connector of another IOC reads
    assert [link.href for link in links] == [two["cap_url"], one["cap_url"]]
    for link in links:
        data = fetch_cap(client, link.href)
        valid(xsd, data)
        alert = parse.parse_alert_bytes(data)
        [ev] = parse.to_events(alert, parse.UnitRefs(None, {"00664": world.units["A"].id}))
        assert ev.unit_id == world.units["A"].id and ev.category == "weather.bao"


def test_what_the_public_sees(client: TestClient, world: Any, db: Any) -> None:
    live = created(client, world)
    hidden = created(client, world, published=False)
    draft = created(client, world, status="Draft")
    now = utcnow()
    with db.session() as s:
        for identifier, expires in (("old", now - timedelta(days=2)), ("recent", now - timedelta(hours=1))):
            s.add(
                PublicWarning(
                    identifier=identifier,
                    unit_id=world.units["A"].id,
                    category="Met",
                    event="Mưa",
                    urgency="Past",
                    severity="Minor",
                    certainty="Observed",
                    headline=f"Tin {identifier}",
                    area_desc="Xã",
                    area={},
                    sent_at=now - timedelta(days=3),
                    expires_at=expires,
                )
            )
    feed = parse.read_feed(client.get("/cap/warnings.atom").content)
    shown = {link.href.rsplit("/", 1)[1] for link in feed.links}
    assert shown == {f"{live['identifier']}.xml", "recent.xml"}
    for w in (hidden, draft):
        assert client.get(w["cap_url"].removeprefix("http://testserver")).status_code == 404
    r = client.get("/cap/warnings/nobody-00000-2020-1.xml")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert (
        client.get("/cap/warnings/old.xml").status_code == 200
    )  # asked by name, an expired one still answers


def test_a_taken_identifier_is_retried(
    client: TestClient, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = created(client, world)
    real = cap_out._identifier
    taken = iter([first["identifier"]])  # as if another publisher had just taken the number read
    monkeypatch.setattr(cap_out, "_identifier", lambda *args: next(taken, None) or real(*args))
    second = created(client, world)
    assert second["identifier"].endswith("-2") and second["identifier"] != first["identifier"]


def test_publishing_is_audited_and_announced(client: TestClient, world: Any, db: Any) -> None:
    w = created(client, world)
    with db.session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "alerts.warning.publish"))
        assert entry is not None and entry.actor == "op_a" and entry.entity_id == str(w["id"])
        out = s.scalar(select(OutboxEvent).where(OutboxEvent.subject == cap_out.PUBLISHED))
        assert out is not None and out.data["identifier"] == w["identifier"] and out.domain == "environment"


# ------------------------------------------------------------------------------------------- who may publish


def test_who_may_publish(client: TestClient, world: Any, db: Any) -> None:
    assert publish(client, world, "op_a").status_code == 201
    assert publish(client, world, "leader_a").status_code == 201
    assert publish(client, world, "op_hamlet", unit_id=world.units["H1"].id).status_code == 201
    for who in ("op_b", "viewer_a", "police_a", "citizen", "op_hamlet"):
        r = publish(client, world, who)
        assert r.status_code == 403, (who, r.text)
    assert client.post(BASE, json=warning(world)).status_code == 401
    assert publish(client, world, "op_a", unit_id=world.units["B"].id, area=None).status_code == 403
    assert publish(client, world, "op_a", unit_id=999_999).status_code == 404
    # a sector center publishes in its domain only (Transport -> traffic)
    assert publish(client, world, "traffic_center", category="Transport").status_code == 201
    assert publish(client, world, "traffic_center").status_code == 403
    assert count(db) == 4


def test_the_list_is_scoped(client: TestClient, world: Any) -> None:
    a = created(client, world)
    b = created(client, world, "op_b", unit_id=world.units["B"].id, area=square(105.845, 21.025, 0.005))
    assert b["identifier"].endswith(f"-00070-{utcnow().astimezone(VIETNAM_TZ).year}-1")

    def seen(who: str) -> set[str]:
        r = client.get(BASE, headers=world.auth(who))
        assert r.status_code == 200, r.text
        return {w["identifier"] for w in r.json()}

    assert seen("op_a") == seen("viewer_a") == {a["identifier"]}
    assert seen("op_b") == {b["identifier"]}
    assert seen("admin") == {a["identifier"], b["identifier"]}
    assert client.get(BASE).status_code == 401


# ------------------------------------------------------------------------------------------- bad input

BOWTIE = {
    "type": "Polygon",
    "coordinates": [[[105.81, 20.91], [105.83, 20.93], [105.83, 20.91], [105.81, 20.93], [105.81, 20.91]]],
}
HOLE = {
    "type": "Polygon",
    "coordinates": [
        square(105.805, 20.905, 0.02)["coordinates"][0],
        square(105.81, 20.91, 0.005)["coordinates"][0],
    ],
}
MANY = {  # a ring of 1,001 vertices
    "type": "Polygon",
    "coordinates": [
        [
            [105.82 + 0.01 * math.cos(k * math.tau / 1001), 20.92 + 0.01 * math.sin(k * math.tau / 1001)]
            for k in range(1001)
        ]
        + [[105.83, 20.92]]
    ],
}
ELSEWHERE = square(106.70, 10.77, 0.01)  # Ho Chi Minh City, far from commune A


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"urgency": "Soon"}, "Invalid urgency"),
        ({"severity": "severe"}, "Invalid severity"),  # CAP values are capitalised
        ({"certainty": "Sure"}, "Invalid certainty"),
        ({"category": "Weather"}, "Invalid category"),
        ({"status": "Real"}, "Invalid status"),
        ({"msg_type": "Ack"}, "Invalid msg_type"),
        ({"msg_type": "Update"}, "must refer to at least one"),
        ({"msg_type": "Cancel", "references": ["nobody-1"]}, "No warning with identifier nobody-1"),
        ({"references": ["x"]}, "Only an Update or a Cancel"),
        ({"area": BOWTIE}, "Invalid area"),
        ({"area": HOLE}, "cannot have holes"),
        ({"area": MANY}, "at most 1000 vertices"),
        ({"area": ELSEWHERE}, "outside the unit"),
        (
            {
                "area": {
                    "type": "Polygon",
                    "coordinates": [[[20.91, 105.81], [20.92, 105.81], [20.92, 105.82], [20.91, 105.81]]],
                }
            },
            "latitude outside",
        ),
        ({"area": {"type": "Point", "coordinates": [105.81, 20.91]}}, "Polygon or MultiPolygon"),
        ({"area": {"type": "Polygon", "coordinates": [[[105.81, 20.91], [105.82, 20.91]]]}}, "Invalid area"),
        ({"circle": {"lat": 20.92, "lon": 105.82, "radius_km": 1}}, "not both"),
        ({"area": None, "circle": {"lat": 10.0, "lon": 106.7, "radius_km": 1}}, "outside the unit"),
        ({"expires_at": "2020-01-01T00:00:00+07:00"}, "expires must be after sent"),
        (
            {"effective_at": "2099-01-02T00:00:00+07:00", "expires_at": "2099-01-01T00:00:00+07:00"},
            "expires must be after effective",
        ),
        ({"headline": "Cảnh báo\x0b bão"}, "control characters"),
        ({"incident_id": 424242}, "Not found"),
    ],
)
def test_bad_input_is_refused_and_nothing_stored(
    client: TestClient, world: Any, db: Any, change: dict[str, Any], message: str
) -> None:
    r = publish(client, world, **change)
    assert r.status_code in (400, 404), r.text
    assert message in r.json()["error"]["message_en"], r.json()
    assert r.json()["error"]["message"]  # and in Vietnamese
    assert count(db) == 0


def test_a_thousand_vertices_are_enough(client: TestClient, world: Any, xsd: Any) -> None:
    ring = [
        [105.82 + 0.01 * math.cos(k * math.tau / 1000), 20.92 + 0.01 * math.sin(k * math.tau / 1000)]
        for k in range(1000)
    ]
    w = created(client, world, area={"type": "Polygon", "coordinates": [[*ring, ring[0]]]})
    doc = valid(xsd, fetch_cap(client, w["cap_url"]))
    assert len(doc.findtext("cap:info/cap:area/cap:polygon", namespaces=NS).split()) == 1001


def test_schema_errors_are_422(client: TestClient, world: Any, db: Any) -> None:
    for change in (
        {"colour": "red"},
        {"headline": ""},
        {"expires_at": "2099-01-01T00:00:00"},
        {"unit_id": 2**70},
    ):
        r = publish(client, world, **change)
        assert r.status_code == 422, (change, r.text)
    assert count(db) == 0


# ------------------------------------------------------------------------------------------- round trip


async def test_the_connector_reads_the_ioc_s_own_feed(client: TestClient, world: Any, db: Any) -> None:
    w = created(client, world, headline_en="Storm warning", description="Gió mạnh")
    app = client.app
    coord = CapCoordinator(
        ["http://testserver/cap/warnings.atom"],
        record=lambda items: record_via_app(app, items),
        units=database_units(db),
        transport=httpx.ASGITransport(app=app),
    )
    await coord.run_once()
    assert coord.available and coord.counters["recorded"] == 1, coord.status()
    with db.session() as s:
        [ev] = s.scalars(select(Event))
        assert ev.source_ref == f"{SENDER}|{w['identifier']}|0"
        assert ev.unit_id == world.units["A"].id  # the VN-ADMIN geocode names the unit
        assert (ev.title, ev.title_en, ev.category) == (w["headline"], "Storm warning", "weather.bao")
        assert ev.payload["msgType"] == "Alert" and ev.payload["area"]["type"] == "Polygon"
    await coord.run_once()
    assert coord.counters["recorded"] == 1
