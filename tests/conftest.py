"""Fixtures shared by the whole suite.

The suite runs on the embedded default (SQLite file + in-process bus) unless
TOANCANH_TEST_DATABASE_URL (PostgreSQL) and/or TOANCANH_TEST_BUS_URL (nats://) are set; `scripts/test`
runs it both ways. Each test gets an empty, migrated database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import text

from toancanh.core.auth.service import configure_hasher
from toancanh.core.db import Database
from toancanh.core.migrate import upgrade
from toancanh.settings import Settings

PG_URL = os.environ.get("TOANCANH_TEST_DATABASE_URL", "")
BUS_URL = os.environ.get("TOANCANH_TEST_BUS_URL", "memory://")
BACKEND = "postgresql" if PG_URL else "sqlite"

# Hashing strength is not what the suite tests; a cheap argon2 keeps hundreds of logins fast.
configure_hasher(time_cost=1, memory_cost=1024)


def pytest_report_header(config: Any) -> str:
    return f"toancanh backends: database={BACKEND} bus={BUS_URL}"


@contextlib.contextmanager
def serving(app: Any, name: str = "test-uvicorn") -> Iterator[str]:
    """Run `app` with uvicorn on a free port of 127.0.0.1 in a thread; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_config=None, log_level="warning", lifespan="on", timeout_graceful_shutdown=2
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert thread.is_alive(), "uvicorn stopped during startup"
        assert time.monotonic() < deadline, "uvicorn did not start in 20 s"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        srv.force_exit = True  # do not wait for browsers' open event streams
        thread.join(10)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not stop"


