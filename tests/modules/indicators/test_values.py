"""Aggregation across units and periods, targets, achievement bands, change and ranking."""

from __future__ import annotations

from typing import Any

from toancanh.core.auth.scope import Principal, ScopedGrant
from toancanh.modules.indicators import catalogue, intake, service
from toancanh.modules.indicators.models import Target
from toancanh.modules.indicators.periods import parse_period

ADMIN = Principal(user_id=0, username="t", grants=(ScopedGrant("admin", "/", None),))


def put(db: Any, w: Any, ds: str, rows: list[tuple[str, str, dict[str, float]]], submit: bool = True) -> None:
    from toancanh.core.workflow import WorkflowEngine
    from toancanh.modules.indicators import submissions
    from toancanh.modules.indicators.models import Submission

    with db.session() as s:
        dataset = catalogue.dataset_by_code(s, ds)
        units = {k: s.merge(u) for k, u in w.units.items()}
        by_code = {u.code: u for u in units.values()}
        result = intake.write(
            s, ADMIN, dataset, [intake.Clean(by_code[c], p, v) for c, p, v in rows], "manual"
        )
        if submit:
            for sid in result.submissions:
                sub = s.get(Submission, sid)
                if sub.values_count == len(dataset.element_codes):
                    submissions.act(s, WorkflowEngine(), sub, "submit", ADMIN)


def value(db: Any, w: Any, code: str, unit: str, period: str) -> Any:
    with db.session() as s:
        ind = catalogue.indicator_by_code(s, code)
        return service.figure(s, ind, s.merge(w.units[unit]), parse_period(period))


def test_rates_aggregate_over_the_subtree_and_over_time(db: Any, iworld: Any) -> None:
    w = iworld
    rows = [
        (
            "0066401",
            "2026-01",
            {"DOSSIER_FINISHED_ONTIME": 90, "DOSSIER_FINISHED_LATE": 10, "DOSSIER_RECEIVED": 110},
        ),
        (
            "0066402",
            "2026-01",
            {"DOSSIER_FINISHED_ONTIME": 40, "DOSSIER_FINISHED_LATE": 10, "DOSSIER_RECEIVED": 60},
        ),
        (
            "0066401",
            "2026-02",
            {"DOSSIER_FINISHED_ONTIME": 50, "DOSSIER_FINISHED_LATE": 0, "DOSSIER_RECEIVED": 50},
        ),
        (
            "00070",
            "2026-01",
            {"DOSSIER_FINISHED_ONTIME": 1, "DOSSIER_FINISHED_LATE": 99, "DOSSIER_RECEIVED": 100},
        ),
    ]
    put(db, w, "TEST_THANG", rows)
    assert value(db, w, "DVC_ONTIME_RATE", "H1", "2026-01").value == 90
    # the commune: (90 + 40) / (100 + 50), not the average of 90 % and 80 %
    assert value(db, w, "DVC_ONTIME_RATE", "A", "2026-01").value == round(130 / 150 * 100, 1)
    # the quarter sums the months: (90 + 40 + 50) / 200
    assert value(db, w, "DVC_ONTIME_RATE", "A", "2026-Q1").value == 90
    assert value(db, w, "DVC_ONTIME_RATE", "01", "2026-01").value == round(131 / 250 * 100, 1)
    assert value(db, w, "DOSSIER_FINISHED", "A", "2026").value == 200
    # a period with no data: no value; a month with finished = 0 would divide by zero: no value either
    assert value(db, w, "DVC_ONTIME_RATE", "A", "2026-03").value is None
    fig = value(db, w, "DVC_ONTIME_RATE", "H1", "2026-02")
    assert (fig.value, fig.previous, fig.change) == (100, 90, 10)
    assert [t["value"] for t in fig.trend[-2:]] == [90, 100]


