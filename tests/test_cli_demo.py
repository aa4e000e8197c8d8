"""The command line (db, units, users, demo) and the Đại Thanh demo with its simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from toancanh.cli import app as cli
from toancanh.core.assets import Asset
from toancanh.core.auth.models import User
from toancanh.core.db import Database
from toancanh.core.outbox import OutboxEvent
from toancanh.core.timeseries import Sample
from toancanh.core.units import Unit
from toancanh.demo.seed import DEMO_PASSWORDS, seed_demo
from toancanh.demo.simulator import Simulator
from toancanh.modules.reports.models import FieldReport
from toancanh.settings import Settings

runner = CliRunner()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TOANCANH_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("TOANCANH_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "var"


def _db(data_dir: Path) -> Database:
    return Database(f"sqlite:///{data_dir / 'toancanh.db'}")


def test_db_units_user_commands(cli_env: Path) -> None:
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    r = runner.invoke(cli, ["units", "import", "--province", "01"])
    assert r.exit_code == 0, r.output
    assert "126" in r.output  # Hà Nội has 126 communes and wards since 1 July 2025
    r = runner.invoke(
        cli, ["user", "create", "nva", "--role", "operator", "--unit", "00664", "--password", "mat-khau-123"]
    )
    assert r.exit_code == 0, r.output
    bad = runner.invoke(cli, ["user", "create", "nvb", "--role", "wizard", "--password", "mat-khau-123"])
    assert bad.exit_code == 2
    bad = runner.invoke(cli, ["units", "import", "--province", "99"])
    assert bad.exit_code == 2
    db = _db(cli_env)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Unit)) == 127
        user = s.scalar(select(User).where(User.username == "nva"))
        assert [(g.role, g.unit_id is not None) for g in user.grants] == [("operator", True)]
        assert s.scalar(select(func.count()).select_from(User).where(User.username == "nvb")) == 0
    db.dispose()


def test_boundaries_import(cli_env: Path, tmp_path: Path) -> None:
    runner.invoke(cli, ["db", "upgrade"])
    runner.invoke(cli, ["units", "import", "--province", "01"])
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": "00664"},
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[105.8, 20.9], [105.84, 20.9], [105.84, 20.95], [105.8, 20.95], [105.8, 20.9]]
                    ],
                },
            }
        ],
    }
    path = tmp_path / "b.geojson"
    path.write_text(json.dumps(fc))
    r = runner.invoke(cli, ["units", "boundaries", str(path)])
    assert r.exit_code == 0, r.output
    db = _db(cli_env)
    with db.session() as s:
        unit = s.scalar(select(Unit).where(Unit.code == "00664"))
        assert unit.boundary["type"] == "Polygon" and abs(unit.lat - 20.925) < 1e-6
    db.dispose()
    fc["features"][0]["geometry"]["coordinates"][0][0] = [999, 20.9]
    path.write_text(json.dumps(fc))
    assert runner.invoke(cli, ["units", "boundaries", str(path)]).exit_code == 2


def test_demo_seeds_once_and_reset_starts_over(cli_env: Path) -> None:
    r = runner.invoke(cli, ["demo", "--no-serve"])
    assert r.exit_code == 0, r.output
    for user, (password, _) in DEMO_PASSWORDS.items():
        assert user in r.output and password in r.output
    db = _db(cli_env)
    with db.session() as s:
        commune = s.scalar(select(Unit).where(Unit.code == "00664"))
        assert commune.synthetic and commune.boundary and commune.population == 110_000
        assert s.scalar(select(func.count()).where(Unit.parent_id == commune.id)) >= 12
        assert s.scalar(select(func.count()).select_from(Asset).where(Asset.type == "school")) == 20
        assert s.scalar(select(func.count()).select_from(Asset).where(Asset.type == "camera")) >= 30
        assert s.scalar(select(func.count()).select_from(Sample)) > 1000
        s.add(
            Asset(
                code="extra", type="other", domain="urban", name="x", unit_id=commune.id, lat=20.9, lon=105.8
            )
        )
    db.dispose()
    r = runner.invoke(cli, ["demo", "--no-serve"])
    assert "đã có sẵn" in r.output
    r = runner.invoke(cli, ["demo", "--no-serve", "--reset"])
    assert r.exit_code == 0, r.output
    db = _db(cli_env)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Asset).where(Asset.code == "extra")) == 0
    db.dispose()


def test_simulator_emits_events_through_the_outbox(settings: Settings, db: Database) -> None:
    assert seed_demo(db)
    assert not seed_demo(db)
    with db.session() as s:
        before = s.scalar(select(func.count()).select_from(OutboxEvent))
        samples_before = s.scalar(select(func.count()).select_from(Sample))
        reports_before = s.scalar(select(func.count()).select_from(FieldReport))
    sim = Simulator(db, seed=1)
    kinds = [sim.tick() for _ in range(40)]
    assert {"waste", "violation", "report"} <= set(kinds)
    with db.session() as s:
        events = s.scalars(select(OutboxEvent).order_by(OutboxEvent.id).offset(before)).all()
        assert len(events) >= 40
        assert all(e.unit_path and e.unit_path.startswith("/01/00664/") for e in events)
        # every event has a ticker title, except the steps of a report's case (opened, assign, ...)
        assert all(e.data.get("title_vi") or e.data.get("case_type") == "field_report" for e in events)
        assert s.scalar(select(func.count()).select_from(Sample)) > samples_before
        # simulated citizens' reports are real reports, routed like any other
        new = s.scalars(select(FieldReport).order_by(FieldReport.id).offset(reports_before)).all()
        assert len(new) == kinds.count("report") and all(r.channel == "web" for r in new)
        assert any(r.state == "assigned" for r in new)


def test_demo_reports_in_every_state(settings: Settings, db: Database, client: Any) -> None:
    from toancanh.modules.reports.models import RoutingRule

    assert seed_demo(db)
    with db.session() as s:
        states = dict(
            s.execute(select(FieldReport.state, func.count()).group_by(FieldReport.state)).tuples().all()
        )
        assert sum(states.values()) == 40 and states["closed"] >= 10
        assert {"received", "assigned", "in_progress", "resolved", "rejected", "merged"} <= set(states)
        sla = s.scalars(select(FieldReport.sla_status).where(FieldReport.state.not_in(["closed"]))).all()
        assert sla.count("overdue") == 1
        assert s.scalar(select(func.count()).select_from(RoutingRule)) == 13  # all but "khác"
        assert s.scalar(select(func.count()).where(FieldReport.rating.is_not(None))) >= 10
    r = client.get("/login")  # the statistics of the demo, as its operator sees them
    import re

    token = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
    client.post(
        "/login", data={"username": "trucban", "password": DEMO_PASSWORDS["trucban"][0], "csrf": token}
    )
    totals = client.get("/api/v1/reports/stats").json()["totals"]
    assert totals["received"] == 40 and totals["late"] >= 1 and totals["overdue"] == 1
    assert 0.5 < totals["on_time_rate"] < 1 and 0.5 < totals["satisfaction_rate"] <= 1


def test_settings_from_env_and_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    toml = tmp_path / "toancanh.toml"
    toml.write_text('bus_url = "nats://127.0.0.1:4222"\nmodules = ["admin"]\nsite_name = "IOC Đại Thanh"\n')
    monkeypatch.setenv("TOANCANH_CONFIG", str(toml))
    monkeypatch.setenv("TOANCANH_SITE_NAME", "IOC từ biến môi trường")
    monkeypatch.setenv("TOANCANH_DATA_DIR", str(tmp_path / "d"))
    import importlib

    import toancanh.settings as mod

    importlib.reload(mod)
    s = mod.Settings()
    assert s.bus_url == "nats://127.0.0.1:4222"  # from the file
    assert s.site_name == "IOC từ biến môi trường"  # the environment wins over the file
    assert s.resolved_database_url.endswith("/d/toancanh.db")
    with pytest.raises(ValueError):
        mod.Settings(bus_url="kafka://nope")
    monkeypatch.delenv("TOANCANH_CONFIG")
    importlib.reload(mod)


def test_home_page_shows_demo_kpis(settings: Settings, db: Database, client: Any) -> None:
    seed_demo(db)
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login", data={"username": "trucban", "password": DEMO_PASSWORDS["trucban"][0], "csrf": token}
    )
    assert r.status_code == 200 and "Xã Đại Thanh" in r.text
    assert "110.000" in r.text and "Dữ liệu địa lý mô phỏng" in r.text
    charts = client.get("/ui/charts.json").json()
    assert len(charts["events_per_hour"]) == 24 and charts["pm25"] and charts["pm25"][0]["points"]
    assert client.get("/admin/assets").status_code == 200
    assert client.get("/admin/users").status_code == 403  # an operator may not list users
