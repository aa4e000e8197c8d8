"""The permission matrix of directives and tasks: units, domains, and agency staff's own tasks only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import WORLD_USERS
from tests.modules.direction.conftest import act, directive_body, task_spec
from tests.permission_matrix import Resource, covers
from toancanh.core.auth.permissions import role_has

# key: (unit, domain, lead agency, co-operating agencies)
TASKS = {
    "a-police": ("A", "security", "ca-a", []),
    "h1-culture-lead-police-coop": ("H1", "security", "vhxh-a", ["ca-a"]),
    "a-culture": ("A", "culture", "vhxh-a", []),
    "a-security-culture-lead": ("A", "security", "vhxh-a", []),
    "h1-traffic-police": ("H1", "traffic", "ca-a", []),
    "b-police": ("B", "security", "ca-b", []),
}
POLICE_A_TASKS = {"a-police", "h1-culture-lead-police-coop", "h1-traffic-police"}


@pytest.fixture
def pworld(client: Any, dworld: Any) -> Any:
    w = dworld
    w.tasks, w.directives = {}, {}
    for key, (unit, domain, lead, coop) in TASKS.items():
        spec = task_spec(
            w,
            title=f"Nhiệm vụ {key}",
            domain=domain,
            lead_agency_id=w.agencies[lead].id,
            cooperating_agency_ids=[w.agencies[c].id for c in coop],
        )
        r = client.post(
            "/api/v1/directives", json=directive_body(w, unit, tasks=[spec]), headers=w.auth("admin")
        )
        assert r.status_code == 201, r.text
        body = r.json()
        path = w.units[unit].path
        w.tasks[key] = (body["tasks"][0]["id"], path, domain)
        w.directives[key] = (body["id"], path, domain)
    return w


def _agency_rule(who: str, key: str) -> bool:
    return WORLD_USERS[who][0] != "agency_staff" or key in POLICE_A_TASKS


RESOURCES = [
    Resource(
        name="direction_tasks",
        list_url="/api/v1/direction-tasks?limit=500",
        detail_url=lambda i: f"/api/v1/direction-tasks/{i}",
        read_permission="direction.read",
        objects=lambda w: w.tasks,
        ids_from_list=lambda body: {t["id"] for t in body},
        create_url="/api/v1/directives",
        write_permission="direction.issue",
        create_body=lambda w, unit, sfx: directive_body(
            w,
            unit,
            number=f"{sfx[:50]}/UBND",
            tasks=[
                task_spec(
                    w,
                    lead_agency_id=w.agencies["ca-b" if unit == "B" else "ca-a"].id,
                    cooperating_agency_ids=[],
                )
            ],
        ),
        create_targets=[("A", "security"), ("B", "security"), ("H1", "security")],
        extra_rule=_agency_rule,
    ),
    Resource(
        name="directives",
        list_url="/api/v1/directives?limit=500",
        detail_url=lambda i: f"/api/v1/directives/{i}",
        read_permission="direction.read",
        objects=lambda w: w.directives,
        ids_from_list=lambda body: {d["id"] for d in body},
        extra_rule=_agency_rule,
    ),
]


@pytest.mark.parametrize("resource", RESOURCES, ids=lambda r: r.name)
@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_list_and_detail_follow_grants(client: Any, pworld: Any, resource: Resource, who: str) -> None:
    w = pworld
    objects = resource.objects(w)

    def sees(key: str, path: str, dom: str | None) -> bool:
        extra = resource.extra_rule(who, key) if resource.extra_rule else True
        return covers(who, resource.read_permission, path, dom) and extra

    expected = {oid for key, (oid, path, dom) in objects.items() if sees(key, path, dom)}
    resp = client.get(resource.list_url, headers=w.auth(who))
    if resp.status_code == 403:
        assert not role_has(WORLD_USERS[who][0], resource.read_permission)
        assert who in ("viewer_a", "citizen")
        return
    assert resp.status_code == 200, resp.text
    assert resource.ids_from_list(resp.json()) == expected, who
    for key, (oid, path, dom) in objects.items():
        r = client.get(resource.detail_url(oid), headers=w.auth(who))
        assert r.status_code == (200 if sees(key, path, dom) else 404), (who, key, r.status_code)


def test_the_matrix_is_not_trivial(client: Any, pworld: Any) -> None:
    seen = {
        who: {
            k
            for k, (_, path, dom) in pworld.tasks.items()
            if covers(who, "direction.read", path, dom) and _agency_rule(who, k)
        }
        for who in WORLD_USERS
    }
    assert seen["police_a"] == POLICE_A_TASKS
    assert seen["leader_a"] == set(TASKS) - {"b-police"}
    assert seen["op_b"] == {"b-police"}
    assert seen["traffic_center"] == {"h1-traffic-police"}
    assert seen["viewer_a"] == seen["citizen"] == set()


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_issue_follows_grants(client: Any, pworld: Any, who: str) -> None:
    w = pworld
    resource = RESOURCES[0]
    assert resource.create_body and resource.create_url and resource.write_permission
    for n, (unit, domain) in enumerate(resource.create_targets):
        body = resource.create_body(w, unit, f"{who}-{n}")
        before = len(client.get(resource.list_url, headers=w.auth("admin")).json())
        r = client.post(resource.create_url, json=body, headers=w.auth(who))
        allowed = covers(who, resource.write_permission, w.units[unit].path, domain)
        assert r.status_code == (201 if allowed else 403), (who, unit, r.text)
        after = len(client.get(resource.list_url, headers=w.auth("admin")).json())
        assert after == before + (1 if allowed else 0)


def test_other_users_of_the_direction_world(client: Any, pworld: Any) -> None:
    """The culture office sees what it leads or co-operates on; commune B's leader sees commune B."""
    w = pworld
    ids = {k: v[0] for k, v in w.tasks.items()}
    vh = {t["id"] for t in client.get("/api/v1/direction-tasks", headers=w.auth("staff_vh")).json()}
    assert vh == {ids["h1-culture-lead-police-coop"], ids["a-culture"], ids["a-security-culture-lead"]}
    lb = {t["id"] for t in client.get("/api/v1/direction-tasks", headers=w.auth("leader_b")).json()}
    assert lb == {ids["b-police"]}
    # leader B may not decide on commune A's tasks; staff of B may not act on them (not even see them)
    assert act(client, w, "leader_b", ids["a-police"], "accept").status_code == 404
    assert act(client, w, "staff_b", ids["a-police"], "acknowledge").status_code == 404
    # the co-operating agency reports progress but may not acknowledge for the lead
    assert act(client, w, "police_a", ids["h1-culture-lead-police-coop"], "acknowledge").status_code == 403
    assert act(client, w, "staff_vh", ids["h1-culture-lead-police-coop"], "acknowledge").status_code == 200
    r = act(
        client,
        w,
        "police_a",
        ids["h1-culture-lead-police-coop"],
        "report_progress",
        percent=10,
        text="Đã phối hợp",
    )
    assert r.status_code == 200, r.text
    # an operator reads but does not act
    assert act(client, w, "op_a", ids["a-police"], "acknowledge").status_code == 403
    for url in ("/api/v1/direction-tasks/ranking", "/api/v1/direction-tasks/stats", "/api/v1/directives"):
        assert client.get(url, headers=w.auth("viewer_a")).status_code == 403
        assert client.get(url, headers=w.auth("citizen")).status_code == 403
        assert client.get(url).status_code == 401


def test_unknown_ids_are_not_found(client: Any, pworld: Any) -> None:
    h = pworld.auth("leader_a")
    for url in ("/api/v1/direction-tasks/999999", "/api/v1/directives/999999"):
        r = client.get(url, headers=h)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/direction-tasks/{2**63}", headers=h).status_code == 422
