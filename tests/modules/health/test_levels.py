"""The level computation of QĐ 4800/QĐ-BYT against worked examples built from the decision's criteria
(Tiêu chí 1: new community cases / 100,000 / week in three bands < 20, 20 to < 50, >= 50; Tiêu chí 2:
coverage high when >= 70% of adults have one dose and >= 80% of people 50+ are fully vaccinated; Tiêu chí 3:
capacity not met raises the level by one, at most 4; Bảng 1: the matrix), and a second disease configured as
data."""

from __future__ import annotations

from typing import Any

import pytest

from toancanh.core.errors import BadRequest
from toancanh.modules.health.levels import WeekInputs, evaluate, parse_criteria, shipped_criteria

QD4800 = next(c for c in shipped_criteria() if c.code == "COVID19_QD4800")
HIGH = {"pop_18plus": 1000, "dose1_18plus": 700, "pop_50plus": 100, "full_50plus": 80}  # exactly 70% and 80%
LOW_ADULTS = {**HIGH, "dose1_18plus": 699}  # 69.9%: one rule fails
LOW_ELDERLY = {**HIGH, "full_50plus": 79}


@pytest.mark.parametrize(
    ("population", "cases", "counts", "capacity", "level", "band"),
    [
        # band 1 (< 20 per 100,000): 4 cases in 25,000 people = 16
        (25_000, 4, HIGH, True, 1, 1),
        (25_000, 4, LOW_ADULTS, True, 2, 1),
        (25_000, 4, LOW_ELDERLY, True, 2, 1),
        # exactly 20 per 100,000 is band 2 ("từ 20 đến dưới 50")
        (25_000, 5, HIGH, True, 2, 2),
        (25_000, 5, LOW_ADULTS, True, 3, 2),
        # 49.9 still band 2; 50 is band 3
        (100_000, 49, HIGH, True, 2, 2),
        (100_000, 50, HIGH, True, 3, 3),
        (100_000, 50, LOW_ADULTS, True, 4, 3),
        # capacity not met: one level up, never past 4
        (25_000, 4, HIGH, False, 2, 1),
        (25_000, 5, LOW_ADULTS, False, 4, 2),
        (100_000, 80, LOW_ADULTS, False, 4, 3),
        # no cases at all: level 1 with high coverage
        (8_000, 0, HIGH, True, 1, 1),
        # a small commune: 1 case in 4,000 people is 25 per 100,000 (band 2)
        (4_000, 1, HIGH, True, 2, 2),
    ],
)
def test_qd4800_matrix(
    population: int, cases: int, counts: dict[str, int], capacity: bool, level: int, band: int
) -> None:
    r = evaluate(QD4800, WeekInputs(population, cases, cases, counts, capacity))
    assert (r.level, r.band) == (level, band)
    assert r.rate == pytest.approx(cases * 100_000 / population)


def test_only_community_cases_count() -> None:
    # 20 cases, of which 15 were found in quarantine: 5 community cases in 100,000 people is band 1
    r = evaluate(QD4800, WeekInputs(100_000, community_cases=5, all_cases=20, counts=HIGH, capacity_met=True))
    assert (r.level, r.band, r.rate) == (1, 1, 5.0)


def test_missing_data_is_flagged_and_conservative() -> None:
    r = evaluate(QD4800, WeekInputs(25_000, 0, 0, counts=None, capacity_met=None))
    assert r.level == 2 and r.coverage_high is False  # no coverage figures: treated as low
    assert set(r.flags) == {"no_vaccination_data", "capacity_not_assessed"}
    assert evaluate(QD4800, WeekInputs(None, 3, 3, HIGH, True)).level is None


def test_metrics_are_percentages() -> None:
    r = evaluate(QD4800, WeekInputs(25_000, 0, 0, LOW_ADULTS, True))
    assert r.metrics == {"adult_one_dose_pct": pytest.approx(69.9), "elderly_full_pct": pytest.approx(80.0)}


DENGUE: dict[str, Any] = {
    "code": "DENGUE_TEST",
    "disease": "dengue",
    "disease_name": "Sốt xuất huyết",
    "name": "Cấp độ sốt xuất huyết (bảng thử)",
    "citation": "A test table: four incidence bands, no vaccination criterion.",
    "incidence": {"per": 100000, "community_only": False, "bands": [5, 20, 50]},
    "matrix": [[1], [2], [3], [4]],
    "max_level": 4,
    "levels": {
        str(i): {"name": f"Cấp {i}", "colour": colour}
        for i, colour in enumerate(("#2e9e4f", "#f2c500", "#f28c28", "#d62828"), start=1)
    },
}


def test_another_disease_is_configuration() -> None:
    c = parse_criteria(DENGUE)
    assert [evaluate(c, WeekInputs(100_000, 0, n)).level for n in (4, 5, 19, 20, 49, 50)] == [
        1,
        2,
        2,
        3,
        3,
        4,
    ]
    # community_only false: all cases count; no coverage: no vaccination data needed, nothing flagged about it
    r = evaluate(c, WeekInputs(100_000, 0, 30, None, True))
    assert r.level == 3 and r.flags == []


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"matrix": [[1], [2], [3]]}, "one row per incidence band"),
        ({"matrix": [[1], [2], [3], [5]]}, "outside 1..4"),
        ({"incidence": {"bands": [20, 5, 50]}}, "ascending"),
        ({"levels": {"1": {"name": "x", "colour": "#000000"}}}, "each level"),
        ({"coverage": [{"metric": "nope", "min": 70}], "matrix": [[1, 2]] * 4}, "unknown metric"),
        ({"code": "lower-case"}, "code"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_tables_are_refused_clearly(change: dict[str, Any], words: str) -> None:
    with pytest.raises(BadRequest) as e:
        parse_criteria({**DENGUE, **change})
    assert words in e.value.message_en
