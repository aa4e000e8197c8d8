"""Periods (parsing, canonical form, roll-up) and formulas (parsing, evaluation, division by zero)."""

from __future__ import annotations

from datetime import date

import pytest

from toancanh.core.errors import BadRequest
from toancanh.modules.indicators import formula
from toancanh.modules.indicators.periods import last_n, parse_period, period_of, roll_up
from toancanh.modules.indicators.service import achievement


@pytest.mark.parametrize(
    ("text", "type_", "start", "end"),
    [
        ("2026-11-22", "day", date(2026, 11, 22), date(2026, 11, 22)),
        ("2026-W47", "week", date(2026, 11, 16), date(2026, 11, 22)),
        ("2026-11", "month", date(2026, 11, 1), date(2026, 11, 30)),
        ("2026-02", "month", date(2026, 2, 1), date(2026, 2, 28)),
        ("2026-Q4", "quarter", date(2026, 10, 1), date(2026, 12, 31)),
        ("2026", "year", date(2026, 1, 1), date(2026, 12, 31)),
    ],
)
def test_periods_parse_and_print_canonically(text: str, type_: str, start: date, end: date) -> None:
    p = parse_period(text)
    assert (p.type, p.start, p.end) == (type_, start, end)
    assert p.code == text


@pytest.mark.parametrize("bad", ["2026-13", "2026-02-30", "2026-W54", "2026-Q5", "26-11", "2026/11", "", "x"])
def test_bad_periods_are_refused(bad: str) -> None:
    with pytest.raises(BadRequest):
        parse_period(bad)


def test_roll_up_and_previous() -> None:
    day = parse_period("2026-11-22")
    assert roll_up(day, "week").code == "2026-W47"
    assert roll_up(day, "month").code == "2026-11"
    assert roll_up(parse_period("2026-11"), "quarter").code == "2026-Q4"
    assert roll_up(parse_period("2026-Q4"), "year").code == "2026"
    with pytest.raises(BadRequest):
        roll_up(parse_period("2026-W47"), "month")  # a week may straddle two months
    with pytest.raises(BadRequest):
        roll_up(parse_period("2026"), "month")
    assert parse_period("2026-01").previous().code == "2025-12"
    assert parse_period("2026-Q1").previous().code == "2025-Q4"
    assert parse_period("2026-W01").previous().code == "2025-W52"
    assert [p.code for p in last_n(parse_period("2026-02"), 3)] == ["2025-12", "2026-01", "2026-02"]
    assert period_of(date(2027, 1, 1), "week").code == "2026-W53"


def test_formula_evaluates_over_codes() -> None:
    node = formula.parse("DOSSIER_ONTIME / DOSSIER_FINISHED * 100")
    assert formula.codes(node) == {"DOSSIER_ONTIME", "DOSSIER_FINISHED"}
    assert formula.evaluate(node, {"DOSSIER_ONTIME": 45, "DOSSIER_FINISHED": 50}) == 90
    assert formula.evaluate(formula.parse("-(A + B) * 2 - 3 / (1 + 2)"), {"A": 1, "B": 2}) == -7
    assert formula.evaluate(formula.parse("2 + 3 * 4"), {}) == 14


def test_division_by_zero_or_a_missing_value_gives_no_value() -> None:
    node = formula.parse("A / B * 100")
    assert formula.evaluate(node, {"A": 5, "B": 0}) is None
    assert formula.evaluate(node, {"A": 5}) is None
    assert formula.ratio(formula.parse("A"), formula.parse("B - B"), {"A": 1, "B": 3}) is None
    assert formula.ratio(formula.parse("A * 100"), formula.parse("B"), {"A": 1, "B": 4}) == 25


@pytest.mark.parametrize(
    "bad",
    [
        "A +",
        "(A",
        "A)",
        "A ** 2",
        "__import__('os')",
        "a + b",
        "A; B",
        "1e5",
        "",
        "A B",
        "(" * 60 + "A" + ")" * 60,
    ],
)
def test_bad_formulas_are_refused(bad: str) -> None:
    with pytest.raises(BadRequest) as exc:
        formula.parse(bad)
    assert exc.value.code == "bad_formula"


def test_achievement_follows_direction() -> None:
    assert achievement(95, 100, "higher_better") == 95
    assert achievement(4, 5, "lower_better") == 125
    assert achievement(0, 0, "lower_better") == 100
    assert achievement(2, 0, "lower_better") == 0
    assert achievement(None, 5, "higher_better") is None
    assert achievement(5, None, "higher_better") is None
