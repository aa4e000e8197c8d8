"""CAP in: the samples read and mapped field by field, feeds polled over HTTP (a local server) and from files,
recorded once however often polled, hostile and broken documents refused and logged while the good alerts of
the same feed go in, the connector unavailable when every feed fails and available again after, the connector
started by the app, and alerts pushed to POST /api/v1/alerts/cap.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.conftest import build_world
from toancanh.connectors.cap import connector, parse
from toancanh.connectors.cap.const import MAX_DOCUMENT_BYTES
from toancanh.connectors.cap.coordinator import (
    CapCoordinator,
    FeedError,
    database_recorder,
    database_units,
    redact,
)
from toancanh.core.db import utcnow
from toancanh.modules.alerts.events import CATEGORY
from toancanh.modules.alerts.models import Event

DATA = Path(__file__).resolve().parents[2] / "data" / "cap"
STORM_REF = "canhbao@nchmf.gov.vn|NCHMF-2025-BAO10-001|0"
FLOOD_REF = "canhbao@nchmf.gov.vn|NCHMF-2025-LQ-0042|0"
UNITS = parse.UnitRefs(root_id=1, by_code={})


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


def fresh(data: bytes) -> bytes:
    """The sample with every date moved to yesterday: recent enough for record() (which refuses > 1 year)."""
    day = (utcnow() - timedelta(days=1)).date().isoformat().encode()
    return re.sub(rb"\d{4}-\d{2}-\d{2}T", day + b"T", data)


def events_in(db: Any) -> list[Event]:
    with db.session() as s:
        return list(s.scalars(select(Event).order_by(Event.id)))


async def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


# ------------------------------------------------------------------------------------------- parsing


def test_storm_maps_to_one_event_with_its_english_title() -> None:
    alert = parse.parse_alert_bytes(sample("storm_vi_en.xml"))
    assert (alert.identifier, alert.sender, alert.status, alert.msg_type, alert.scope) == (
        "NCHMF-2025-BAO10-001",
        "canhbao@nchmf.gov.vn",
        "Actual",
        "Alert",
        "Public",
    )
    [ev] = parse.to_events(alert, UNITS)
    assert ev.source == "cap" and ev.source_ref == STORM_REF
    assert ev.category == "weather.bao" and ev.domain == "environment"
    assert (ev.severity, ev.urgency, ev.certainty) == ("severe", "expected", "likely")
    assert ev.title.startswith("Tin bão khẩn cấp: bão số 10")
    assert ev.title_en.startswith("Emergency typhoon bulletin")
    assert "18,0 độ Vĩ Bắc" in ev.description and "sơ tán khỏi khu vực ven sông" in ev.description
    assert ev.at is not None and ev.at.isoformat() == "2025-09-28T09:00:00+07:00"
    assert ev.lat == pytest.approx(20.91) and ev.lon == pytest.approx(105.81)
    assert ev.unit_id is None  # located from the point by record()
    p = ev.payload
    assert p["identifier"] == "NCHMF-2025-BAO10-001" and p["sender"] == "canhbao@nchmf.gov.vn"
    assert p["sent"] == "2025-09-28T09:00:00+07:00" and p["expires"] == "2025-09-29T18:00:00+07:00"
    assert (p["msgType"], p["status"], p["scope"], p["event"]) == ("Alert", "Actual", "Public", "Bão")
    assert p["areaDesc"] == "Thôn Một, xã Đại Thanh" and p["web"] == "https://nchmf.gov.vn/"
    assert p["references"] == "" and p["responseType"] == ["Prepare"]
    assert p["area"]["type"] == "Polygon"
    assert p["area"]["coordinates"][0][0] == [105.802, 20.902]  # GeoJSON: [lon, lat]
    assert CATEGORY.fullmatch(ev.category)


def test_geo_circle_vietnamese_only() -> None:
    [ev] = parse.to_events(parse.parse_alert_bytes(sample("flood_circle.xml")), UNITS)
    assert ev.category == "cap.geo.lu_quet_va_sat_lo_dat"  # "đ" -> "d", diacritics stripped
    assert ev.domain == "environment" and ev.severity == "extreme" and ev.urgency == "immediate"
    assert (ev.lat, ev.lon) == (20.91, 105.83)
    assert ev.title_en == ""
    assert ev.payload["circles"] == [{"lat": 20.91, "lon": 105.83, "radius_km": 2.5}]
    assert ev.payload["area"] is None and ev.payload["category"] == ["Geo", "Met"]


def test_an_alert_without_geometry_goes_to_the_top_level_unit() -> None:
    [ev] = parse.to_events(parse.parse_alert_bytes(sample("province_wide.xml")), parse.UnitRefs(7))
    assert ev.unit_id == 7 and ev.lat is None and ev.lon is None
    assert ev.category == "weather.ret_dam_ret_hai" and ev.payload["areaDesc"] == "Toàn tỉnh"


def test_a_geocoded_unit_is_used_directly() -> None:
    xml = sample("storm_vi_en.xml").replace(
        b"<areaDesc>Th\xc3\xb4n M\xe1\xbb\x99t, x\xc3\xa3 \xc4\x90\xe1\xba\xa1i Thanh</areaDesc>",
        b"<areaDesc>A</areaDesc><geocode><valueName>VN-ADMIN</valueName><value>00664</value></geocode>",
    )
    alert = parse.parse_alert_bytes(xml)
    assert parse.unit_codes([alert]) == {"00664"}
    [ev] = parse.to_events(alert, parse.UnitRefs(1, {"00664": 42}))
    assert ev.unit_id == 42 and ev.lat == pytest.approx(20.91)
    [unknown] = parse.to_events(alert, parse.UnitRefs(1, {}))
    assert unknown.unit_id is None  # an unknown code: located from the polygon instead


def test_cancel_keeps_its_references() -> None:
    [ev] = parse.to_events(parse.parse_alert_bytes(sample("cancel.xml")), UNITS)
    assert ev.payload["msgType"] == "Cancel"
    assert ev.payload["references"] == "canhbao@nchmf.gov.vn,NCHMF-2025-BAO10-001,2025-09-28T09:00:00+07:00"
    assert ev.source_ref == "canhbao@nchmf.gov.vn|NCHMF-2025-BAO10-002|0"
    assert ev.category == "weather.bao" and ev.urgency == "past"


def _alert(infos: str, ns: str = "urn:oasis:names:tc:emergency:cap:1.2") -> bytes:
    return f"""<alert xmlns="{ns}"><identifier>X-1</identifier><sender>s@example.org</sender>
    <sent>2025-09-28T09:00:00+07:00</sent><status>actual</status><msgType>Alert</msgType>
    <scope>Public</scope>{infos}</alert>""".encode()


def _info(lang: str | None, event: str, headline: str = "") -> str:
    language = f"<language>{lang}</language>" if lang else ""
    return f"""<info>{language}<category>Safety</category><event>{event}</event><urgency>Immediate</urgency>
    <severity>Minor</severity><certainty>Observed</certainty><headline>{headline}</headline></info>"""


def test_languages_pair_vietnamese_events_with_english_translations() -> None:
    xml = _alert(_info("en-US", "Fire", "Fire A") + _info("vi-VN", "Cháy", "Cháy A") + _info("fr-FR", "Feu"))
    xml = xml.replace(
        b"</alert>",
        (_info("vi-VN", "Ngập", "Ngập B") + _info("en-GB", "Flood", "Flood B") + "</alert>").encode(),
    )
    evs = parse.to_events(parse.parse_alert_bytes(xml), UNITS)
    assert [(e.title, e.title_en, e.source_ref) for e in evs] == [
        ("Cháy A", "Fire A", "s@example.org|X-1|1"),
        ("Ngập B", "Flood B", "s@example.org|X-1|3"),
    ]
    assert [e.category for e in evs] == ["cap.safety.chay", "cap.safety.ngap"]
    assert all(e.domain == "security" and e.unit_id == 1 for e in evs)


def test_english_only_and_default_language() -> None:
    [ev] = parse.to_events(parse.parse_alert_bytes(_alert(_info(None, "Fire", "Fire here"))), UNITS)
    assert ev.title == ev.title_en == "Fire here"  # CAP's default language is en-US
    alert = parse.parse_alert_bytes(_alert(_info("en-US", "Fire") + _info("en-US", "Smoke")))
    assert [e.title for e in parse.to_events(alert, UNITS)] == ["Fire", "Smoke"]
    assert alert.status == "Actual"  # vocabularies compared without case


def test_cap_1_1_is_read_and_long_refs_are_hashed() -> None:
    alert = parse.parse_alert_bytes(_alert(_info("vi-VN", "Cháy"), ns="urn:oasis:names:tc:emergency:cap:1.1"))
    assert alert.version == "1.1"
    ref = parse.source_ref("s" * 150, "i" * 100, 0)
    assert ref.startswith("sha256:") and len(ref) <= 200
    assert parse.source_ref("s", "i", 2) == "s|i|2"


def test_feeds_read_links_and_embedded_alerts() -> None:
    atom = parse.read_feed(sample("atom_two.xml"))
    assert atom.kind == "atom" and not atom.rejected
    assert [a.identifier for a in atom.alerts] == ["NCHMF-2025-LQ-0042"]
    assert [link.href for link in atom.links] == ["storm_vi_en.xml"]  # the CAP link, not the HTML one
    rss = parse.read_feed(sample("rss_two.xml"))
    assert rss.kind == "rss" and [link.href for link in rss.links] == ["province_wide.xml", "cancel.xml"]
    single = parse.read_feed(sample("storm_vi_en.xml"))
    assert single.kind == "alert" and single.alerts[0].identifier == "NCHMF-2025-BAO10-001"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("malformed.xml", "Malformed XML"),
        ("xxe.xml", "declares a DTD"),
        ("billion_laughs.xml", "declares a DTD"),
        ("wrong_namespace.xml", "Not a CAP 1.2 alert"),
        ("missing_identifier.xml", "Missing <identifier>"),
        ("missing_urgency.xml", "Missing <urgency>"),
    ],
)
def test_broken_and_hostile_documents_are_refused(name: str, reason: str) -> None:
    with pytest.raises(parse.CapError) as exc:
        parse.parse_alert_bytes(sample(name))
    assert reason in exc.value.en and exc.value.vi


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ((b"<severity>Minor", b"<severity>Terrible"), "Invalid <severity>"),
        ((b"+07:00</sent>", b"</sent>"), "time zone"),
        ((b"<category>Safety</category>", b""), "Missing <category>"),
        (
            (b"<headline>", b"<area><areaDesc>a</areaDesc><polygon>1,2 3,4</polygon></area><headline>"),
            "4 coordinate",
        ),
        (
            (
                b"<headline>",
                b"<area><areaDesc>a</areaDesc><polygon>91,2 3,4 5,6 91,2</polygon></area><headline>",
            ),
            "out of range",
        ),
        (
            (b"<headline>", b"<area><areaDesc>a</areaDesc><circle>10,20</circle></area><headline>"),
            "Invalid <circle>",
        ),
    ],
)
def test_invalid_values_refuse_the_alert(change: tuple[bytes, bytes], reason: str) -> None:
    with pytest.raises(parse.CapError) as exc:
        parse.parse_alert_bytes(_alert(_info("vi-VN", "Cháy")).replace(*change))
    assert reason in exc.value.en


def test_size_limit_and_empty_documents() -> None:
    with pytest.raises(parse.CapError, match="larger than 2 MB"):
        parse.load_xml(b" " * (MAX_DOCUMENT_BYTES + 1))
    with pytest.raises(parse.CapError, match="empty"):
        parse.load_xml(b"  ")


def test_tests_exercises_and_acks_are_ignored_unless_asked() -> None:
    test_alert = parse.parse_alert_bytes(sample("test_status.xml"))
    why = parse.ignored(test_alert)
    assert why is not None and "Test" in why.en
    assert parse.ignored(test_alert, ("Actual", "Test")) is None
    ack = parse.parse_alert_bytes(_alert(_info("vi-VN", "Cháy")).replace(b">Alert<", b">Ack<"))
    assert parse.ignored(ack) is not None


@given(st.text(max_size=300), st.sampled_from(["Met", "Geo", "Transport", "CBRNE", "Other"]))
def test_any_event_name_gives_a_valid_category(event: str, cap_category: str) -> None:
    category = parse.category_for(cap_category, event)
    assert len(category) <= 64 and CATEGORY.fullmatch(category), category


def test_slugify_vietnamese() -> None:
    assert parse.slugify("Đường ngập sâu > 0,5 m") == "duong_ngap_sau_0_5_m"
    assert parse.slugify("Ô nhiễm không khí (PM2.5)") == "o_nhiem_khong_khi_pm2_5"
    assert parse.slugify("台风") == "event"


def test_redact_hides_credentials_and_keys() -> None:
    assert redact("https://user:secret@example.org:8443/cap/feed.atom?key=abc") == (
        "https://example.org:8443/cap/feed.atom?…"
    )
    assert redact("/srv/cap/feed.xml") == "/srv/cap/feed.xml"


# ------------------------------------------------------------------------------------------- polling


class FeedServer:
    """A tiny HTTP server on 127.0.0.1 serving `files` under /cap/, counting hits; `fail` answers 503."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.hits: Counter[str] = Counter()
        self.fail = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.removeprefix("/cap/")
                server.hits[name] += 1
                body = server.files.get(name)
                status = 503 if server.fail else 404 if body is None else 200
                payload = body if status == 200 and body is not None else b"no"
                self.send_response(status)
                self.send_header("Content-Type", "application/cap+xml")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/cap/{name}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    srv = FeedServer({p.name: fresh(p.read_bytes()) for p in DATA.glob("*.xml")})
    yield srv
    srv.close()


