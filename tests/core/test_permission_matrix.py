"""Every core resource gets the same permission tests: list, detail and create, for every role."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.conftest import WORLD_USERS
from tests.permission_matrix import Resource, covers
from toancanh.core.auth.permissions import role_has


def _asset_objects(w: Any) -> dict[str, tuple[Any, str, str | None]]:
    return {code: (a.id, _path(w, a.unit_id), a.domain) for code, a in w.assets.items()}


def _path(w: Any, unit_id: int) -> str:
    return next(u.path for u in w.units.values() if u.id == unit_id)


UNIT_KEYS = {"A": "00664", "B": "00070", "H1": "0066401"}

RESOURCES = [
    Resource(
        name="assets",
        list_url="/api/v1/assets?format=json",
        detail_url=lambda i: f"/api/v1/assets/{i}",
        read_permission="assets.read",
        objects=_asset_objects,
        ids_from_list=lambda body: {a["id"] for a in body},
        create_url="/api/v1/assets",
        write_permission="assets.write",
        create_body=lambda w, unit, sfx: {
            "unit_id": w.units[unit].id,
            "code": f"new-{sfx}",
            "type": "camera",
            "domain": "traffic",
            "name": "Camera mới",
            "lat": 20.91,
            "lon": 105.81,
        },
        create_targets=[("A", "traffic"), ("B", "traffic"), ("H1", "traffic")],
    ),
    Resource(
        name="units",
        list_url="/api/v1/units",
        detail_url=lambda i: f"/api/v1/units/{i}",
        read_permission="units.read",
        objects=lambda w: {k: (u.id, u.path, None) for k, u in w.units.items()},
        ids_from_list=lambda body: {u["id"] for u in body},
    ),
    Resource(
        name="agencies",
        list_url="/api/v1/agencies",
        detail_url=lambda i: "",
        read_permission="agencies.read",
        objects=lambda w: {k: (a.id, _path(w, a.unit_id), None) for k, a in w.agencies.items()},
        ids_from_list=lambda body: {a["id"] for a in body},
        create_url="/api/v1/agencies",
        write_permission="agencies.write",
        create_body=lambda w, unit, sfx: {
            "unit_id": w.units[unit].id,
            "code": f"ag-{sfx}",
            "name": "Trạm Y tế",
            "kind": "health",
        },
        create_targets=[("A", None), ("B", None)],
    ),
    Resource(
        name="series",
        list_url="/api/v1/series",
        detail_url=lambda i: "",
        read_permission="series.read",
        objects=lambda w: w.series,
        ids_from_list=lambda body: {s["id"] for s in body},
        create_url="/api/v1/series",
        write_permission="series.write",
        create_body=lambda w, unit, sfx: {
            "unit_id": w.units[unit].id,
            "key": f"s-{sfx}",
            "name": "PM2.5",
            "domain": "environment",
        },
        create_targets=[("A", "environment"), ("B", "environment")],
    ),
]


def _report_objects(w: Any) -> dict[str, tuple[Any, str, str | None]]:
    return w.reports


def _agency_rule(who: str, key: str) -> bool:
    # agency staff see only the reports assigned to their agency (police_a belongs to ca-a)
    return WORLD_USERS[who][0] != "agency_staff" or key == "rep-a-routed"


RESOURCES.append(
    Resource(
        name="reports",
        list_url="/api/v1/reports",
        detail_url=lambda i: f"/api/v1/reports/{i}",
        read_permission="reports.read",
        objects=_report_objects,
        ids_from_list=lambda body: {r["id"] for r in body},
        extra_rule=_agency_rule,
    )
)


def _rule_body(w: Any, unit: str, suffix: str) -> dict[str, Any]:
    return {
        "unit_id": w.units[unit].id,
        "domain": "environment",
        "definition": {
            "code": f"r-{suffix}"[:60],
            "name": "Quy tắc kiểm thử quyền",
            "when": {"type": "threshold", "measure": "pm25", "op": ">", "value": 100},
            "alert": {"category": "air.pm25", "severity": "moderate", "title_vi": "PM2.5 {value}"},
        },
    }


RESOURCES += [
    Resource(
        name="alerts",
        list_url="/api/v1/alerts?limit=500",
        detail_url=lambda i: f"/api/v1/alerts/{i}",
        read_permission="alerts.read",
        objects=lambda w: w.alerts,
        ids_from_list=lambda body: {a["id"] for a in body["items"]},
    ),
    Resource(
        name="events",
        list_url="/api/v1/alerts/events?limit=1000",
        detail_url=lambda i: "",
        read_permission="events.read",
        objects=lambda w: w.events,
        ids_from_list=lambda body: {e["id"] for e in body},
    ),
    Resource(
        name="alert_rules",
        list_url="/api/v1/alerts/rules",
        detail_url=lambda i: f"/api/v1/alerts/rules/{i}",
        read_permission="rules.read",
        objects=lambda w: w.rules,
        ids_from_list=lambda body: {r["id"] for r in body},
        create_url="/api/v1/alerts/rules",
        write_permission="rules.write",
        create_body=_rule_body,
        create_targets=[("A", "environment"), ("B", "environment"), ("H1", "environment")],
    ),
]


def _route_body(w: Any, unit: str, suffix: str) -> dict[str, Any]:
    return {"name": f"r-{suffix}", "unit_id": w.units[unit].id, "channels": ["sms"], "roles": ["leader"]}


RESOURCES.append(  # notification routes: administrators only, whatever the unit
    Resource(
        name="notification_routes",
        list_url="/api/v1/notification-routes",
        detail_url=lambda i: f"/api/v1/notification-routes/{i}",
        read_permission="notifications.manage",
        objects=lambda w: w.routes,
        ids_from_list=lambda body: {r["id"] for r in body},
        create_url="/api/v1/notification-routes",
        write_permission="notifications.manage",
        create_body=_route_body,
        create_targets=[("A", None), ("B", None)],
    )
)


def _route_objects(world: Any, db: Any) -> None:
    from toancanh.modules.notifications import service
    from toancanh.modules.notifications.schemas import RouteIn

    with db.session() as s:
        world.routes = {}
        for unit in ("A", "B"):
            r = service.create_route(s, RouteIn.model_validate(_route_body(world, unit, unit)))
            world.routes[unit] = (r.id, world.units[unit].path, None)


def _alert_objects(world: Any, db: Any) -> None:
    from datetime import UTC, datetime

    from toancanh.modules.alerts.models import Alert, AlertRule, Event

    world.alerts, world.events, world.rules = {}, {}, {}
    now = datetime.now(UTC)
    with db.session() as s:
        for key, unit, domain in (
            ("a-env", "A", "environment"),
            ("h1-traffic", "H1", "traffic"),
            ("b-env", "B", "environment"),
        ):
            u = world.units[unit]
            a = Alert(
                dedup_key=key,
                unit_id=u.id,
                domain=domain,
                category="test.x",
                severity="minor",
                title=key,
                first_at=now,
                last_at=now,
            )
            e = Event(at=now, source="manual", unit_id=u.id, domain=domain, category="test.x", title=key)
            r = AlertRule(
                code=f"rule-{key}",
                name=key,
                unit_id=u.id,
                domain=domain,
                definition=_rule_body(world, unit, key)["definition"],
            )
            s.add_all([a, e, r])
            s.flush()
            world.alerts[key] = (a.id, _path(world, u.id), domain)
            world.events[key] = (e.id, _path(world, u.id), domain)
            world.rules[key] = (r.id, _path(world, u.id), domain)


@pytest.fixture
def matrix_world(world: Any, db: Any) -> Any:
    _alert_objects(world, db)
    _route_objects(world, db)
    from toancanh.core.timeseries import Series
    from toancanh.core.workflow import WorkflowEngine
    from toancanh.modules.reports import service as reports
    from toancanh.modules.reports.models import ReportCategory

    world.series = {}
    with db.session() as s:
        for code in ("aq-a2", "aq-b1", "cam-a1"):
            a = world.assets[code]
            row = Series(key=f"{code}.v", name=code, unit_id=a.unit_id, asset_id=a.id, domain=a.domain)
            s.add(row)
            s.flush()
            world.series[code] = (row.id, _path(world, a.unit_id), a.domain)
    world.reports = {}
    engine = WorkflowEngine()
    with db.session() as s:
        security = s.query(ReportCategory).filter_by(code="an-ninh").one()
        reports.set_route(s, s.merge(world.units["H1"]), security, s.merge(world.agencies["ca-a"]))
        blobs = None
        for key, cat, lat, lon, unit in (
            ("rep-a-routed", "an-ninh", 20.905, 105.805, "H1"),
            ("rep-a-waste", "rac-thai", 20.925, 105.825, "A"),
            ("rep-b", "an-ninh", 21.03, 105.85, "B"),
        ):
            locate = (lambda u: lambda lat, lon: [world.units[u].id])(unit)
            r = reports.submit(
                s,
                engine,
                blobs,
                locate,
                category_code=cat,
                description="Phản ánh kiểm thử quyền",
                lat=lat,
                lon=lon,
                channel="hotline",
            )
            world.reports[key] = (r.id, _path(world, r.unit_id), r.domain)
    return world


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_list_and_detail_follow_grants(client: Any, matrix_world: Any, resource: Resource, who: str) -> None:
    w = matrix_world
    objects = resource.objects(w)
    resp = client.get(resource.list_url, headers=w.auth(who))

    def sees(key: str, path: str, dom: str | None) -> bool:
        extra = resource.extra_rule(who, key) if resource.extra_rule else True
        return covers(who, resource.read_permission, path, dom) and extra

    expected = {oid for key, (oid, path, dom) in objects.items() if sees(key, path, dom)}
    if resp.status_code == 403:  # a role without the permission anywhere may be refused outright
        assert not role_has(WORLD_USERS[who][0], resource.read_permission)
        return
    assert resp.status_code == 200, resp.text
    listed = resource.ids_from_list(resp.json()) & {oid for oid, _, _ in objects.values()}
    assert listed == expected, f"{who} sees {listed}, expected {expected}"
    for key, (oid, path, dom) in objects.items():
        url = resource.detail_url(oid)
        if not url:
            continue
        r = client.get(url, headers=w.auth(who))
        want = 200 if sees(key, path, dom) else 404
        assert r.status_code == want, f"{who} GET {key}: {r.status_code} != {want}"
        if want == 404:
            assert r.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("resource", [r for r in RESOURCES if r.create_url], ids=lambda r: r.name)
@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_create_follows_grants(client: Any, matrix_world: Any, resource: Resource, who: str) -> None:
    w = matrix_world
    assert resource.create_body and resource.write_permission and resource.create_url
    for n, (unit, domain) in enumerate(resource.create_targets):
        body = resource.create_body(w, unit, f"{who}-{n}".replace("_", "-"))
        before = client.get(resource.list_url, headers=w.auth("admin")).json()
        r = client.post(resource.create_url, json=body, headers=w.auth(who))
        path = w.units[unit].path
        allowed = covers(who, resource.write_permission, path, domain)
        assert r.status_code == (201 if allowed else 403), f"{who} create in {unit}: {r.status_code} {r.text}"
        after = client.get(resource.list_url, headers=w.auth("admin")).json()
        assert len(after) == len(before) + (1 if allowed else 0)


def test_unauthenticated_requests_are_refused(client: Any, matrix_world: Any) -> None:
    for resource in RESOURCES:
        r = client.get(resource.list_url)
        assert r.status_code == 401
        assert set(r.json()["error"]) >= {"code", "message", "message_en"}


def test_matrix_is_not_trivial() -> None:
    """Guard against a matrix that would pass by seeing nothing or everything."""
    outcomes = {
        covers(who, "assets.read", path, dom)
        for who, (path, dom) in itertools.product(
            WORLD_USERS, [("/01/00664/", "traffic"), ("/01/00070/", "traffic"), ("/01/00664/", "education")]
        )
    }
    assert outcomes == {True, False}
    assert covers("police_a", "assets.read", "/01/00664/0066401/", "traffic")
    assert not covers("police_a", "assets.read", "/01/00664/0066401/", "education")
    assert covers("traffic_center", "assets.read", "/01/00070/", "traffic")
    assert not covers("op_hamlet", "assets.read", "/01/00664/", "security")
