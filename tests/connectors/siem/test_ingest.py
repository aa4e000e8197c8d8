"""SIEM ingestion end to end: real UDP and TCP sockets on 127.0.0.1 and a followed alerts.json -> events at
their assets' units (or the default unit); malformed lines counted and never stored; rate limiting per
sender; default rules -> alerts -> an infosec incident running its SOP; alerts pushed over HTTP with the
caller's scope; bad input changes nothing."""

from __future__ import annotations

import os
from typing import Any

import orjson
from sqlalchemy import select

from tests.connectors.siem.conftest import (
    bsd_now,
    count_events,
    events,
    iso_now,
    send_tcp,
    send_udp,
    wait_for,
    wazuh_alert,
    wazuh_line,
)
from toancanh.connectors.siem import connector
from toancanh.connectors.siem.const import MAX_LINE_BYTES
from toancanh.core.assets import Asset
from toancanh.modules.alerts.models import Alert, AlertRule, Incident, SopRun, SopStep, SopTemplate


def asset_ids(db: Any) -> dict[str, int]:
    with db.session() as s:
        return {c: i for c, i in s.execute(select(Asset.code, Asset.id))}


def malformed(coord: Any) -> dict[str, int]:
    return {k.split(":", 1)[1]: v for k, v in coord.counters.items() if k.startswith("malformed:")}


def test_udp_and_tcp_lines_become_events_at_their_assets(siem: Any) -> None:
    coord, db, w = siem.coord, siem.db, siem.world
    good_udp = [
        f"<86>{bsd_now()} web-a sshd[42]: Failed password for root from 203.0.113.9 port 22 ssh2".encode(),
        f"<134>{bsd_now()} fw01 CEF:0|Fortinet|FortiGate|7.0|13|Deny|7|src=198.51.100.7 dst=10.0.2.5".encode(),
    ]
    bad_udp = [b"no pri here", b"<13>1 yesterday h a - - - x"]
    routine = f"<14>{bsd_now()} web-a cron[1]: session opened".encode()  # info, not security: ignored
    send_udp(coord.udp_port, *good_udp, *bad_udp, routine)
    wait_for(lambda: count_events(db) >= 2, what="UDP events")
    frames = [
        f"<35>1 {iso_now()} mail-b dovecot - - - auth failed, user=alice rhost=192.0.2.44".encode(),
        b"CEF:0|Trend|DeepSecurity|20|1001|Trojan detected|Very-High|dhost=unknown-host src=10.0.1.5",
    ]
    stream = b"".join(b"%d %s" % (len(f), f) for f in frames)  # RFC 6587 octet counting
    too_long = b"<13>" + b"x" * (MAX_LINE_BYTES + 10)
    last = f"<38>{bsd_now()} 10.0.1.5 sshd: Invalid user x from 1.2.3.4".encode()
    stream += b"\n".join([b"CEF:0|broken", too_long, last])
    stream += b"\n"
    send_tcp(coord.tcp_port, stream)
    wait_for(lambda: count_events(db) >= 5, what="TCP events")
    wait_for(lambda: sum(malformed(coord).values()) >= 4, what="malformed counted")
    ids = asset_ids(db)
    rows = [(e.category, e.severity, e.asset_id, e.unit_id, e.payload.get("srcip")) for e in events(db)]
    units = {k: u.id for k, u in w.units.items()}
    assert sorted(rows, key=str) == sorted(
        [
            ("infosec.auth_failure", "minor", ids["srv-a"], units["A"], "203.0.113.9"),  # web-a -> srv-a
            ("infosec.firewall", "severe", ids["srv-b"], units["B"], "198.51.100.7"),  # dst 10.0.2.5
            ("infosec.auth_failure", "severe", ids["srv-b"], units["B"], "192.0.2.44"),  # mail-b, err
            ("infosec.malware", "extreme", ids["srv-a"], units["A"], "10.0.1.5"),  # src is srv-a
            ("infosec.auth_failure", "minor", ids["srv-a"], units["A"], "1.2.3.4"),  # host 10.0.1.5
        ],
        key=str,
    )
    assert all(e.source == "siem" and e.domain == "infosec" for e in events(db))
    assert malformed(coord) == {"pri": 1, "timestamp": 1, "too_long": 1, "cef_header": 1}
    assert coord.counters["ignored:routine_syslog"] == 1
    assert coord.status()["counters"]["tcp_connections"] >= 1
    # the listener is still alive after all that
    send_udp(coord.udp_port, f"<84>{bsd_now()} web-a sshd[9]: Failed password for bob from 7.7.7.7".encode())
    wait_for(lambda: count_events(db) == 6, what="one more event")


def test_an_unknown_host_goes_to_the_default_unit(siem: Any) -> None:
    coord, db, w = siem.coord, siem.db, siem.world
    send_udp(coord.udp_port, f"<131>{bsd_now()} nobody-knows app: segfault in exploit".encode())
    (e,) = wait_for(lambda: events(db), what="event")
    assert (e.asset_id, e.unit_id, e.category, e.severity) == (
        None,
        w.units["01"].id,
        "infosec.intrusion",
        "severe",
    )
    assert e.lat is None and e.payload["asset"] == ""