@pytest.fixture
def units_world(db: Any) -> Any:
    return build_world(db)


def make(db: Any, feeds: list[str], **kw: Any) -> CapCoordinator:
    return CapCoordinator(
        feeds, record=database_recorder(db, SimpleNamespace()), units=database_units(db), **kw
    )


async def test_a_feed_polled_twice_records_each_alert_once(
    db: Any, units_world: Any, server: FeedServer
) -> None:
    coord = make(db, [server.url("atom_two.xml")])
    await coord.run_once()
    assert coord.available and coord.counters["recorded"] == 2
    evs = events_in(db)
    by_ref = {e.source_ref: e for e in evs}
    assert set(by_ref) == {STORM_REF, FLOOD_REF}
    storm, flood = by_ref[STORM_REF], by_ref[FLOOD_REF]
    assert storm.unit_id == units_world.units["H1"].id and flood.unit_id == units_world.units["H2"].id
    assert storm.title_en.startswith("Emergency typhoon") and storm.category == "weather.bao"
    assert storm.domain == "environment" and storm.source == "cap"

    await coord.run_once()  # the linked alert is remembered: not fetched again
    assert server.hits["storm_vi_en.xml"] == 1 and server.hits["atom_two.xml"] == 2
    assert coord.counters["recorded"] == 2 and coord.counters["duplicates"] == 1  # the embedded one

    again = make(db, [server.url("atom_two.xml")])  # a restarted worker: fetches again, records nothing
    await again.run_once()
    assert again.counters.get("recorded", 0) == 0 and again.counters["duplicates"] == 2
    assert len(events_in(db)) == 2


