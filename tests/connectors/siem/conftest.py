"""An IOC with the SIEM connector listening on free ports of 127.0.0.1 and following an alerts.json, in the
small world of tests/conftest.py plus two servers with ip/hostname attributes and an infosec SOC user."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.conftest import build_world
from toancanh.core.assets import Asset
from toancanh.core.auth.service import create_user, open_session
from toancanh.core.db import utcnow
from toancanh.modules.alerts.models import Event

VN = timedelta(hours=7)
SERVERS = {
    # code: (unit key, attributes)
    "srv-a": ("A", {"ip": "10.0.1.5", "hostname": "web-a.daithanh.gov.vn"}),
    "srv-b": ("B", {"ips": ["10.0.2.5", "10.0.2.6"], "hostname": "mail-b"}),
}


def bsd_now(offset_s: float = 0) -> str:
    """The current time as an RFC 3164 header writes it in Viet Nam ("Dec  4 21:00:00")."""
    t = (datetime.now(UTC) + VN + timedelta(seconds=offset_s)).replace(tzinfo=None)
    return f"{t:%b} {t.day:2d} {t:%H:%M:%S}"


def iso_now(offset_s: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(seconds=offset_s)).isoformat(timespec="milliseconds")


def wazuh_alert(alert_id: str, level: int = 5, agent: str = "web-a", **more: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "timestamp": iso_now(-5),
        "rule": {"level": level, "description": f"Wazuh rule {alert_id}", "id": "5710", "groups": ["sshd"]},
        "agent": {"id": "001", "name": agent, "ip": "10.9.0.1"},
        "id": alert_id,
        "full_log": "full log line",
        "data": {"srcip": "203.0.113.9"},
    }
    doc.update(more)
    return doc


def wazuh_line(alert_id: str, **kw: Any) -> bytes:
    return orjson.dumps(wazuh_alert(alert_id, **kw))


def count_events(db: Any) -> int:
    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Event)) or 0)


def events(db: Any) -> list[Event]:
    with db.session() as s:
        return list(s.scalars(select(Event).order_by(Event.id)))


def wait_for(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what} not met in {timeout} s"
        time.sleep(0.05)


def add_servers(db: Any, world: Any) -> None:
    with db.session() as s:
        for code, (unit, attrs) in SERVERS.items():
            u = world.units[unit]
            s.add(
                Asset(
                    code=code,
                    type="server",
                    domain="infosec",
                    name=code.upper(),
                    unit_id=u.id,
                    lat=21.0,
                    lon=105.8,
                    attributes=attrs,
                )
            )
        soc = create_user(s, "soc", "soc-password", role="operator", unit_code="01", domains=["infosec"])
        world.users["soc"] = soc
        world.tokens["soc"], _ = open_session(s, soc, kind="token", hours=1, now=utcnow())


@pytest.fixture
def siem(settings: Any, db: Any, tmp_path: Path) -> Iterator[SimpleNamespace]:
    from toancanh.app import create_app

    world = build_world(db)
    add_servers(db, world)
    alerts_file = tmp_path / "alerts.json"
    alerts_file.write_bytes(b"")
    cfg = settings.model_copy(
        update={
            "connectors": ["siem"],
            "siem_syslog_udp_port": -1,
            "siem_syslog_tcp_port": -1,
            "siem_wazuh_alerts_file": str(alerts_file),
            "siem_rate_per_s": 1000.0,
            "siem_rate_burst": 200,
        }
    )
    app = create_app(cfg, database=db)
    with TestClient(app) as client:
        coord = wait_for(lambda: app.state.connectors.get("siem"), what="the siem connector")
        wait_for(lambda: coord.available, what="siem available")
        coord._tail.poll_s = 0.05
        yield SimpleNamespace(app=app, client=client, coord=coord, world=world, db=db, file=alerts_file)


def send_udp(port: int, *lines: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for line in lines:
            s.sendto(line, ("127.0.0.1", port))


def send_tcp(port: int, data: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