def test_rate_limit_per_sender(siem: Any) -> None:
    coord, db = siem.coord, siem.db
    line = f"<84>{bsd_now()} web-a sshd[1]: Failed password for root from 203.0.113.50".encode()
    coord.limiter.rate, coord.limiter.burst = 1.0, 3.0
    send_udp(coord.udp_port, *[line] * 10)
    wait_for(lambda: coord.counters.get("rate_limited", 0) >= 7, what="rate limited")
    wait_for(lambda: count_events(db) == 3, what="the burst stored")
    assert coord.counters["rate_limited"] == 7


def test_wazuh_alerts_file_is_followed_through_rotation(siem: Any) -> None:
    coord, db = siem.coord, siem.db
    with siem.file.open("ab") as fh:
        fh.write(wazuh_line("1.1", level=3) + b"\n" + b"{broken json\n" + wazuh_line("1.2", level=12))
        fh.write(b'\n{"rule": {"level": 99, "description": "x"}}\n')
    wait_for(lambda: count_events(db) == 2, what="two Wazuh events")
    with siem.file.open("ab") as fh:  # a line written in two parts is read once, whole
        fh.write(wazuh_line("1.3")[:30])
        fh.flush()
        wait_for(lambda: coord._tail.lines >= 4, what="tail read")
        fh.write(wazuh_line("1.3")[30:] + b"\n")
    wait_for(lambda: count_events(db) == 3, what="the split line")
    os.rename(siem.file, siem.file.with_suffix(".1"))  # logrotate
    siem.file.write_bytes(wazuh_line("2.1", agent="mail-b") + b"\n" + wazuh_line("1.2", level=12) + b"\n")
    wait_for(lambda: count_events(db) == 4, what="after rotation")
    refs = {e.source_ref: e for e in events(db)}
    assert set(refs) == {"wazuh:1.1", "wazuh:1.2", "wazuh:1.3", "wazuh:2.1"}  # 1.2 again: a duplicate
    assert refs["wazuh:1.2"].severity == "extreme" and refs["wazuh:1.1"].severity == "minor"
    ids = asset_ids(db)
    assert refs["wazuh:1.1"].asset_id == ids["srv-a"] and refs["wazuh:2.1"].asset_id == ids["srv-b"]
    assert malformed(coord) == {"json": 1, "wazuh": 1}
    wait_for(lambda: coord.counters.get("duplicates", 0) == 1, what="duplicate counted")


def test_rules_open_an_infosec_incident_that_runs_its_sop(siem: Any) -> None:
    coord, db, w = siem.coord, siem.db, siem.world
    with db.session() as s:
        assert {r.code for r in s.scalars(select(AlertRule))} == {
            "infosec-high",
            "infosec-brute-force",
            "infosec-malware",
        }
        assert (
            s.scalar(select(SopTemplate.incident_type).where(SopTemplate.code == "sop-infosec")) == "infosec"
        )
    lines = [
        f"<84>{bsd_now()} web-a sshd[{i}]: Failed password for root from 203.0.113.77 port 22".encode()
        for i in range(4)
    ]
    other = f"<84>{bsd_now()} web-a sshd[9]: Failed password for root from 203.0.113.78 port 22".encode()
    send_udp(coord.udp_port, *lines, other)
    wait_for(lambda: count_events(db) == 5, what="five failed logins")
    with db.session() as s:
        assert s.scalar(select(Alert.id)) is None  # four from one address, one from another: not yet
    send_udp(coord.udp_port, lines[0])
    alert = wait_for(lambda: _alert(db, "infosec.brute_force"), what="brute force alert")
    assert (alert.severity, alert.unit_id, alert.domain, alert.details["srcip"]) == (
        "severe",
        w.units["A"].id,
        "infosec",
        "203.0.113.77",
    )
    incident = wait_for(lambda: _incident(db, alert.id), what="incident")
    assert (incident.type, incident.unit_id, incident.domain) == ("infosec", w.units["A"].id, "infosec")
    with db.session() as s:
        run = s.scalar(select(SopRun).where(SopRun.incident_id == incident.id))
        assert run is not None
        keys = list(s.scalars(select(SopStep.key).where(SopStep.run_id == run.id).order_by(SopStep.position)))
    assert (
        keys[:3] == ["xac_minh", "danh_gia", "co_lap"] and "thu_thap_chung_cu" in keys and "bao_cao" in keys
    )
    # a high-severity Wazuh alert at the same asset joins the same incident
    with siem.file.open("ab") as fh:
        fh.write(wazuh_line("9.9", level=13) + b"\n")
    high = wait_for(lambda: _alert(db, "infosec.high"), what="high alert")
    assert high.severity == "severe" and high.incident_id == incident.id