def test_zero_denominator_gives_no_value(db: Any, iworld: Any) -> None:
    w = iworld
    put(
        db,
        w,
        "TEST_THANG",
        [
            (
                "0066401",
                "2026-03",
                {"DOSSIER_FINISHED_ONTIME": 0, "DOSSIER_FINISHED_LATE": 0, "DOSSIER_RECEIVED": 3},
            )
        ],
    )
    assert value(db, w, "DVC_ONTIME_RATE", "H1", "2026-03").value is None
    assert value(db, w, "DOSSIER_FINISHED", "H1", "2026-03").value == 0


def test_stocks_take_first_and_last_over_time(db: Any, iworld: Any) -> None:
    w = iworld
    full = {
        "DOSSIER_RECEIVED": 10, "DOSSIER_CARRIED": 5, "DOSSIER_ONLINE": 8, "DOSSIER_DIGITIZED": 7,
        "DOSSIER_FINISHED_ONTIME": 9, "DOSSIER_FINISHED_LATE": 1, "DOSSIER_PENDING_NOTDUE": 3,
        "DOSSIER_PENDING_NEARDUE": 1, "DOSSIER_PENDING_LATE": 1, "SATISFACTION_RESPONSES": 4,
        "SATISFACTION_SATISFIED": 4,
    }  # fmt: skip
    later = {**full, "DOSSIER_CARRIED": 6, "DOSSIER_PENDING_LATE": 4}
    put(db, w, "DVC_THANG", [("0066401", "2026-01", full), ("0066401", "2026-02", later)])
    # to process in the quarter = received (10 + 10) + carried over at its start (5)
    assert value(db, w, "DOSSIER_TO_PROCESS", "H1", "2026-Q1").value == 25
    # in process at the end of the quarter: February's 3 + 1 + 4
    assert value(db, w, "DOSSIER_IN_PROCESS", "H1", "2026-Q1").value == 8


def test_drafts_do_not_count(db: Any, iworld: Any) -> None:
    w = iworld
    put(
        db,
        w,
        "TEST_THANG",
        [
            (
                "0066401",
                "2026-05",
                {"DOSSIER_FINISHED_ONTIME": 1, "DOSSIER_FINISHED_LATE": 1, "DOSSIER_RECEIVED": 2},
            )
        ],
        submit=False,
    )
    assert value(db, w, "DOSSIER_FINISHED", "H1", "2026-05").value is None


def test_targets_bands_and_ranking(db: Any, iworld: Any) -> None:
    w = iworld
    rows = [
        (
            "0066401",
            "2026-04",
            {"DOSSIER_FINISHED_ONTIME": 97, "DOSSIER_FINISHED_LATE": 3, "DOSSIER_RECEIVED": 100},
        ),
        (
            "0066402",
            "2026-04",
            {"DOSSIER_FINISHED_ONTIME": 70, "DOSSIER_FINISHED_LATE": 30, "DOSSIER_RECEIVED": 100},
        ),
    ]
    put(db, w, "TEST_THANG", rows)
    with db.session() as s:
        ind = catalogue.indicator_by_code(s, "DVC_ONTIME_RATE")
        for key in ("H1", "H2", "A"):
            s.add(Target(indicator_id=ind.id, unit_id=w.units[key].id, period="2026", value=95))
    fig = value(db, w, "DVC_ONTIME_RATE", "H1", "2026-04")  # the year's target applies to a month of a rate
    assert fig.target == 95 and fig.achievement == round(97 / 95 * 100, 1) and fig.band["code"] == "achieved"
    h2 = value(db, w, "DVC_ONTIME_RATE", "H2", "2026-04")
    assert h2.band["code"] == "missed"  # 70 / 95 = 73.7 %
    with db.session() as s:
        ind = catalogue.indicator_by_code(s, "DVC_ONTIME_RATE")
        ranked = service.ranking(s, ind, s.merge(w.units["A"]), parse_period("2026-04"))
    assert [r["unit_code"] for r in ranked] == ["0066401", "0066402"]
    assert ranked[0]["rank"] == 1
