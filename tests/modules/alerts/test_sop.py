"""Response procedures (SOP): templates validated and versioned, runs keep their copy, steps recorded by
role, and steps past due escalated to the leaders once.

The escalation tests build their own engine without the app, so no background loop moves clocks behind
the test's back; time is explicit (`now=`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import build_world
from tests.modules.alerts.test_incidents import BASE, act, open_incident
from toancanh.core.audit import AuditEntry
from toancanh.core.errors import Forbidden, Unprocessable
from toancanh.core.outbox import OutboxEvent
from toancanh.core.workflow import WorkflowEngine
from toancanh.core.worktime import VN_TZ
from toancanh.modules.alerts import incidents, sop
from toancanh.modules.alerts.models import Incident, SopRun, SopStep, SopTemplate
from toancanh.modules.alerts.sop_seed import BUILT_IN, ensure_sop_templates
from toancanh.modules.alerts.workflow import INCIDENT

SOPS = "/api/v1/alerts/sops"


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


def template_body(**kw: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "sop-chemical",
        "name": "Ứng phó rò rỉ hóa chất",
        "name_en": "Chemical leak response",
        "incident_type": "chemical",
        "steps": [
            {
                "key": "isolate",
                "title_vi": "Khoanh vùng, cấm người qua lại",
                "role": "operator",
                "minutes": 10,
            },
            {"key": "call_114", "title_vi": "Gọi 114", "role": "operator", "minutes": 5, "action": "call"},
        ],
    }
    body.update(kw)
    return body


def steps_of(client: Any, world: Any, iid: int, who: str = "op_a") -> dict[str, dict[str, Any]]:
    d = client.get(f"{BASE}/{iid}", headers=world.auth(who)).json()
    return {s["key"]: s for run in d["sop_runs"] for s in run["steps"]}


def done(client: Any, world: Any, who: str, step_id: int, note: str = "", skip: bool = False) -> Any:
    url = f"{BASE}/steps/{step_id}/{'skip' if skip else 'done'}"
    return client.post(url, json={"note": note}, headers=world.auth(who))


# ------------------------------------------------------------------------------------------- templates


def test_built_in_procedures_are_valid_and_seeded_once(client: Any, world: Any, db: Any) -> None:
    r = client.get(SOPS, headers=world.auth("viewer_a"))
    assert r.status_code == 200
    assert {t["incident_type"] for t in r.json()} == {"fire", "flood", "air_quality", "device", "weather"}
    for spec in BUILT_IN:
        sop.validate_template(spec)
    with db.session() as s:
        assert ensure_sop_templates(s) == 0
    fire = client.get(f"{SOPS}?incident_type=fire", headers=world.auth("op_a")).json()[0]
    assert [s["key"] for s in fire["steps"]][:2] == ["check_camera", "call_114"]
    assert any(s["role"] == "leader" for s in fire["steps"])
    assert client.get(SOPS, headers=world.auth("citizen")).status_code == 403


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"steps": []}, "steps"),
        ({"code": "Bad Code"}, "code"),
        ({"incident_type": "Cháy"}, "incident_type"),
        ({"steps": [{"key": "a", "title_vi": "A", "role": "operator", "minutes": 0}]}, "minutes"),
        ({"steps": [{"key": "a", "title_vi": "A", "role": "operator", "minutes": 10081}]}, "minutes"),
        ({"steps": [{"key": "a", "title_vi": "A", "role": "citizen", "minutes": 5}]}, "role"),
        (
            {"steps": [{"key": "a", "title_vi": "A", "role": "operator", "minutes": 5, "action": "pray"}]},
            "action",
        ),
        ({"steps": [{"key": "Bước 1", "title_vi": "A", "role": "operator", "minutes": 5}]}, "key"),
        ({"steps": [{"key": "a", "title_vi": "  ", "role": "operator", "minutes": 5}]}, "title_vi"),
        ({"steps": [{"key": "a", "title_vi": "A", "role": "operator", "minutes": 5, "who": "x"}]}, "who"),
        (
            {"steps": [{"key": "a", "title_vi": "A", "role": "operator", "minutes": 5}] * 2},
            "steps",
        ),
    ],
)
def test_template_validation_errors(
    client: Any, world: Any, db: Any, change: dict[str, Any], where: str
) -> None:
    body = template_body(**change)
    r = client.post(SOPS, json=body, headers=world.auth("admin"))
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "validation_error" and err["message"] and err["message_en"]
    assert any(where in "/".join(d["loc"]) or where in d["msg"] for d in err["details"]), err
    with pytest.raises(Unprocessable) as exc:  # the service says the same without the API
        sop.validate_template(body)
    assert exc.value.details
    with db.session() as s:
        assert s.scalar(select(SopTemplate).where(SopTemplate.code == "sop-chemical")) is None


def test_templates_are_versioned_and_runs_keep_their_copy(client: Any, world: Any, db: Any) -> None:
    assert client.post(SOPS, json=template_body(), headers=world.auth("op_a")).status_code == 403
    r = client.post(SOPS, json=template_body(), headers=world.auth("admin"))
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    assert r.json()["version"] == 1
    assert (
        client.post(SOPS, json=template_body(), headers=world.auth("admin")).status_code == 409
    )  # same code
    r = client.post(SOPS, json=template_body(code="sop-chemical-2"), headers=world.auth("admin"))
    assert r.status_code == 409  # a second active procedure for the same incident type
    engine = client.app.state.workflow
    first = open_incident(db, engine, world, type="chemical", title="Rò rỉ khí clo tại trạm cấp nước")
    new_steps = [
        {"key": "evacuate", "title_vi": "Sơ tán người dân bán kính 300 m", "role": "leader", "minutes": 15}
    ]
    r = client.put(f"{SOPS}/{tid}", json=template_body(steps=new_steps), headers=world.auth("op_a"))
    assert r.status_code == 403
    r = client.put(f"{SOPS}/{tid}", json=template_body(steps=new_steps), headers=world.auth("admin"))
    assert r.status_code == 200 and r.json()["version"] == 2
    assert client.put(f"{SOPS}/987654", json=template_body(), headers=world.auth("admin")).status_code == 404
    second = open_incident(db, engine, world, type="chemical", title="Rò rỉ khí clo lần hai")
    old = client.get(f"{BASE}/{first}", headers=world.auth("op_a")).json()["sop_runs"][0]
    new = client.get(f"{BASE}/{second}", headers=world.auth("op_a")).json()["sop_runs"][0]
    assert old["template_version"] == 1 and [s["key"] for s in old["steps"]] == ["isolate", "call_114"]
    assert new["template_version"] == 2 and [s["key"] for s in new["steps"]] == ["evacuate"]
    with db.session() as s:
        changes = s.scalars(
            select(AuditEntry.changes).where(AuditEntry.action == "sop_template.update")
        ).one()
    assert changes["version"] == [1, 2] and "steps" in changes
    # a template that does not auto-start leaves new incidents without a run
    body = template_body(steps=new_steps, auto_start=False)
    assert client.put(f"{SOPS}/{tid}", json=body, headers=world.auth("admin")).status_code == 200
    third = open_incident(db, engine, world, type="chemical", title="Rò rỉ lần ba")
    assert client.get(f"{BASE}/{third}", headers=world.auth("op_a")).json()["sop_runs"] == []


def test_start_a_procedure_by_hand(client: Any, world: Any, db: Any) -> None:
    iid = open_incident(db, client.app.state.workflow, world)
    device = client.get(f"{SOPS}?incident_type=device", headers=world.auth("op_a")).json()[0]
    url = f"{BASE}/{iid}/sop/start"
    assert (
        client.post(url, json={"template_id": device["id"]}, headers=world.auth("viewer_a")).status_code
        == 403
    )
    assert client.post(url, json={"template_id": device["id"]}, headers=world.auth("op_b")).status_code == 404
    assert client.post(url, json={"template_id": 987654}, headers=world.auth("op_a")).status_code == 400
    r = client.post(url, json={"template_id": device["id"]}, headers=world.auth("leader_a"))
    assert r.status_code == 201, r.text
    runs = r.json()["sop_runs"]
    assert [run["template_code"] for run in runs] == ["sop-fire", "sop-device"]
    assert runs[1]["started_by"] == "leader_a"
    assert client.post(url, json={"template_id": device["id"]}, headers=world.auth("op_a")).status_code == 409
    act(client, world, "op_a", iid, "dismiss", reason="Báo động giả")
    fire = runs[0]["template_id"]
    assert client.post(url, json={"template_id": fire}, headers=world.auth("op_a")).status_code == 409


# ------------------------------------------------------------------------------------------- steps


def test_steps_are_recorded_by_role_once_and_out_of_order_is_noted(client: Any, world: Any, db: Any) -> None:
    iid = open_incident(db, client.app.state.workflow, world)
    steps = steps_of(client, world, iid)
    chairman, confirm = steps["notify_chairman"]["id"], steps["confirm_out"]["id"]
    assert steps_of(client, world, iid, "leader_a")["notify_chairman"]["can_do"]
    assert not steps_of(client, world, iid, "leader_a")["call_114"]["can_do"]
    for who, status in (("police_a", 403), ("viewer_a", 403), ("op_b", 404), ("citizen", 404)):
        r = done(client, world, who, chairman)
        assert r.status_code == status, (who, r.text)
    r = done(client, world, "leader_a", chairman, "Đã chỉ đạo huy động lực lượng")
    assert r.status_code == 200, r.text
    step = next(s for s in r.json()["sop_runs"][0]["steps"] if s["id"] == chairman)
    assert step["status"] == "done" and step["done_by"] == "leader_a" and step["done_at"]
    assert step["out_of_order"] and not step["overdue"]  # three earlier steps were still open
    assert done(client, world, "op_a", chairman).status_code == 409
    assert done(client, world, "leader_a", steps["call_114"]["id"]).status_code == 403  # operator's step
    assert done(client, world, "police_a", confirm).status_code == 200  # agency staff's own step
    r = done(client, world, "op_a", steps["evacuate_school_kitchen"]["id"], skip=True)
    assert r.status_code == 422 and r.json()["error"]["details"] == {"missing": ["note"]}
    assert (
        done(
            client, world, "op_a", steps["evacuate_school_kitchen"]["id"], "Không phải trường học", True
        ).status_code
        == 200
    )
    assert done(client, world, "op_a", 987654).status_code == 404
    with db.session() as s:
        audit = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "sop_step.done").order_by(AuditEntry.id)
        ).first()
        assert audit.actor == "leader_a" and audit.changes["out_of_order"] is True
        assert audit.changes["pending_before"] == ["check_camera", "call_114", "evacuate_school_kitchen"]
        events = s.scalars(select(OutboxEvent.data).where(OutboxEvent.subject == sop.STEP_DONE)).all()
    assert len(events) == 3 and all(e["title_vi"] and e["title_en"] for e in events)
    for key in ("check_camera", "call_114", "dispatch_militia"):
        assert done(client, world, "op_a", steps[key]["id"]).status_code == 200
    d = client.get(f"{BASE}/{iid}", headers=world.auth("op_a")).json()
    assert d["sop_runs"][0]["completed_at"] is not None
    kinds = [t["kind"] for t in d["timeline"]]
    assert kinds.count("sop_step") == 6 and kinds.index("sop_run") < kinds.index("sop_step")


def test_supervisor_and_role_rules_in_the_service(db: Any) -> None:
    world = build_world(db)
    engine = WorkflowEngine()
    with db.session() as s:
        ensure_sop_templates(s)
        inc = incidents.open_incident(
            s,
            engine,
            type="flood",
            title="Nước dâng thôn Hai",
            unit_id=world.units["H2"].id,
            domain="environment",
            severity="moderate",
        )
        from toancanh.core.auth.service import principal_for

        leader = principal_for(s, s.merge(world.users["leader_a"]))
        admin = principal_for(s, s.merge(world.users["admin"]))
        op_hamlet = principal_for(s, s.merge(world.users["op_hamlet"]))  # hamlet 1 only
        steps = {st.key: st for st in s.scalars(select(SopStep))}
        with pytest.raises(Forbidden):
            sop.complete_step(s, steps["warn_residents"], op_hamlet)
        sop.complete_step(s, steps["warn_residents"], admin)  # a supervisor
        sop.complete_step(s, steps["open_evacuation_point"], leader)
        assert steps["open_evacuation_point"].done_by == "leader_a"
        assert inc.state == "new"  # SOP steps do not move the case


# ------------------------------------------------------------------------------------------- overdue


def overdue_events(db: Any) -> list[dict[str, Any]]:
    with db.session() as s:
        return list(
            s.scalars(
                select(OutboxEvent.data)
                .where(OutboxEvent.subject == sop.STEP_OVERDUE)
                .order_by(OutboxEvent.id)
            )
        )


def test_overdue_steps_escalate_to_leaders_once(db: Any) -> None:
    world = build_world(db)
    engine = WorkflowEngine()
    engine.register(INCIDENT)
    t0 = vn(2026, 3, 8, 2, 0)  # a Sunday night: SOP deadlines run around the clock
    with db.session() as s:
        ensure_sop_templates(s)
        inc = incidents.open_incident(
            s,
            engine,
            type="fire",
            title="Cháy kho",
            unit_id=world.units["H1"].id,
            domain="security",
            severity="extreme",
            now=t0,
        )
        iid, code = inc.id, inc.code
        closed = incidents.open_incident(
            s,
            engine,
            type="fire",
            title="Cháy rác",
            unit_id=world.units["H1"].id,
            domain="security",
            severity="minor",
            now=t0,
        )
        incidents.act(s, engine, closed, "dismiss", None, {"reason": "Đốt rác có kiểm soát"}, now=t0)
        from toancanh.core.auth.service import principal_for

        op_a = principal_for(s, s.merge(world.users["op_a"]))
        kitchen = s.scalar(
            select(SopStep)
            .join(SopRun)
            .where(SopRun.incident_id == iid, SopStep.key == "evacuate_school_kitchen")
        )
        sop.complete_step(s, kitchen, op_a, now=t0 + timedelta(minutes=1))
    with db.session() as s:
        assert sop.check_overdue_steps(s, t0 + timedelta(minutes=1)) == []
    with db.session() as s:
        first = sop.check_overdue_steps(s, t0 + timedelta(minutes=6))
        assert [st.key for st in first] == ["check_camera", "call_114"]  # the kitchen step was done in time
    with db.session() as s:
        assert sop.check_overdue_steps(s, t0 + timedelta(minutes=6)) == []
        assert sop.check_overdue_steps(s, t0 + timedelta(minutes=7)) == []  # once per step
    events = overdue_events(db)
    assert len(events) == 2
    e = events[0]
    leader_id = world.users["leader_a"].id
    assert e["severity"] == "severe" and e["notify_user_ids"] == [leader_id] and e["incident_id"] == iid
    assert code in e["title_vi"] and "check the nearest camera" in e["title_en"].lower()
    with db.session() as s:
        later = sop.check_overdue_steps(s, t0 + timedelta(hours=3))
    assert {st.key for st in later} == {"notify_chairman", "dispatch_militia", "confirm_out"}
    confirm = next(e for e in overdue_events(db) if e["key"] == "confirm_out")
    assert confirm["notify_agency_ids"] == []  # no agency assigned yet
    with db.session() as s:
        audits = s.scalars(select(AuditEntry).where(AuditEntry.action == "sop_step.overdue")).all()
        assert len(audits) == 5 and all(a.unit_id == world.units["H1"].id for a in audits)
        # the closed incident's steps were never escalated
        assert (
            s.scalar(
                select(SopStep)
                .join(SopRun)
                .where(SopRun.incident_id == closed.id, SopStep.escalated_at.is_not(None))
            )
            is None
        )
    d_steps = {}
    with db.session() as s:
        for st in s.scalars(select(SopStep).join(SopRun).where(SopRun.incident_id == iid)):
            d_steps[st.key] = st
    assert (
        d_steps["check_camera"].escalated_at is not None
        and d_steps["evacuate_school_kitchen"].escalated_at is None
    )


def test_the_loop_checks_incident_deadlines_and_steps(db: Any) -> None:
    world = build_world(db)
    engine = WorkflowEngine()
    engine.register(INCIDENT)
    t0 = vn(2026, 3, 8, 2, 0)
    with db.session() as s:
        ensure_sop_templates(s)
        iid = incidents.open_incident(
            s,
            engine,
            type="fire",
            title="Cháy kho",
            unit_id=world.units["H1"].id,
            domain="security",
            severity="extreme",
            now=t0,
        ).id
    counts = sop.check_once(db, engine, t0 + timedelta(minutes=4))  # acknowledgement was due in 2 minutes
    assert counts == {"incidents": 1, "steps": 2}
    with db.session() as s:
        inc = s.get(Incident, iid)
        assert inc.sla_status == "overdue" and inc.escalation_level == 1
        subjects = set(s.scalars(select(OutboxEvent.subject)))
    assert "toancanh.alerts.incident.sla_overdue" in subjects
    assert sop.check_once(db, engine, t0 + timedelta(minutes=4)) == {"incidents": 0, "steps": 0}
