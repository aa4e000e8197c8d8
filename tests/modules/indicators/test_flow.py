"""Submission and approval: submit, return with a reason, approve; approved values locked; events in the
outbox; completeness, timeliness and reminders."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tests.modules.indicators.conftest import upload, xlsx
from toancanh.core.outbox import OutboxEvent
from toancanh.modules.indicators import catalogue, submissions
from toancanh.modules.indicators.models import DataValue
from toancanh.modules.indicators.periods import parse_period


def _sub_id(client: Any, w: Any, unit: str = "0066401") -> int:
    subs = client.get(
        "/api/v1/indicators/datasets/submissions?dataset=TEST_THANG", headers=w.auth("admin")
    ).json()
    return next(s["id"] for s in subs if s["unit_code"] == unit)


def act(client: Any, w: Any, who: str, sid: int, action: str, comment: str = "") -> Any:
    return client.post(
        f"/api/v1/indicators/datasets/submissions/{sid}/{action}",
        json={"comment": comment},
        headers=w.auth(who),
    )


def test_submit_return_approve_and_lock(client: Any, iworld: Any, db: Any) -> None:
    w = iworld
    assert upload(client, w.auth("op_a"), xlsx([["0066401", "2026-10", 9, 1, 12]])).status_code == 201
    sid = _sub_id(client, w)
    assert act(client, w, "leader_a", sid, "approve").status_code == 409  # not submitted yet
    assert act(client, w, "viewer_a", sid, "submit").status_code == 403
    assert act(client, w, "op_b", sid, "submit").status_code == 404  # outside op_b's scope: no leak
    assert act(client, w, "op_a", sid, "submit").status_code == 200
    # a submitted report is locked against a new import
    r = upload(client, w.auth("op_a"), xlsx([["0066401", "2026-10", 10, 0, 12]]))
    assert r.status_code == 422 and "locked" in r.json()["error"]["details"]["errors"][0]["message_en"]
    assert act(client, w, "op_a", sid, "approve").status_code == 403  # operators do not approve
    assert act(client, w, "leader_a", sid, "return").status_code == 422  # a reason is required
    r = act(client, w, "leader_a", sid, "return", "Số hồ sơ trễ hạn chưa khớp sổ theo dõi")
    assert r.status_code == 200 and r.json()["state"] == "returned"
    assert upload(client, w.auth("op_a"), xlsx([["0066401", "2026-10", 10, 0, 12]])).status_code == 201
    assert act(client, w, "op_a", sid, "submit").status_code == 200
    r = act(client, w, "leader_a", sid, "approve")
    assert r.status_code == 200 and r.json()["state"] == "approved" and r.json()["approved_by"] == "leader_a"
    r = upload(client, w.auth("op_a"), xlsx([["0066401", "2026-10", 1, 1, 1]]))
    assert r.status_code == 422
    assert act(client, w, "op_a", sid, "submit").status_code == 409
    with db.session() as s:
        statuses = set(s.scalars(select(DataValue.status).where(DataValue.submission_id == sid)))
        assert statuses == {"approved"}
        values = dict(s.execute(select(DataValue.data_element_id, DataValue.value)).tuples().all())
        assert sorted(values.values()) == [0, 10, 12]
        subjects = [e.subject for e in s.scalars(select(OutboxEvent).order_by(OutboxEvent.id))]
    assert "toancanh.indicators.values.imported" in subjects
    for step in ("submit", "return", "approve"):
        assert f"toancanh.indicators.submission.{step}" in subjects
    history = client.get(f"/api/v1/indicators/datasets/submissions/{sid}", headers=w.auth("leader_a")).json()[
        "history"
    ]
    assert [h["transition"] for h in history] == ["submit", "return", "submit", "approve"]


def test_an_incomplete_report_cannot_be_submitted(client: Any, iworld: Any) -> None:
    w = iworld
    assert upload(client, w.auth("op_a"), xlsx([["0066401", "2026-10", 9, None, 12]])).status_code == 201
    r = act(client, w, "op_a", _sub_id(client, w), "submit")
    assert r.status_code == 422 and r.json()["error"]["details"]["missing"] == ["DOSSIER_FINISHED_LATE"]


def test_completeness_timeliness_and_reminders(client: Any, iworld: Any, db: Any) -> None:
    w = iworld
    rows = [["0066401", "2026-10", 9, 1, 12], ["0066402", "2026-10", 9, 1, 12]]
    assert upload(client, w.auth("op_a"), xlsx(rows)).status_code == 201
    with db.session() as s:
        ds = catalogue.dataset_by_code(s, "TEST_THANG")
        p = parse_period("2026-10")
        due = submissions.deadline(ds, p)
        assert due.isoformat() == "2026-11-05T17:00:00+07:00"
        from tests.modules.indicators.test_values import ADMIN
        from toancanh.core.workflow import WorkflowEngine
        from toancanh.modules.indicators.models import Submission

        subs = {x.unit_id: x for x in s.scalars(select(Submission))}
        submissions.act(
            s, WorkflowEngine(), subs[w.units["H1"].id], "submit", ADMIN, now=due - timedelta(hours=2)
        )
        submissions.act(
            s, WorkflowEngine(), subs[w.units["H2"].id], "submit", ADMIN, now=due + timedelta(hours=2)
        )
    r = client.get(
        "/api/v1/indicators/datasets/TEST_THANG/completeness?period=2026-10", headers=w.auth("admin")
    )
    assert r.status_code == 200, r.text
    c = r.json()
    # the leaves of the tree report: hamlets H1, H2 and commune B (no hamlets)
    assert c["expected"] == 3 and c["submitted"] == 2 and c["on_time"] == 1 and c["late"] == 1
    assert [o["unit_code"] for o in c["overdue"]] == ["00070"]
    mine = client.get(
        "/api/v1/indicators/datasets/TEST_THANG/completeness?period=2026-10", headers=w.auth("leader_a")
    ).json()
    assert mine["expected"] == 2 and mine["overdue"] == []
    r = client.post(
        "/api/v1/indicators/datasets/TEST_THANG/reminders?period=2026-10", headers=w.auth("admin")
    )
    assert r.status_code == 200 and r.json()["reminded"] == ["00070"]
    assert (
        client.post(
            "/api/v1/indicators/datasets/TEST_THANG/reminders?period=2026-10", headers=w.auth("op_a")
        ).status_code
        == 403
    )
    with db.session() as s:
        ev = s.scalar(
            select(OutboxEvent).where(OutboxEvent.subject == "toancanh.indicators.submission.overdue")
        )
        assert ev is not None and ev.unit_id == w.units["B"].id and ev.domain == "administration"
    r = client.get(
        "/api/v1/indicators/datasets/TEST_THANG/completeness?period=2026-10-01", headers=w.auth("admin")
    )
    assert r.status_code == 400


def test_templates_download(client: Any, iworld: Any) -> None:
    import io

    import openpyxl

    r = client.get(
        "/api/v1/indicators/datasets/TEST_THANG/template.xlsx?period=2026-10", headers=iworld.auth("op_a")
    )
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    assert rows[0][:3] == ("unit_code", "period", "DOSSIER_FINISHED_ONTIME")
    assert {row[0] for row in rows[1:]} == {"0066401", "0066402"}
    r = client.get(
        "/api/v1/indicators/datasets/TEST_THANG/template.csv?period=2026-10", headers=iworld.auth("op_a")
    )
    assert r.status_code == 200 and r.text.lstrip("\ufeff").startswith("unit_code,period,")
    assert (
        client.get(
            "/api/v1/indicators/datasets/TEST_THANG/template.pdf", headers=iworld.auth("op_a")
        ).status_code
        == 404
    )