async def test_bad_documents_are_logged_and_the_good_ones_still_go_in(
    db: Any, units_world: Any, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="toancanh.connectors.cap")
    coord = make(db, [server.url("atom_mixed.xml")])
    await coord.run_once()
    assert coord.available
    assert {e.source_ref for e in events_in(db)} == {STORM_REF, FLOOD_REF}
    # malformed, xxe, billion laughs, wrong namespace, no identifier, no urgency, 404, an empty entry, no <sent>
    assert coord.counters["rejected"] == 9 and coord.counters["ignored"] == 1
    assert coord.counters["fetch_errors"] == 1
    text = caplog.text
    for reason in (
        "malformed.xml rejected: Malformed XML",
        "xxe.xml rejected: The document declares a DTD",
        "billion_laughs.xml rejected: The document declares a DTD",
        "wrong_namespace.xml rejected: Not a CAP 1.2 alert",
        "missing_identifier.xml rejected: Missing <identifier>",
        "missing_urgency.xml rejected: Missing <urgency>",
        "gone.xml rejected: Not fetched: HTTP 404",
        "e-nothing rejected: The entry neither holds nor links a CAP alert",
        "e-nosent rejected: Missing <sent>",
        "NCHMF-TEST-0001 skipped: Alert with status Test",
    ):
        assert reason in text, reason
    assert "root:" not in " ".join(e.description + e.title for e in events_in(db))  # nothing of /etc/passwd

    server.files["gone.xml"] = server.files["cancel.xml"]  # what failed to download is tried again
    await coord.run_once()
    assert server.hits["gone.xml"] == 2 and server.hits["malformed.xml"] == 1
    warned = [r for r in caplog.records if r.levelno == logging.WARNING and "e-nothing rejected" in r.message]
    assert len(warned) == 1  # a rejection that comes back every poll is warned about once
    assert "canhbao@nchmf.gov.vn|NCHMF-2025-BAO10-002|0" in {e.source_ref for e in events_in(db)}


