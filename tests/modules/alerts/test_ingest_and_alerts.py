"""Readings and events in, rules, alerts out: the live path through the HTTP API on a running app."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from toancanh.core import outbox
from toancanh.core.assets import Asset
from toancanh.core.auth.service import create_api_key
from toancanh.core.timeseries import Sample, Series
from toancanh.modules.alerts import telemetry
from toancanh.modules.alerts.models import Alert, AlertRuleVersion, Event, Incident


def wait_for(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def now_ms() -> int:
    return int(time.time() * 1000)


def api_key(db: Any, world: Any, who: str) -> dict[str, str]:
    with db.session() as s:
        key, _ = create_api_key(s, s.merge(world.users[who]), "gateway")
    return {"X-API-Key": key}


def samples(db: Any, code: str) -> int:
    with db.session() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(Sample)
                .join(Series, Series.id == Sample.series_id)
                .where(Series.key.startswith(f"{code}."))
            )
            or 0
        )


PM_RULE = {
    "code": "pm25-cao",
    "name": "Bụi mịn cao",
    "when": {"type": "threshold", "measure": "pm25", "op": ">", "value": 100, "for_s": 0},
    "alert": {
        "category": "air.pm25",
        "severity": "severe",
        "title_vi": "PM2.5 {value} tại {asset}",
        "title_en": "PM2.5 {value} at {asset}",
        "incident": {"type": "air_quality"},
    },
}


def add_rule(
    client: Any, world: Any, definition: dict[str, Any], domain: str = "environment"
) -> dict[str, Any]:
    r = client.post(
        "/api/v1/alerts/rules",
        json={"definition": definition, "unit_id": world.units["A"].id, "domain": domain},
        headers=world.auth("op_a"),
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_batch_readings_are_stored_and_bad_ones_refused_with_reasons(client, world, db) -> None:
    headers = api_key(db, world, "op_a")
    t = now_ms()
    body = {
        "readings": [
            {"device": "aq-a2", "ts": t, "values": {"pm25": 41.5, "pm10": 60}},
            {"device": "aq-a2", "ts": t + 1000, "values": {"pm25": 43.0}},
            {"device": "no-such-device", "ts": t, "values": {"pm25": 1}},
            {"device": "aq-a2", "ts": t + 2000, "values": {"pm25": "high"}},
            {"device": "aq-a2", "ts": t + 3000, "values": {"Bad Name": 1}},
            {"device": "aq-a2", "ts": "yesterday", "values": {"pm25": 1}},
            {"device": "aq-b1", "ts": t, "values": {"pm25": 1}},  # commune B: not this key's
            "not an object",
        ]
    }
    r = client.post("/api/v1/telemetry/readings", json=body, headers=headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["accepted"] == 3
    assert out["rejected"] == 6
    assert {e["index"] for e in out["errors"]} == {2, 3, 4, 5, 6, 7}
    assert samples(db, "aq-a2") == 3
    assert samples(db, "aq-b1") == 0
    with db.session() as s:
        asset = s.scalar(select(Asset).where(Asset.code == "aq-a2"))
        assert asset.last_state == {"pm25": 43.0, "pm10": 60.0}
        assert asset.last_seen_at == datetime.fromtimestamp((t + 1000) / 1000, UTC)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"readings": []}', b'{"readings": 5}', b'{"other": []}'],
)
def test_malformed_batches_change_nothing(client, world, db, body: bytes) -> None:
    headers = {**api_key(db, world, "op_a"), "Content-Type": "application/json"}
    r = client.post("/api/v1/telemetry/readings", content=body, headers=headers)
    assert r.status_code == 400
    assert r.json()["error"]["message"]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Sample)) == 0


def test_readings_need_a_writer(client, world) -> None:
    body = {"readings": [{"device": "aq-a2", "values": {"pm25": 1}}]}
    assert client.post("/api/v1/telemetry/readings", json=body).status_code == 401
    r = client.post("/api/v1/telemetry/readings", json=body, headers=world.auth("viewer_a"))
    assert r.status_code == 403


def test_a_reading_over_threshold_raises_an_alert_and_an_incident(client, world, db) -> None:
    add_rule(client, world, PM_RULE)
    headers = api_key(db, world, "op_a")
    client.post(
        "/api/v1/telemetry/readings",
        json={"readings": [{"device": "aq-a2", "values": {"pm25": 80}}]},
        headers=headers,
    )
    time.sleep(0.3)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0
    client.post(
        "/api/v1/telemetry/readings",
        json={"readings": [{"device": "aq-a2", "values": {"pm25": 180.5}}]},
        headers=headers,
    )

    def raised() -> list[dict[str, Any]]:
        return list(client.get("/api/v1/alerts", headers=world.auth("op_a")).json()["items"])

    alerts = wait_for(raised)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["title"] == "PM2.5 180.5 tại AQ-A2"
    assert alert["severity"] == "severe" and alert["status"] == "active"
    assert alert["incident_id"] is not None
    # the same condition again adds to the alert instead of raising a second one (cooldown per place)
    with db.session() as s:
        incident = s.get(Incident, alert["incident_id"])
        assert incident.type == "air_quality" and incident.state == "new"
    # commune B's operator does not see it, and cannot acknowledge it
    assert client.get("/api/v1/alerts", headers=world.auth("op_b")).json()["items"] == []
    r = client.post(f"/api/v1/alerts/{alert['id']}/ack", headers=world.auth("op_b"))
    assert r.status_code == 404
    r = client.post(f"/api/v1/alerts/{alert['id']}/ack", headers=world.auth("viewer_a"))
    assert r.status_code == 403
    r = client.post(f"/api/v1/alerts/{alert['id']}/ack", headers=world.auth("op_a"))
    assert r.status_code == 200
    acked = r.json()
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == "op_a"
    assert acked["acknowledged_at"] is not None
    assert client.post(f"/api/v1/alerts/{alert['id']}/ack", headers=world.auth("op_a")).status_code == 409


def test_events_raise_alerts_and_repeats_are_recorded_once(client, world, db) -> None:
    add_rule(
        client,
        world,
        {
            "code": "khoi-bep",
            "name": "Báo khói",
            "when": {"type": "event", "match": {"category": "fire.*", "min_severity": "severe"}},
            "alert": {"category": "fire.kitchen", "severity": "extreme", "title_vi": "Báo cháy: {asset}"},
        },
        domain="security",
    )
    event = {
        "source": "sensor",
        "category": "fire.smoke",
        "title": "Đầu báo khói bếp ăn",
        "asset_code": "sch-a",
        "severity": "extreme",
        "source_ref": "sch-a:alarm-1",
        "evidence": [{"kind": "photo", "ref": "blob:abc", "label": "ảnh camera bếp"}],
    }
    minor = {**event, "severity": "minor", "source_ref": "sch-a:alarm-0"}
    r = client.post("/api/v1/alerts/events", json={"events": [minor, event]}, headers=world.auth("op_a"))
    assert r.status_code == 200, r.text
    assert r.json()["recorded"] == 2
    r = client.post("/api/v1/alerts/events", json={"events": [event]}, headers=world.auth("op_a"))
    assert r.json() == {"recorded": 0, "ids": [], "duplicates": 1, "rejected": []}
    alert = wait_for(lambda: client.get("/api/v1/alerts", headers=world.auth("op_a")).json()["items"])[0]
    assert alert["title"] == "Báo cháy: SCH-A" and alert["severity"] == "extreme"
    assert alert["evidence"] == [{"kind": "photo", "ref": "blob:abc", "label": "ảnh camera bếp"}]
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 2
        assert s.scalar(select(func.count()).select_from(Alert)) == 1


def test_bad_events_are_refused_and_nothing_is_recorded(client, world, db) -> None:
    bad = [
        {"category": "Fire Smoke", "title": "x", "unit_id": world.units["A"].id, "domain": "security"},
        {"category": "fire.smoke", "title": "x", "unit_id": world.units["A"].id, "domain": "nowhere"},
        {"category": "fire.smoke", "title": "x", "asset_code": "missing"},
        {"category": "fire.smoke", "title": "x", "lat": 10.0, "lon": 10.0, "domain": "security"},
    ]
    for e in bad:
        r = client.post("/api/v1/alerts/events", json={"events": [e]}, headers=world.auth("op_a"))
        assert r.status_code in (400, 422), (e, r.text)
    # commune B's event from commune A's operator
    e = {"category": "fire.smoke", "title": "x", "asset_code": "aq-b1"}
    r = client.post("/api/v1/alerts/events", json={"events": [e]}, headers=world.auth("op_a"))
    assert r.status_code == 400
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Event)) == 0


def test_rules_are_validated_and_versioned(client, world, db) -> None:
    bad = {**PM_RULE, "when": {"type": "threshold", "measure": "pm25", "op": "~", "value": 1}}
    r = client.post(
        "/api/v1/alerts/rules",
        json={"definition": bad, "unit_id": world.units["A"].id, "domain": "environment"},
        headers=world.auth("op_a"),
    )
    assert r.status_code == 400
    assert any("op" in str(d.get("loc")) for d in r.json()["error"]["details"])
    rule = add_rule(client, world, PM_RULE)
    yaml_text = (
        "code: pm25-cao\nname: Bụi mịn rất cao\nwhen: {type: threshold, measure: pm25, op: '>', value: 150}\n"
        "alert: {category: air.pm25, severity: severe, title_vi: 'PM2.5 {value}'}\n"
    )
    r = client.put(
        f"/api/v1/alerts/rules/{rule['id']}",
        json={
            "text": yaml_text,
            "format": "yaml",
            "unit_id": world.units["A"].id,
            "domain": "environment",
            "comment": "nâng ngưỡng",
        },
        headers=world.auth("op_a"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and r.json()["name"] == "Bụi mịn rất cao"
    detail = client.get(f"/api/v1/alerts/rules/{rule['id']}", headers=world.auth("op_a")).json()
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    assert detail["versions"][0]["comment"] == "nâng ngưỡng" and detail["versions"][0]["author"] == "op_a"
    # another commune's operator neither sees nor changes it; a viewer reads but does not write
    assert client.get(f"/api/v1/alerts/rules/{rule['id']}", headers=world.auth("op_b")).status_code == 404
    r = client.put(
        f"/api/v1/alerts/rules/{rule['id']}",
        json={"definition": PM_RULE, "unit_id": world.units["A"].id, "domain": "environment"},
        headers=world.auth("viewer_a"),
    )
    assert r.status_code == 403
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(AlertRuleVersion)) == 2


def test_dry_run_over_stored_history(client, world, db) -> None:
    headers = api_key(db, world, "op_a")
    start = now_ms() - 3_600_000
    values = [50, 120, 130, 60, 140, 70]
    client.post(
        "/api/v1/telemetry/readings",
        json={
            "readings": [
                {"device": "aq-a2", "ts": start + i * 600_000, "values": {"pm25": v}}
                for i, v in enumerate(values)
            ]
        },
        headers=headers,
    )
    definition = {**PM_RULE, "alert": {**PM_RULE["alert"], "cooldown_s": 0}}
    r = client.post(
        "/api/v1/alerts/rules/dry-run",
        json={
            "definition": definition,
            "unit_id": world.units["A"].id,
            "start": datetime.fromtimestamp(start / 1000 - 1, UTC).isoformat(),
            "end": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
        },
        headers=world.auth("op_a"),
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["readings_scanned"] == 6
    assert out["total_firings"] == 2  # 120 (then 130 continues the same excursion), and 140
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Alert)) == 0  # a dry run writes nothing


def test_other_modules_domain_events_become_events(client, world, db) -> None:
    with db.session() as s:
        cam = s.scalar(select(Asset).where(Asset.code == "cam-a1"))
        outbox.emit(
            s,
            "toancanh.vision.detection.waste_dumping",
            {
                "asset_id": cam.id,
                "asset_code": cam.code,
                "lat": cam.lat,
                "lon": cam.lon,
                "title_vi": "Đổ rác",
                "severity": "high",
            },
            unit_id=cam.unit_id,
            domain=cam.domain,
        )

    def recorded() -> Event | None:
        with db.session() as s:
            return s.scalar(select(Event).where(Event.category == "vision.waste_dumping"))

    event = wait_for(recorded)
    assert event.source == "camera" and event.severity == "severe" and event.title == "Đổ rác"


def test_late_readings_do_not_overwrite_the_newer_last_state(db, world) -> None:
    directory = telemetry.Directory()
    t = now_ms()
    with db.session() as s:
        telemetry.ingest(s, directory, [{"device": "aq-a2", "ts": t, "values": {"pm25": 50, "no2": 7}}])
    with db.session() as s:  # an older reading arrives after it: stored, but the state stays the newest
        out = telemetry.ingest(s, directory, [{"device": "aq-a2", "ts": t - 60_000, "values": {"pm25": 10}}])
        assert out.accepted == 1
    with db.session() as s:
        asset = s.scalar(select(Asset).where(Asset.code == "aq-a2"))
        assert asset.last_state == {"pm25": 50.0, "no2": 7.0}
        assert asset.last_seen_at == datetime.fromtimestamp(t / 1000, UTC)
    assert samples(db, "aq-a2") == 3


def test_a_series_created_in_a_rolled_back_batch_is_not_remembered(db, world) -> None:
    directory = telemetry.Directory()
    t = now_ms()
    with db.session() as s:
        telemetry.ingest(s, directory, [{"device": "aq-a2", "ts": t, "values": {"o3": 1.5}}])
        s.rollback()  # e.g. the request failed after the series was made
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Series).where(Series.key == "aq-a2.o3")) == 0
    with db.session() as s:  # the next batch makes the series again instead of using the lost id
        out = telemetry.ingest(s, directory, [{"device": "aq-a2", "ts": t, "values": {"o3": 1.5}}])
        assert out.accepted == 1
    assert samples(db, "aq-a2") == 1


def test_two_batches_racing_on_a_new_series_both_land(db, world) -> None:
    """A second request brings readings of a measure whose series the first request has just created but not
    yet committed: it must not write against that uncommitted series (on PostgreSQL, a foreign-key error)."""
    directory = telemetry.Directory()
    t = now_ms()
    created = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with db.session() as s:
                out = telemetry.ingest(s, directory, [{"device": "aq-a2", "ts": t, "values": {"so2": 2.0}}])
                assert out.accepted == 1
                created.set()
                time.sleep(0.5)  # still uncommitted while the second request runs
        except BaseException as exc:  # reported below, from the test's thread
            errors.append(exc)
            created.set()

    def second() -> None:
        try:
            assert created.wait(10)
            with db.session() as s:
                out = telemetry.ingest(
                    s, directory, [{"device": "aq-a2", "ts": t + 1, "values": {"so2": 3.0}}]
                )
                assert out.accepted == 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not errors, errors
    assert samples(db, "aq-a2") == 2
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Series).where(Series.key == "aq-a2.so2")) == 1