def seeded_demo_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings of a fresh demo IOC (SQLite in `data_dir`, whatever the environment says), migrated and seeded."""
    from toancanh.demo.seed import seed_demo

    settings = Settings(
        data_dir=data_dir,
        database_url="",
        bus_url="memory://",
        secret_key="e2e-secret",
        log_json=False,
        log_level="WARNING",
        **{"camera_monitor": False, **overrides},
    )
    upgrade(settings.resolved_database_url)
    seed_db = Database(settings.resolved_database_url)
    assert seed_demo(seed_db)
    seed_db.dispose()
    return settings


@pytest.fixture(scope="session")
def _pg_database() -> Iterator[str | None]:
    """A fresh PostgreSQL database for this test session, migrated once."""
    if not PG_URL:
        yield None
        return
    from sqlalchemy import create_engine

    name = f"tc_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        PG_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
        # Tests never crash PostgreSQL itself: commits need not wait for the WAL flush.
        c.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import sqlite3

    path = tmp_path_factory.mktemp("template") / "toancanh.db"
    upgrade(f"sqlite:///{path}")
    conn = sqlite3.connect(path)  # fold the WAL into the main file so that a copy of it is complete
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path


@pytest.fixture
def database_url(tmp_path: Path, _pg_database: str | None, _sqlite_template: Path) -> Iterator[str]:
    if _pg_database:
        db = Database(_pg_database)
        with db.engine.begin() as c:
            # DELETE with triggers and foreign-key checks off, then the sequences back to 1: the same clean
            # state as TRUNCATE ... RESTART IDENTITY, about ten times faster on these small tables (TRUNCATE
            # makes new files for every table and index, for every test).
            names = c.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename NOT IN ('alembic_version', 'spatial_ref_sys')"
                )
            ).scalars()
            sequences = c.execute(
                text(
                    "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public'"
                )
            ).scalars()
            c.execute(text("SET LOCAL session_replication_role = replica"))
            for name in list(names):
                c.execute(text(f'DELETE FROM "{name}"'))
            for seq in list(sequences):
                c.execute(text(f"SELECT setval('\"{seq}\"', 1, false)"))
        db.dispose()
        yield _pg_database
        return
    target = tmp_path / "data" / "toancanh.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(_sqlite_template, target)
    yield f"sqlite:///{target}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        bus_url=BUS_URL,
        secret_key="test-secret",
        relay_interval_s=0.05,
        camera_monitor=False,  # tests that watch cameras turn it on
        onvif_probe_address="127.0.0.1:9",  # no network in tests: the discovery probe stays on this machine
        onvif_timeout_s=0.2,
        log_json=False,
        log_level="WARNING",
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.resolved_database_url)
    yield database
    database.dispose()


@pytest.fixture
def app(settings: Settings, db: Database) -> Any:
    from toancanh.app import create_app

    return create_app(settings, database=db)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


# ---------------------------------------------------------------- a small world with two communes


def square(lon: float, lat: float, d: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[lon, lat], [lon + d, lat], [lon + d, lat + d], [lon, lat + d], [lon, lat]]],
    }


@dataclass
class World:
    """Province 01 with commune A (00664, two hamlets) and commune B (00070), assets in each."""

    units: dict[str, Any] = field(default_factory=dict)
    agencies: dict[str, Any] = field(default_factory=dict)
    assets: dict[str, Any] = field(default_factory=dict)
    users: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


# who: (role, unit code or None for everywhere, domains)
WORLD_USERS: dict[str, tuple[str, str | None, list[str] | None]] = {
    "admin": ("admin", None, None),
    "leader_a": ("leader", "00664", None),
    "op_a": ("operator", "00664", None),
    "op_hamlet": ("operator", "0066401", None),
    "op_b": ("operator", "00070", None),
    "police_a": ("agency_staff", "00664", ["security", "traffic"]),
    "traffic_center": ("operator", "01", ["traffic"]),
    "viewer_a": ("viewer", "00664", None),
    "citizen": ("citizen", "00664", None),
}


def build_world(db: Database) -> World:
    from toancanh.core.assets import Asset
    from toancanh.core.auth.service import create_user, open_session
    from toancanh.core.db import utcnow
    from toancanh.core.units import Agency, add_unit

    w = World()
    with db.session() as s:
        prov = add_unit(s, code="01", name="Thành phố Hà Nội", kind="thành phố trung ương")
        a = add_unit(
            s, code="00664", name="Xã Đại Thanh", kind="xã", parent=prov, boundary=square(105.80, 20.90, 0.04)
        )
        b = add_unit(
            s,
            code="00070",
            name="Phường Hoàn Kiếm",
            kind="phường",
            parent=prov,
            boundary=square(105.84, 21.02, 0.02),
        )
        h1 = add_unit(
            s, code="0066401", name="Thôn Một", kind="thôn", parent=a, boundary=square(105.80, 20.90, 0.02)
        )
        h2 = add_unit(
            s, code="0066402", name="Thôn Hai", kind="thôn", parent=a, boundary=square(105.82, 20.90, 0.02)
        )
        w.units = {"01": prov, "A": a, "B": b, "H1": h1, "H2": h2}
        for code, unit in (("ca-a", a), ("ca-b", b)):
            ag = Agency(
                unit_id=unit.id, code=code, name=f"Công an {unit.name}", kind="police", domains=["security"]
            )
            s.add(ag)
            w.agencies[code] = ag
        s.flush()
        specs = [
            ("cam-a1", "camera", "traffic", h1, 20.905, 105.805),
            ("aq-a2", "sensor", "environment", h2, 20.905, 105.825),
            ("hyd-a", "hydrant", "security", a, 20.93, 105.81),
            ("sch-a", "school", "education", h1, 20.91, 105.81),
            ("cam-b1", "camera", "traffic", b, 21.03, 105.85),
            ("aq-b1", "sensor", "environment", b, 21.03, 105.85),
        ]
        for code, type_, domain, unit, lat, lon in specs:
            asset = Asset(
                code=code, type=type_, domain=domain, name=code.upper(), unit_id=unit.id, lat=lat, lon=lon
            )
            s.add(asset)
            w.assets[code] = asset
        s.flush()
        now = utcnow()
        for who, (role, unit_code, domains) in WORLD_USERS.items():
            agency = w.agencies["ca-a"].id if who == "police_a" else None
            user = create_user(
                s, who, f"{who}-password", role=role, unit_code=unit_code, domains=domains, agency_id=agency
            )
            w.users[who] = user
            w.tokens[who], _ = open_session(s, user, kind="token", hours=1, now=now)
    return w


@pytest.fixture
def world(db: Database, client: TestClient) -> World:
    return build_world(db)