async def test_file_feeds_and_their_relative_links(db: Any, units_world: Any, tmp_path: Path) -> None:
    for p in DATA.glob("*.xml"):
        (tmp_path / p.name).write_bytes(fresh(p.read_bytes()))
    coord = make(db, [str(tmp_path / "atom_two.xml"), f"file://{tmp_path / 'rss_two.xml'}"])
    await coord.run_once()
    assert coord.available and coord.counters["recorded"] == 4
    refs = {e.source_ref: e for e in events_in(db)}
    province = refs["canhbao@nchmf.gov.vn|NCHMF-2025-RET-0007|0"]
    assert province.unit_id == units_world.units["01"].id  # no geometry: the top-level unit
    assert coord._resolve(str(tmp_path / "a.xml"), "b.xml") == str(tmp_path / "b.xml")
    for link in ("../secret.xml", "/etc/passwd", "file:///etc/passwd"):
        with pytest.raises(parse.CapError):
            coord._resolve(str(tmp_path / "a.xml"), link)
    with pytest.raises(parse.CapError):
        coord._resolve("http://example.org/feed.atom", "file:///etc/passwd")
    assert coord._resolve("http://example.org/cap/feed.atom", "a/1.xml") == "http://example.org/cap/a/1.xml"


async def test_a_point_outside_every_unit_is_rejected(
    db: Any, units_world: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sea = fresh(sample("flood_circle.xml")).replace(b"20.91,105.83 2.5", b"10.0,112.0 5")
    (tmp_path / "sea.xml").write_bytes(sea)
    coord = make(db, [str(tmp_path / "sea.xml")])
    await coord.run_once()
    assert coord.available and coord.counters["rejected"] == 1 and not events_in(db)
    assert "rejected: No unit" in caplog.text


async def test_one_failing_feed_does_not_stop_the_others(
    db: Any, units_world: Any, server: FeedServer
) -> None:
    coord = make(db, [server.url("missing-feed.xml"), server.url("province_wide.xml")])
    await coord.run_once()
    assert coord.available and coord.counters["recorded"] == 1
    assert "missing-feed.xml: HTTP 404" in coord.last_error
    feeds = coord.status()["feeds"]
    assert feeds[server.url("missing-feed.xml")]["ok"] is False
    assert feeds[server.url("province_wide.xml")] | {"last_success_at": None} == {
        "ok": True,
        "error": "",
        "last_success_at": None,
        "recorded": 1,
        "rejected": 0,
    }


async def test_unavailable_when_every_feed_fails_then_recovers(
    db: Any, units_world: Any, server: FeedServer
) -> None:
    server.fail = True
    coord = make(db, [server.url("atom_two.xml"), server.url("province_wide.xml")], poll_interval_s=0.05)
    with pytest.raises(FeedError, match="HTTP 503"):
        await coord.run_once()
    coord.max_backoff_s = 0.2
    await coord.start()
    try:
        await wait_for(lambda: coord.failures >= 2)
        assert not coord.available and "HTTP 503" in coord.last_error
        server.fail = False
        await wait_for(lambda: coord.available)
        assert coord.last_error == "" and coord.failures == 0
        await wait_for(lambda: coord.counters.get("recorded", 0) == 3)
    finally:
        await coord.stop()
    assert len(events_in(db)) == 3


async def test_connector_setup_returns_none_without_feeds(settings: Any) -> None:
    app = SimpleNamespace(state=SimpleNamespace(settings=settings))
    assert await connector.setup(app) is None
    manifest = (Path(parse.__file__).parent / "manifest.json").read_text()
    assert '"name": "cap"' in manifest


def test_the_app_runs_the_connector_through_the_alerts_runtime(
    settings: Any, db: Any, tmp_path: Path
) -> None:
    from toancanh.app import create_app

    world = build_world(db)
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    for p in DATA.glob("*.xml"):
        (feeds / p.name).write_bytes(fresh(p.read_bytes()))
    cfg = settings.model_copy(
        update={"connectors": ["cap"], "cap_feeds": [str(feeds / "atom_two.xml")], "cap_poll_s": 0.2}
    )
    app = create_app(cfg, database=db)
    with TestClient(app):
        coord = app.state.connectors["cap"]
        deadline = time.monotonic() + 15
        while coord.counters.get("recorded", 0) < 2:
            assert time.monotonic() < deadline, coord.status()
            time.sleep(0.05)
        assert coord.available and coord.status()["name"] == "cap"
        assert app.state.alerts.stats.events >= 2  # recorded through the runtime, which feeds the rules
    units = {e.source_ref: e.unit_id for e in events_in(db)}
    assert units == {STORM_REF: world.units["H1"].id, FLOOD_REF: world.units["H2"].id}


# ------------------------------------------------------------------------------------------- pushing

PUSH = "/api/v1/alerts/cap"
CAP_XML = {"Content-Type": "application/cap+xml"}


def push(client: TestClient, world: Any, who: str | None, body: bytes, **headers: str) -> Any:
    auth = world.auth(who) if who else {}
    return client.post(PUSH, content=body, headers={**CAP_XML, **auth, **headers})


def count_events(db: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Event)) or 0)


