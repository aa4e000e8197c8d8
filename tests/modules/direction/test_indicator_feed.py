"""The task and e-document figures as indicator values: per unit and month, through the indicators module's
own API; refused steps change no value; without the catalogue nothing is fed and nothing breaks; the values
follow the indicators' read grants."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import WORLD_USERS
from tests.modules.direction.conftest import act, issue, task_spec, upload
from tests.modules.direction.test_edocuments import batch, row
from tests.permission_matrix import covers
from toancanh.core.auth.permissions import role_has
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest
from toancanh.modules.direction import figures
from toancanh.modules.direction.models import DirectionTask
from toancanh.modules.indicators import catalogue
from toancanh.modules.indicators.models import DataValue

DONE = "Đã hoàn thành toàn bộ khối lượng công việc"
UNITS = {"A": "00664", "H1": "0066401", "B": "00070", "P": "01"}


@pytest.fixture
def cworld(dworld: Any, db: Any) -> Any:
    with db.session() as s:
        catalogue.load_catalogue(s)
    return dworld


def month() -> str:
    return figures.month_of(utcnow())


def value(client: Any, w: Any, code: str, unit: str, who: str = "admin", period: str | None = None) -> Any:
    r = client.get(
        f"/api/v1/indicators/{code}/values",
        params={"unit": UNITS[unit], "period": period or month()},
        headers=w.auth(who),
    )
    assert r.status_code == 200, r.text
    return r.json()["value"]


def new_task(client: Any, w: Any, unit: str = "A", who: str = "leader_a", **over: Any) -> int:
    spec = task_spec(w, cooperating_agency_ids=[], **over)
    return int(issue(client, w, who, unit=unit, tasks=[spec])["tasks"][0]["id"])


def finish(client: Any, w: Any, task_id: int, staff: str = "police_a", leader: str = "leader_a") -> None:
    for who, name, body in (
        (staff, "acknowledge", {}),
        (staff, "submit", {"text": DONE, "evidence": [upload(client, w, staff)]}),
        (leader, "accept", {}),
    ):
        r = act(client, w, who, task_id, name, **body)
        assert r.status_code == 200, r.text


def stored(db: Any) -> dict[tuple[str, int, str], float]:
    from toancanh.modules.indicators.models import DataElement

    with db.session() as s:
        rows = s.execute(
            select(DataElement.code, DataValue.unit_id, DataValue.period, DataValue.value).join(
                DataElement, DataElement.id == DataValue.data_element_id
            )
        ).all()
    return {(c, u, p): v for c, u, p, v in rows}


def test_a_task_done_on_time_shows_in_its_unit_and_period(client: Any, cworld: Any, db: Any) -> None:
    w = cworld
    finish(client, w, new_task(client, w, "A"))
    new_task(client, w, "A")  # received, still open
    assert value(client, w, "TASK_RECEIVED_COUNT", "A") == 2
    assert value(client, w, "TASK_DONE_ONTIME_COUNT", "A") == 1
    assert value(client, w, "TASK_OVERDUE_COUNT", "A") == 0
    assert value(client, w, "TASK_ONTIME_RATE", "A") == 100.0
    # another commune's figures are its own; the province adds its communes up
    assert value(client, w, "TASK_DONE_ONTIME_COUNT", "B") is None
    assert value(client, w, "TASK_DONE_ONTIME_COUNT", "P") == 1
    # the values are the system's, counted at once (no submission to approve)
    r = client.get(
        "/api/v1/indicators/data-values", params={"element": "TASK_DONE_ONTIME"}, headers=w.auth("admin")
    )
    (v,) = r.json()
    assert (v["unit_code"], v["period"], v["value"], v["source"], v["status"], v["submission_id"]) == (
        "00664",
        month(),
        1.0,
        "system",
        "approved",
        None,
    )


def test_a_hamlets_tasks_add_up_into_its_commune(client: Any, cworld: Any, db: Any) -> None:
    w = cworld
    finish(client, w, new_task(client, w, "H1"))
    finish(client, w, new_task(client, w, "A"))
    assert value(client, w, "TASK_DONE_ONTIME_COUNT", "H1") == 1
    assert value(client, w, "TASK_DONE_ONTIME_COUNT", "A") == 2
    with db.session() as s:  # the same as the direction module's own figure for the subtree
        assert figures.task_figures(s, w.units["A"].id)["done_on_time"] == 2


def test_overdue_and_late_tasks_after_the_periodic_feed(client: Any, cworld: Any, db: Any) -> None:
    w = cworld
    late, overdue, on_time = (new_task(client, w, "A") for _ in range(3))
    finish(client, w, on_time)

    def past_due(tid: int) -> None:
        with db.session() as s:
            t = s.get(DirectionTask, tid)
            t.deadline_at = t.due_at = t.opened_at - timedelta(hours=1)

    past_due(late)
    finish(client, w, late)  # submitted after its deadline: done late
    past_due(overdue)
    assert value(client, w, "TASK_OVERDUE_COUNT", "A") == 0  # time passed without a step on the task
    counts = figures.refresh_recent(db)
    assert counts["months"] == 2 and counts["task_values"] >= len(figures.TASK_ELEMENTS)
    assert value(client, w, "TASK_OVERDUE_COUNT", "A") == 1
    assert value(client, w, "TASK_DONE_ONTIME_COUNT", "A") == 1
    # done on time among the known outcomes (on time, late, overdue): 1 of 3
    assert value(client, w, "TASK_ONTIME_RATE", "A") == pytest.approx(33.3)


def test_refused_steps_and_directives_change_no_value(client: Any, cworld: Any, db: Any) -> None:
    w = cworld
    tid = new_task(client, w, "A")
    before = stored(db)
    assert before[("TASK_RECEIVED", w.units["A"].id, month())] == 1
    assert act(client, w, "leader_a", tid, "accept").status_code in (400, 403, 409)
    assert act(client, w, "staff_b", tid, "acknowledge").status_code in (401, 403, 404)
    r = client.post(
        "/api/v1/directives",
        json={
            "unit_id": w.units["A"].id,
            "number": "1/TB",
            "kind": "notice",
            "title": "Sai cơ quan",
            "tasks": [task_spec(w, lead_agency_id=999_999)],
        },
        headers=w.auth("leader_a"),
    )
    assert r.status_code == 400 and r.json()["error"]["message_en"]
    assert stored(db) == before


def test_edocument_figures_feed_their_indicators(client: Any, cworld: Any, db: Any) -> None:
    w = cworld
    today = utcnow().date()
    day = today.replace(day=1).isoformat()
    past = (today - timedelta(days=40)).isoformat()
    rows = [
        row("I1", document_date=day, state="received", deadline="2099-12-31"),
        row("I2", document_date=day, state="in_process", deadline=past),
        row("I3", document_date=day, state="finished", deadline="2099-12-31", finished_at=day),
        row(
            "O1",
            document_date=day,
            direction="outgoing",
            state="sent",
            finished_at=day,
            sent_electronically="có",
        ),
        row(
            "O2",
            document_date=day,
            direction="outgoing",
            state="sent",
            finished_at=day,
            digitally_signed="không",
        ),
    ]
    r = batch(client, w, rows)
    assert r.status_code == 201, r.text
    assert value(client, w, "EDOC_INCOMING_COUNT", "A") == 3
    assert value(client, w, "EDOC_OUTGOING_COUNT", "A") == 2
    assert value(client, w, "EDOC_IN_PROCESS_ONTIME_COUNT", "A") == 1
    assert value(client, w, "EDOC_IN_PROCESS_OVERDUE_COUNT", "A") == 1
    assert value(client, w, "EDOC_FINISHED_ONTIME_COUNT", "A") == 3
    assert value(client, w, "EDOC_FINISHED_LATE_COUNT", "A") == 0
    assert value(client, w, "EDOC_SIGNED_RATE", "A") == 80.0  # 4 of the 5 past drafting
    assert value(client, w, "EDOC_SENT_ELECTRONIC_RATE", "A") == 50.0
    # a clerk's step moves the figures at once
    docs = client.get("/api/v1/edocuments", headers=w.auth("op_a")).json()
    i1 = next(d for d in docs if d["external_id"] == "I1")
    r = client.patch(f"/api/v1/edocuments/{i1['id']}", json={"state": "finished"}, headers=w.auth("op_a"))
    assert r.status_code == 200, r.text
    assert value(client, w, "EDOC_IN_PROCESS_ONTIME_COUNT", "A") == 0
    assert value(client, w, "EDOC_FINISHED_ONTIME_COUNT", "A") == 4
    # the indicator equals the register's own figure for the month
    first, last = figures.month_days(month())
    with db.session() as s:
        m = figures.edocument_figures(s, w.units["A"].id, since=first, until=last)
    assert m["finished_on_time"] == 4 and m["digitally_signed_pct"] == 80.0
    # a bad import changes nothing
    before = stored(db)
    assert batch(client, w, [row("I9", document_date="yesterday")]).status_code == 422
    assert stored(db) == before


def test_without_the_catalogue_nothing_is_fed_and_nothing_breaks(client: Any, dworld: Any, db: Any) -> None:
    w = dworld
    finish(client, w, new_task(client, w, "A"))
    assert batch(client, w, [row("I1")]).status_code == 201
    assert figures.refresh_recent(db) == {"months": 2, "task_values": 0, "edocument_values": 0}
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(DataValue)) == 0


@pytest.mark.parametrize("who", list(WORLD_USERS))
def test_the_values_follow_the_indicators_read_grants(client: Any, cworld: Any, who: str) -> None:
    w = cworld
    new_task(client, w, "A")
    for unit in ("A", "B", "H1"):
        r = client.get(
            "/api/v1/indicators/TASK_RECEIVED_COUNT/values",
            params={"unit": UNITS[unit], "period": month()},
            headers=w.auth(who),
        )
        if not role_has(WORLD_USERS[who][0], "indicators.read"):
            assert r.status_code == 403
            continue
        allowed = covers(who, "indicators.read", w.units[unit].path, "administration")
        assert r.status_code == (200 if allowed else 404), f"{who} {unit}: {r.status_code}"
        if allowed:
            assert r.json()["value"] == (1 if unit == "A" else None)


def test_months_are_checked() -> None:
    assert figures.months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert [d.isoformat() for d in figures.month_days("2024-02")] == ["2024-02-01", "2024-02-29"]
    for bad in (("2026-13", "2026-12"), ("soon", "2026-01"), ("2026-05", "2026-01"), ("2000-01", "2026-01")):
        with pytest.raises(BadRequest) as exc:
            figures.months_between(*bad)
        assert exc.value.message and exc.value.message_en
