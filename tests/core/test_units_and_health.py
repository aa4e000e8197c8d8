"""Official units, point -> unit lookup on both databases, module shape, health and metrics."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

import toancanh.modules
from toancanh.core.modules import REQUIRED_FILES, Module
from toancanh.core.units import LEVEL_COMMUNE, LEVEL_PROVINCE, Unit, import_official_units, unit_index


def test_import_all_official_units_is_idempotent(db: Any) -> None:
    with db.session() as s:
        assert import_official_units(s) == (34, 3321)
    with db.session() as s:
        assert import_official_units(s) == (34, 3321)
        assert s.scalar(select(func.count()).where(Unit.level == LEVEL_PROVINCE)) == 34
        assert s.scalar(select(func.count()).where(Unit.level == LEVEL_COMMUNE)) == 3321
        dai_thanh = s.scalar(select(Unit).where(Unit.code == "00664"))
        assert dai_thanh.name == "Xã Đại Thanh" and dai_thanh.path == "/01/00664/"


def test_unknown_province_is_refused(db: Any) -> None:
    import pytest

    from toancanh.core.errors import BadRequest

    with db.session() as s, pytest.raises(BadRequest):
        import_official_units(s, ["99"])


def test_locate_returns_most_specific_first(client: Any, world: Any) -> None:
    r = client.get("/api/v1/units/locate?lat=20.905&lon=105.805", headers=world.auth("admin")).json()
    assert [u["code"] for u in r["units"]] == ["0066401", "00664"]
    r = client.get("/api/v1/units/locate?lat=10.0&lon=106.0", headers=world.auth("admin")).json()
    assert r["units"] == []
    # a commune-B operator does not learn about commune A
    r = client.get("/api/v1/units/locate?lat=20.905&lon=105.805", headers=world.auth("op_b")).json()
    assert r["units"] == []


def test_postgis_agrees_with_the_python_index(client: Any, world: Any, db: Any, app: Any) -> None:
    if not db.is_postgres:
        return
    points = [(20.905, 105.805), (20.905, 105.825), (20.93, 105.81), (21.03, 105.85), (10.0, 106.0)]
    with db.session() as s:
        index = unit_index(s, app.state)
        for lat, lon in points:
            sql = s.execute(
                text(
                    "SELECT id FROM units WHERE ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) "
                    "ORDER BY level DESC"
                ),
                {"lat": lat, "lon": lon},
            ).scalars()
            assert list(sql) == index.locate(lat, lon)


def test_every_module_has_the_same_shape() -> None:
    names = [m.name for m in pkgutil.iter_modules(toancanh.modules.__path__)]
    assert names, "no modules found"
    for name in names:
        folder = Path(toancanh.modules.__path__[0]) / name
        missing = [f for f in REQUIRED_FILES if not (folder / f).exists()]
        assert not missing, f"modules/{name} lacks {missing}"
        module = importlib.import_module(f"toancanh.modules.{name}").module
        assert isinstance(module, Module) and module.name == name
        assert module.title_vi and module.title_en


def test_every_connector_has_the_same_shape() -> None:
    import json

    import toancanh.connectors
    from toancanh.core.connectors import REQUIRED_FILES as CONNECTOR_FILES
    from toancanh.core.connectors import Connector

    names = [m.name for m in pkgutil.iter_modules(toancanh.connectors.__path__)]
    assert {"mqtt", "cap"} <= set(names)
    for name in names:
        folder = Path(toancanh.connectors.__path__[0]) / name
        missing = [f for f in CONNECTOR_FILES if not (folder / f).exists()]
        assert not missing, f"connectors/{name} lacks {missing}"
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["name"] == name and manifest["title_vi"] and manifest["title_en"]
        connector = importlib.import_module(f"toancanh.connectors.{name}").connector
        assert isinstance(connector, Connector) and connector.name == name


def test_health_ready_metrics(client: Any) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    body = ready.json()
    assert ready.status_code == 200
    assert {k: body[k] for k in ("status", "database", "bus")} == {
        "status": "ok",
        "database": True,
        "bus": True,
    }
    # one process in the default role holds every periodic job's lease
    assert body["role"] == "all" and "job:reports-deadlines" in body["leases"]["held"]
    client.get("/healthz")
    metrics = client.get("/metrics").text
    assert 'toancanh_http_requests_total{method="GET",route="/healthz",status="200"}' in metrics


def test_readyz_reports_a_dead_database(client: Any, app: Any) -> None:
    app.state.db.ping = lambda: False
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["database"] is False


def test_responses_carry_security_headers(client: Any) -> None:
    r = client.get("/login")
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-request-id"]