def test_a_pushed_alert_is_recorded_once(client: TestClient, world: Any, db: Any) -> None:
    storm = fresh(sample("storm_vi_en.xml"))
    r = push(client, world, "op_a", storm)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["recorded"] == 1 and body["duplicates"] == 0 and body["rejected"] == []
    [ev] = events_in(db)
    assert ev.id == body["events"][0] and ev.unit_id == world.units["H1"].id
    assert ev.created_by_id == world.users["op_a"].id
    again = push(client, world, "op_a", storm, **{"Content-Type": "application/xml; charset=utf-8"})
    assert again.json() | {"events": []} == {"recorded": 0, "duplicates": 1, "rejected": [], "events": []}


def test_pushed_alerts_outside_the_callers_units_are_rejected(
    client: TestClient, world: Any, db: Any
) -> None:
    r = push(client, world, "op_b", fresh(sample("storm_vi_en.xml")))
    assert r.status_code == 200 and r.json()["recorded"] == 0
    assert "may not record events" in r.json()["rejected"][0]["reason_en"]
    assert count_events(db) == 0


def test_pushed_tests_are_not_recorded(client: TestClient, world: Any, db: Any) -> None:
    r = push(client, world, "op_a", fresh(sample("test_status.xml")))
    assert r.status_code == 200 and r.json()["recorded"] == 0
    assert "status Test" in r.json()["rejected"][0]["reason_en"]
    assert count_events(db) == 0


