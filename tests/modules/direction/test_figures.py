"""Agency ranking and task figures on constructed data, through the API and the service other modules call."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.modules.direction.conftest import issue, task_spec, upload
from toancanh.core.workflow import WorkflowEngine
from toancanh.modules.direction import service
from toancanh.modules.direction.models import DirectionTask

DONE = "Đã hoàn thành toàn bộ khối lượng công việc"


def _run(db: Any, task_id: int, evidence: str, *, late: bool) -> None:
    """Acknowledge, submit (before or after the deadline) and accept, as the system would."""
    engine = WorkflowEngine()
    with db.session() as s:
        task = s.get(DirectionTask, task_id)
        when = task.deadline_at + (timedelta(days=1) if late else -timedelta(hours=1))
        service.act(s, engine, None, task, "acknowledge", None, {}, now=when - timedelta(minutes=5))
        service.act(s, engine, None, task, "submit", None, {"text": DONE, "evidence": [evidence]}, now=when)
        service.act(s, engine, None, task, "accept", None, {}, now=when + timedelta(hours=1))


@pytest.fixture
def fworld(client: Any, dworld: Any, db: Any) -> Any:
    w = dworld
    ca, vh, cb = (w.agencies[k].id for k in ("ca-a", "vhxh-a", "ca-b"))
    evidence = upload(client, w, "police_a")

    def make(unit: str, lead: int, who: str = "leader_a", **over: Any) -> int:
        spec = task_spec(w, lead_agency_id=lead, cooperating_agency_ids=[], **over)
        return int(issue(client, w, who, unit=unit, tasks=[spec])["tasks"][0]["id"])

    w.ids = {
        "ca-on-time-1": make("A", ca),
        "ca-on-time-2": make("H1", ca),
        "ca-late": make("A", ca),
        "ca-overdue": make("A", ca),
        "vh-on-time": make("A", vh, domain="culture"),
        "vh-open": make("H1", vh, domain="culture", deadline_days=30),
        "cb-overdue": make("B", cb, who="leader_b"),
    }
    for key in ("ca-on-time-1", "ca-on-time-2", "vh-on-time"):
        _run(db, w.ids[key], evidence, late=False)
    _run(db, w.ids["ca-late"], evidence, late=True)
    with db.session() as s:
        for key in ("ca-overdue", "cb-overdue"):
            t = s.get(DirectionTask, w.ids[key])
            t.deadline_at = t.due_at = t.opened_at - timedelta(days=2)
    return w


def test_ranking_by_on_time_rate(client: Any, fworld: Any) -> None:
    w = fworld
    rows = client.get("/api/v1/direction-tasks/ranking", headers=w.auth("leader_a")).json()
    assert [(r["agency_id"], r["rank"]) for r in rows] == [
        (w.agencies["vhxh-a"].id, 1),
        (w.agencies["ca-a"].id, 2),
    ]
    vh, ca = rows
    assert (vh["received"], vh["done_on_time"], vh["done_late"], vh["overdue"], vh["on_time_rate"]) == (
        2,
        1,
        0,
        0,
        1.0,
    )
    assert (ca["received"], ca["done_on_time"], ca["done_late"], ca["overdue"], ca["on_time_rate"]) == (
        4,
        2,
        1,
        1,
        0.5,
    )
    everywhere = client.get("/api/v1/direction-tasks/ranking", headers=w.auth("admin")).json()
    assert [r["agency_id"] for r in everywhere][-1] == w.agencies["ca-b"].id
    assert everywhere[-1]["on_time_rate"] == 0.0
    hamlet = client.get(
        f"/api/v1/direction-tasks/ranking?unit_id={w.units['H1'].id}", headers=w.auth("admin")
    ).json()
    assert {r["agency_id"]: r["received"] for r in hamlet} == {
        w.agencies["ca-a"].id: 1,
        w.agencies["vhxh-a"].id: 1,
    }
    # agency staff see their own row only
    own = client.get("/api/v1/direction-tasks/ranking", headers=w.auth("police_a")).json()
    assert [r["agency_id"] for r in own] == [w.agencies["ca-a"].id]


def test_stats_for_a_unit_subtree(client: Any, fworld: Any) -> None:
    w = fworld
    a = client.get(
        f"/api/v1/direction-tasks/stats?unit_id={w.units['A'].id}", headers=w.auth("leader_a")
    ).json()
    assert a["by_state"] == {"assigned": 2, "in_progress": 0, "submitted": 0, "returned": 0, "done": 4}
    assert (a["received"], a["done_on_time"], a["done_late"], a["overdue"], a["open"]) == (6, 3, 1, 1, 2)
    assert a["flags"] == {"overdue": 1, "warning": 0, "ok": 1}
    h1 = client.get(
        f"/api/v1/direction-tasks/stats?unit_id={w.units['H1'].id}", headers=w.auth("leader_a")
    ).json()
    assert (h1["received"], h1["done_on_time"], h1["overdue"]) == (2, 1, 0)
    # leader A asking about commune B sees nothing of it
    b = client.get(
        f"/api/v1/direction-tasks/stats?unit_id={w.units['B'].id}", headers=w.auth("leader_a")
    ).json()
    assert b["received"] == 0
    assert (
        client.get("/api/v1/direction-tasks/stats?unit_id=999999", headers=w.auth("leader_a")).status_code
        == 404
    )


def test_figures_for_the_indicators_module(fworld: Any, db: Any) -> None:
    w = fworld
    with db.session() as s:
        whole = service.task_figures(s)
        commune_a = service.task_figures(s, w.units["A"].id)
        nothing_yet = service.task_figures(
            s, w.units["A"].id, until=s.get(DirectionTask, w.ids["ca-on-time-1"]).opened_at
        )
    assert (whole["received"], whole["done_on_time"], whole["done_late"], whole["overdue"]) == (7, 3, 1, 2)
    assert (commune_a["received"], commune_a["overdue"], commune_a["on_time_rate"]) == (6, 1, 0.6)
    assert nothing_yet["received"] == 0 and nothing_yet["on_time_rate"] is None