def _alert(db: Any, category: str) -> Alert | None:
    with db.session() as s:
        return s.scalar(select(Alert).where(Alert.category == category))


def _incident(db: Any, alert_id: int) -> Incident | None:
    with db.session() as s:
        a = s.get(Alert, alert_id)
        return s.get(Incident, a.incident_id) if a is not None and a.incident_id else None


# ------------------------------------------------------------------------------------------- HTTP push

WAZUH = "/api/v1/siem/wazuh"


def test_pushed_wazuh_alerts_are_scoped_to_the_caller(siem: Any) -> None:
    c, w, db = siem.client, siem.world, siem.db
    batch = [
        wazuh_alert("h.1", agent="web-a"),
        wazuh_alert("h.2", agent="mail-b"),
        wazuh_alert("h.3", agent="?"),
    ]
    r = c.post(WAZUH, json=batch, headers=w.auth("op_a"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["recorded"], len(body["rejected"])) == (1, 2)  # srv-b is in B, "?" in the province
    assert [e.source_ref for e in events(db)] == ["wazuh:h.1"]
    r = c.post(WAZUH, json={"alerts": batch}, headers=w.auth("soc"))  # the SOC sees every unit's infosec
    assert r.json()["recorded"] == 2 and r.json()["duplicates"] == 1
    ndjson = wazuh_line("h.4") + b"\n{oops\n" + wazuh_line("h.5", level=15) + b"\n"
    r = c.post(WAZUH, content=ndjson, headers={**w.auth("admin"), "Content-Type": "application/x-ndjson"})
    assert r.json()["recorded"] == 2 and r.json()["malformed"] == {"json": 1}
    assert count_events(db) == 5


def test_pushed_syslog_lines(siem: Any) -> None:
    c, w, db = siem.client, siem.world, siem.db
    body = "\n".join(
        [
            f"<84>{bsd_now()} web-a sshd[1]: Failed password for root from 203.0.113.9",
            "CEF:0|V|P|1|s|SQL injection blocked|8|dst=10.0.1.5 src=198.51.100.1 request=/login?id\\=1",
            "garbage",
        ]
    )
    r = c.post("/api/v1/siem/syslog", content=body, headers={**w.auth("op_a"), "Content-Type": "text/plain"})
    assert r.status_code == 200, r.text
    assert (r.json()["recorded"], r.json()["malformed"]) == (2, {"pri": 1})
    cef = [e for e in events(db) if e.payload["format"] == "cef"][0]
    assert cef.category == "infosec.web_attack" and cef.payload["extension"]["request"] == "/login?id=1"


def test_bad_pushes_change_nothing(siem: Any) -> None:
    c, w, db = siem.client, siem.world, siem.db
    good = [wazuh_alert("b.1")]
    assert c.post(WAZUH, json=good).status_code == 401
    assert c.post(WAZUH, json=good, headers=w.auth("viewer_a")).status_code == 403
    assert c.post(WAZUH, json=good, headers=w.auth("citizen")).status_code == 403
    for bad in (b"{not json", b"[]", b"{}", b'"x"', b"[1, 2]", orjson.dumps([{"rule": {"level": 20}}])):
        r = c.post(WAZUH, content=bad, headers={**w.auth("admin"), "Content-Type": "application/json"})
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["message"] and r.json()["error"]["message_en"]
    r = c.post(WAZUH, json=[wazuh_alert("x")] * 5001, headers=w.auth("admin"))
    assert r.status_code == 400
    r = c.post(
        WAZUH,
        content=b"[" + b" " * (9 * 1024 * 1024) + b"]",
        headers={**w.auth("admin"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    r = c.post(
        "/api/v1/siem/syslog", content=b"\n\n", headers={**w.auth("admin"), "Content-Type": "text/plain"}
    )
    assert r.status_code == 400
    r = c.post("/api/v1/siem/syslog", content=b"nonsense\n", headers=w.auth("admin"))
    assert r.status_code == 400 and r.json()["error"]["details"][0]["malformed"] == {"pri": 1}
    r = c.post(WAZUH, json=[wazuh_alert("old", timestamp="2001-01-01T00:00:00Z")], headers=w.auth("admin"))
    assert r.status_code == 400  # out of the accepted time range: refused by the event model
    assert count_events(db) == 0


def test_setup_without_listeners_returns_none_but_seeds(settings: Any, db: Any) -> None:
    import asyncio
    from types import SimpleNamespace

    from tests.conftest import build_world

    build_world(db)
    runtime = SimpleNamespace(reload_rules=lambda: None)
    app = SimpleNamespace(state=SimpleNamespace(settings=settings, db=db, alerts=runtime))
    assert asyncio.run(connector.setup(app)) is None
    with db.session() as s:
        assert len(list(s.scalars(select(AlertRule)))) == 3
    assert asyncio.run(connector.setup(app)) is None  # seeding twice creates nothing more
    with db.session() as s:
        assert len(list(s.scalars(select(AlertRule)))) == 3