def test_a_drill_records_test_alerts_when_the_setting_says_so(
    client: TestClient, app: Any, world: Any, db: Any
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"cap_statuses": ["Actual", "Test"]})
    r = push(client, world, "op_a", fresh(sample("test_status.xml")))
    assert r.status_code == 200 and r.json()["recorded"] == 1, r.text
    assert count_events(db) == 1


@pytest.mark.parametrize(
    "name", ["malformed.xml", "xxe.xml", "billion_laughs.xml", "wrong_namespace.xml", "missing_urgency.xml"]
)
def test_a_pushed_document_that_is_not_cap_is_refused(
    client: TestClient, world: Any, db: Any, name: str
) -> None:
    r = push(client, world, "op_a", fresh(sample(name)))
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "invalid_cap" and err["message"].startswith("Bản tin CAP không hợp lệ")
    assert err["message_en"].startswith("Invalid CAP alert")
    assert count_events(db) == 0


def test_push_checks_who_what_and_how_big(client: TestClient, world: Any, db: Any) -> None:
    storm = fresh(sample("storm_vi_en.xml"))
    assert push(client, world, None, storm).status_code == 401
    assert push(client, world, "viewer_a", storm).status_code == 403
    assert push(client, world, "op_a", storm, **{"Content-Type": "application/json"}).status_code == 415
    big = storm.replace(b"<note>", b"").replace(
        b"</scope>", b"</scope><note>" + b"x" * MAX_DOCUMENT_BYTES + b"</note>"
    )
    assert push(client, world, "op_a", big).status_code == 413
    assert count_events(db) == 0
