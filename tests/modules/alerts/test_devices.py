"""Device credentials, broker files, admission, presence and heartbeats; the devices API and CLI."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from toancanh.core.assets import Asset
from toancanh.core.audit import AuditEntry
from toancanh.core.db import Database, utcnow
from toancanh.core.errors import BadRequest, Conflict, NotFound
from toancanh.core.outbox import OutboxEvent
from toancanh.modules.alerts import devices, telemetry
from toancanh.modules.alerts.models import DeviceCredential
from toancanh.settings import Settings

URL = "/api/v1/alerts/devices"


def get_asset(s: Any, world: Any, code: str) -> Asset:
    a: Asset | None = s.get(Asset, world.assets[code].id)
    assert a is not None
    return a


def outbox(db: Database, subject: str) -> list[dict[str, Any]]:
    with db.session() as s:
        return [e.data for e in s.scalars(select(OutboxEvent).where(OutboxEvent.subject == subject))]


# ---------------------------------------------------------------------------------------------- credentials


def test_broker_hash_is_mosquittos_own_format(tmp_path: Path) -> None:
    h = devices.broker_hash("secret123")
    _, seven, iterations, salt, digest = h.split("$")
    assert (seven, iterations, len(salt), len(digest)) == ("7", "1000", 16, 88)
    assert devices.check_broker_hash(h, "secret123")
    assert not devices.check_broker_hash(h, "secret124")
    assert not devices.check_broker_hash("$6$x$y", "secret123")
    tool = shutil.which("mosquitto_passwd")
    if tool is None:
        pytest.skip("mosquitto_passwd is not installed")
    pwfile = tmp_path / "passwd"
    pwfile.write_text("")
    subprocess.run([tool, "-b", str(pwfile), "dev1", "secret123"], check=True, capture_output=True)
    line = pwfile.read_text().strip()
    name, stored = line.split(":", 1)
    assert name == "dev1" and stored.startswith("$7$")
    assert devices.check_broker_hash(stored, "secret123")  # we read what mosquitto_passwd writes, and so back


def test_issue_rotate_disable(db: Database, world: Any) -> None:
    with db.session() as s:
        aq = get_asset(s, world, "aq-a2")
        username, secret = devices.issue_credentials(s, aq, heartbeat_s=120)
        assert username == "aq-a2" and len(secret) >= 24
        assert set(secret) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        cred = devices.credential_of(s, aq)
        assert cred is not None and cred.enabled and cred.heartbeat_s == 120
        assert secret not in cred.secret_hash and secret not in cred.broker_hash
        assert devices.verify_secret(cred, secret) and devices.check_broker_hash(cred.broker_hash, secret)
        with pytest.raises(Conflict):
            devices.issue_credentials(s, aq)
        _, second = devices.rotate_credentials(s, aq)
        assert second != secret and cred.rotated_at is not None and cred.heartbeat_s == 120
        assert devices.verify_secret(cred, second) and not devices.verify_secret(cred, secret)
        devices.disable_credentials(s, aq)
        assert not cred.enabled and not devices.verify_secret(cred, second)
        _, third = devices.issue_credentials(s, aq)  # a disabled login can be issued again
        assert cred.enabled and devices.verify_secret(cred, third)
        with pytest.raises(NotFound):
            devices.disable_credentials(s, get_asset(s, world, "cam-a1"))
        with pytest.raises(BadRequest):
            devices.issue_credentials(s, get_asset(s, world, "cam-a1"), heartbeat_s=1)
    with db.session() as s:
        actions = [a for (a,) in s.execute(select(AuditEntry.action).order_by(AuditEntry.id))]
        assert [a for a in actions if a.startswith("device.")] == [
            "device.credentials.issue",
            "device.credentials.rotate",
            "device.credentials.disable",
            "device.credentials.rotate",
        ]
        odd = get_asset(s, world, "sch-a")
        odd.code = "sch/a+#"  # a topic level cannot hold '/', '+' or '#'
        with pytest.raises(BadRequest):
            devices.issue_credentials(s, odd)
        s.rollback()


def test_broker_files_list_enabled_devices_and_the_service_account(db: Database, world: Any) -> None:
    with db.session() as s:
        devices.issue_credentials(s, get_asset(s, world, "aq-a2"))
        devices.issue_credentials(s, get_asset(s, world, "cam-a1"))
        devices.issue_credentials(s, get_asset(s, world, "aq-b1"))
        devices.disable_credentials(s, get_asset(s, world, "aq-b1"))
    with db.session() as s:
        passwd, acl = devices.broker_files(s, "toancanh", "service-password-1")
        users = [line.split(":", 1)[0] for line in passwd.splitlines()]
        assert users == ["toancanh", "aq-a2", "cam-a1"]
        assert all(line.split(":", 1)[1].startswith("$7$1000$") for line in passwd.splitlines())
        assert devices.check_broker_hash(passwd.splitlines()[0].split(":", 1)[1], "service-password-1")
        assert "pattern write toancanh/v1/%u/#" in acl.splitlines()
        assert acl.splitlines()[-2:] == ["user toancanh", "topic read toancanh/v1/#"]
        with pytest.raises(Conflict):
            devices.broker_files(s, "aq-a2", "service-password-1")
        with pytest.raises(BadRequest):
            devices.broker_files(s, "toancanh", "short")
        _, acl2 = devices.broker_files(s, "svc", "service-password-1", prefix="city/v2")
        assert "pattern write city/v2/%u/#" in acl2


def test_admission(db: Database, world: Any) -> None:
    with db.session() as s:
        devices.issue_credentials(s, get_asset(s, world, "aq-a2"))
        devices.issue_credentials(s, get_asset(s, world, "cam-a1"))
        devices.disable_credentials(s, get_asset(s, world, "cam-a1"))
    with db.session() as s:
        verdict = devices.admission(s, ["aq-a2", "cam-a1", "hyd-a", "ghost"])
    assert verdict == {"aq-a2": None, "cam-a1": "disabled", "hyd-a": None, "ghost": "unknown_device"}


# ---------------------------------------------------------------------------------------------- heartbeats


def test_heartbeat_check_marks_silent_devices_offline_once(db: Database, world: Any) -> None:
    now = utcnow()
    with db.session() as s:
        devices.issue_credentials(s, get_asset(s, world, "aq-a2"), heartbeat_s=60)
        devices.issue_credentials(s, get_asset(s, world, "cam-a1"), heartbeat_s=600)
        devices.issue_credentials(s, get_asset(s, world, "hyd-a"), heartbeat_s=60)  # never seen
        devices.issue_credentials(s, get_asset(s, world, "aq-b1"), heartbeat_s=60)
        get_asset(s, world, "aq-b1").status = "maintenance"
        for code in ("aq-a2", "cam-a1", "aq-b1"):
            get_asset(s, world, code).last_seen_at = now
        get_asset(s, world, "sch-a").last_seen_at = now - timedelta(days=9)  # no credentials: not watched
    with db.session() as s:
        assert devices.check_heartbeats(s, now + timedelta(seconds=59)) == []
    directory = telemetry.Directory()
    with db.session() as s:
        directory.device(s, "aq-a2")
        lost = devices.check_heartbeats(s, now + timedelta(seconds=61), directory=directory)
    assert sorted(e.asset_code or "" for e in lost) == ["aq-a2", "hyd-a"]
    e = next(e for e in lost if e.asset_code == "aq-a2")
    assert (e.source, e.category, e.severity) == ("system", "device.offline", "moderate")
    assert e.title and e.title_en and e.source_ref and e.source_ref.startswith("offline:aq-a2:")
    with db.session() as s:
        assert devices.check_heartbeats(s, now + timedelta(seconds=300)) == []  # once per outage
        assert get_asset(s, world, "aq-a2").status == "offline"
        assert get_asset(s, world, "cam-a1").status == "active"
        assert get_asset(s, world, "aq-b1").status == "maintenance"
        assert get_asset(s, world, "sch-a").status == "active"
    with db.session() as s:
        cached = directory.device(s, "aq-a2")
        assert cached is not None and cached.status == "offline"
    sent = outbox(db, "toancanh.core.device.offline")
    assert sorted(d["asset_code"] for d in sent) == ["aq-a2", "hyd-a"]
    d = next(d for d in sent if d["asset_code"] == "aq-a2")
    assert d["asset_id"] == world.assets["aq-a2"].id and d["severity"] == "moderate"
    assert d["title_vi"].startswith("Thiết bị mất kết nối") and d["title_en"].startswith("Device offline")
    assert d["lat"] == world.assets["aq-a2"].lat and d["lon"] == world.assets["aq-a2"].lon

    with db.session() as s:  # a reading brings it back online, with its own event
        result = telemetry.ingest(s, directory, [{"device": "aq-a2", "values": {"pm25": 12}}])
        assert result.accepted == 1
    with db.session() as s:
        assert get_asset(s, world, "aq-a2").status == "online"
    assert len(outbox(db, "toancanh.core.device.online")) == 1
    with db.session() as s:  # and the next silence is a new outage
        later = utcnow() + timedelta(seconds=61)
        assert [e.asset_code for e in devices.check_heartbeats(s, later)] == ["aq-a2"]


def test_presence_from_status_messages(db: Database, world: Any) -> None:
    directory = telemetry.Directory()
    now = utcnow()
    with db.session() as s:
        get_asset(s, world, "aq-b1").status = "retired"
    with db.session() as s:
        changed = devices.apply_presence(
            s,
            directory,
            [
                devices.Presence("aq-a2", True, now),
                devices.Presence("cam-a1", False, now),
                devices.Presence("cam-a1", False, now),  # a repeated Will: one outage
                devices.Presence("aq-b1", False, now),
                devices.Presence("ghost", True, now),
            ],
            now,
        )
        assert changed == 1
    with db.session() as s:
        assert get_asset(s, world, "aq-a2").status == "online"
        assert get_asset(s, world, "aq-a2").last_seen_at == now
        assert get_asset(s, world, "cam-a1").status == "offline"
        assert get_asset(s, world, "aq-b1").status == "retired"
    assert [d["asset_code"] for d in outbox(db, "toancanh.core.device.offline")] == ["cam-a1"]
    with db.session() as s:
        assert devices.apply_presence(s, directory, [devices.Presence("cam-a1", True, now)], now) == 1
    with db.session() as s:
        assert get_asset(s, world, "cam-a1").status == "online"
    assert [d["asset_code"] for d in outbox(db, "toancanh.core.device.online")] == ["cam-a1"]


# ---------------------------------------------------------------------------------------------- API


def test_api_issue_list_disable_with_scope(client: TestClient, db: Database, world: Any) -> None:
    aq, cam_b = world.assets["aq-a2"].id, world.assets["cam-b1"].id
    r = client.post(f"{URL}/{aq}/credentials", json={"heartbeat_s": 120}, headers=world.auth("op_a"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["username"] == "aq-a2" and len(body["password"]) >= 24 and body["heartbeat_s"] == 120
    assert body["topics"]["readings"] == "toancanh/v1/aq-a2/readings"
    with db.session() as s:
        cred = s.scalar(select(DeviceCredential).where(DeviceCredential.asset_id == aq))
        assert cred is not None and devices.verify_secret(cred, body["password"])
        assert (
            s.scalar(select(AuditEntry.actor).where(AuditEntry.action == "device.credentials.issue"))
            == "op_a"
        )

    again = client.post(f"{URL}/{aq}/credentials", json={}, headers=world.auth("op_a"))
    assert again.status_code == 409 and again.json()["error"]["message_en"]
    rotated = client.post(f"{URL}/{aq}/credentials", json={"rotate": True}, headers=world.auth("op_a"))
    assert rotated.status_code == 201 and rotated.json()["password"] != body["password"]
    assert rotated.json()["rotated_at"] is not None

    assert client.post(f"{URL}/{aq}/credentials", json={}, headers=world.auth("viewer_a")).status_code == 403
    assert client.post(f"{URL}/{aq}/credentials", json={}, headers=world.auth("op_b")).status_code == 404
    assert client.post(f"{URL}/999999/credentials", json={}, headers=world.auth("op_a")).status_code == 404
    bad = client.post(f"{URL}/{aq}/credentials", json={"heartbeat_s": 1}, headers=world.auth("op_a"))
    assert bad.status_code in (400, 422)
    assert client.post(f"{URL}/{aq}/credentials", json={}).status_code == 401
    r = client.post(f"{URL}/{cam_b}/credentials", json={}, headers=world.auth("op_b"))
    assert r.status_code == 201

    listed = client.get(URL, headers=world.auth("op_a")).json()
    assert [d["code"] for d in listed] == ["aq-a2"]
    assert {"status", "last_seen_at", "heartbeat_s", "enabled"} <= set(listed[0])
    assert "password" not in listed[0] and "secret_hash" not in listed[0]
    assert [d["code"] for d in client.get(URL, headers=world.auth("admin")).json()] == ["aq-a2", "cam-b1"]
    assert client.get(URL, headers=world.auth("viewer_a")).json() == []

    assert client.delete(f"{URL}/{aq}/credentials", headers=world.auth("op_b")).status_code == 404
    gone = client.delete(f"{URL}/{aq}/credentials", headers=world.auth("op_a"))
    assert gone.status_code == 200 and gone.json()["enabled"] is False
    assert (
        client.delete(f"{URL}/{world.assets['hyd-a'].id}/credentials", headers=world.auth("op_a")).status_code
        == 404
    )
    assert client.get(URL, headers=world.auth("op_a")).json()[0]["enabled"] is False


# ---------------------------------------------------------------------------------------------- CLI


def test_cli_credentials_and_broker_files(
    settings: Settings, db: Database, world: Any, tmp_path: Path
) -> None:
    from toancanh.connectors.mqtt import cli

    env = {
        "TOANCANH_DATABASE_URL": settings.resolved_database_url,
        "TOANCANH_DATA_DIR": str(settings.data_dir),
    }
    runner = CliRunner()
    r = runner.invoke(cli, ["credentials", "aq-a2", "--heartbeat", "90"], env=env)
    assert r.exit_code == 0, r.output
    password = next(line.split(": ", 1)[1] for line in r.output.splitlines() if line.startswith("password:"))
    with db.session() as s:
        cred = devices.credential_of(s, get_asset(s, world, "aq-a2"))
        assert cred is not None and cred.heartbeat_s == 90 and devices.verify_secret(cred, password)
    assert runner.invoke(cli, ["credentials", "aq-a2"], env=env).exit_code == 2  # already has one
    assert runner.invoke(cli, ["credentials", "aq-a2", "--rotate"], env=env).exit_code == 0
    assert runner.invoke(cli, ["credentials", "nope"], env=env).exit_code == 2

    out = tmp_path / "broker"
    r = runner.invoke(
        cli,
        ["broker-files", "--out", str(out), "--service-user", "ioc", "--service-password", "a-long-password"],
        env=env,
    )
    assert r.exit_code == 0, r.output
    assert [line.split(":")[0] for line in (out / "passwd").read_text().splitlines()] == ["ioc", "aq-a2"]
    assert "user ioc" in (out / "acl").read_text()
    assert runner.invoke(cli, ["broker-files", "--out", str(out)], env=env).exit_code == 2  # no password
