"""Epidemic levels (cấp độ dịch) from a criteria table stored as data.

A criteria table (`Criteria`) says how a week of one commune becomes a level: new cases per N people
(`incidence`, optionally community cases only) fall into a band; coverage rules over metrics computed from the
commune's vaccination counts say whether coverage is high; the matrix gives the level of (band, coverage);
treatment capacity not met raises it by `capacity_step`, at most `max_level`. The shipped table is COVID-19
under QĐ 4800/QĐ-BYT (`criteria/covid19_qd4800.yaml`); the next outbreak (dengue, measles) is another table: a
matrix of one column when coverage does not apply, other bands, other metrics.

`evaluate` is pure: the same inputs give the same level and the same reasons on every database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from toancanh.core.errors import BadRequest

CRITERIA_DIR = Path(__file__).parent / "criteria"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Incidence(_Strict):
    per: int = Field(default=100_000, ge=1, le=10_000_000)
    community_only: bool = True
    bands: list[float] = Field(min_length=1, max_length=9)  # ascending lower bounds of bands 2, 3, ...

    @model_validator(mode="after")
    def _ascending(self) -> Incidence:
        if any(b <= a for a, b in zip(self.bands, self.bands[1:], strict=False)) or self.bands[0] <= 0:
            raise ValueError("incidence.bands must be positive and strictly ascending")
        return self


class Metric(_Strict):
    numerator: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    denominator: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    name: str = Field(default="", max_length=200)
    name_en: str = Field(default="", max_length=200)


class CoverageRule(_Strict):
    metric: str = Field(min_length=1, max_length=64)
    min: float = Field(ge=0, le=100)


class LevelStyle(_Strict):
    name: str = Field(min_length=1, max_length=200)
    name_en: str = Field(default="", max_length=200)
    colour: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")
    colour_name: str = Field(default="", max_length=40)


class Criteria(_Strict):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Z0-9_]+$")
    disease: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")
    disease_name: str = Field(min_length=1, max_length=120)
    name: str = Field(min_length=1, max_length=200)
    name_en: str = Field(default="", max_length=200)
    citation: str = Field(min_length=1, max_length=4000)
    period_days: int = Field(default=7, ge=1, le=31)
    scales: list[Literal[2, 3]] = Field(
        default=[2], min_length=1
    )  # 2: communes; 3: hamlets, residential groups
    incidence: Incidence
    metrics: dict[str, Metric] = Field(default_factory=dict)
    coverage: list[CoverageRule] = Field(default_factory=list, max_length=10)
    matrix: list[list[int]] = Field(min_length=1, max_length=10)
    capacity_step: int = Field(default=0, ge=0, le=3)
    max_level: int = Field(ge=1, le=9)
    levels: dict[int, LevelStyle]

    @model_validator(mode="after")
    def _consistent(self) -> Criteria:
        if len(self.matrix) != len(self.incidence.bands) + 1:
            raise ValueError("matrix needs one row per incidence band (len(bands) + 1)")
        width = 2 if self.coverage else 1
        for row in self.matrix:
            if len(row) != width:
                raise ValueError(f"each matrix row needs {width} level(s) ([high, low] coverage or one)")
            for lv in row:
                if not 1 <= lv <= self.max_level:
                    raise ValueError(f"matrix level {lv} is outside 1..{self.max_level}")
        for rule in self.coverage:
            if rule.metric not in self.metrics:
                raise ValueError(f"coverage rule names an unknown metric: {rule.metric}")
        if sorted(self.levels) != list(range(1, self.max_level + 1)):
            raise ValueError(f"levels must describe each level 1..{self.max_level}")
        return self


def parse_criteria(data: Any) -> Criteria:
    """A criteria table from a mapping (YAML or JSON), or a clear 400 listing what is wrong."""
    try:
        return Criteria.model_validate(data)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
        raise BadRequest(
            f"Bảng tiêu chí không hợp lệ: {problems}", f"Invalid criteria table: {problems}"
        ) from None


def shipped_criteria() -> list[Criteria]:
    """The tables that ship with the product (loaded the first time criteria are asked for)."""
    return [parse_criteria(yaml.safe_load(p.read_text("utf-8"))) for p in sorted(CRITERIA_DIR.glob("*.yaml"))]


@dataclass
class WeekInputs:
    """One commune's week: population, new cases (community ones and all), vaccination counts, capacity."""

    population: int | None
    community_cases: int
    all_cases: int
    counts: Mapping[str, float] | None = None  # the vaccination counts as of the week's end; None: no data
    capacity_met: bool | None = None  # None: not assessed (treated as met, flagged)


@dataclass
class Result:
    level: int | None  # None: no population, so no rate
    band: int | None
    rate: float | None
    coverage_high: bool | None
    metrics: dict[str, float | None] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "band": self.band,
            "rate": None if self.rate is None else round(self.rate, 3),
            "coverage_high": self.coverage_high,
            "metrics": {k: (None if v is None else round(v, 3)) for k, v in self.metrics.items()},
            "flags": self.flags,
        }


def band_of(c: Criteria, rate: float) -> int:
    """1-based band of an incidence rate: band k holds bands[k-2] <= rate < bands[k-1]."""
    band = 1
    for bound in c.incidence.bands:
        if rate >= bound:
            band += 1
    return band


def evaluate(c: Criteria, x: WeekInputs) -> Result:
    """The level of one commune's week under criteria table `c`."""
    flags: list[str] = []
    metrics: dict[str, float | None] = {}
    for name, m in c.metrics.items():
        if x.counts is None:
            metrics[name] = None
            continue
        num, den = x.counts.get(m.numerator), x.counts.get(m.denominator)
        metrics[name] = None if num is None or not den else float(num) * 100.0 / float(den)
    if not x.population or x.population <= 0:
        return Result(None, None, None, None, metrics, ["no_population"])
    cases = x.community_cases if c.incidence.community_only else x.all_cases
    rate = cases * c.incidence.per / x.population
    band = band_of(c, rate)
    coverage_high: bool | None = None
    column = 0
    if c.coverage:
        values = [metrics.get(r.metric) for r in c.coverage]
        if any(v is None for v in values):
            flags.append("no_vaccination_data")
            coverage_high = False
        else:
            coverage_high = all(v is not None and v >= r.min for v, r in zip(values, c.coverage, strict=True))
        column = 0 if coverage_high else 1
    level = c.matrix[band - 1][column]
    if x.capacity_met is None:
        flags.append("capacity_not_assessed")
    elif not x.capacity_met and c.capacity_step:
        level = min(c.max_level, level + c.capacity_step)
        flags.append("capacity_not_met")
    return Result(level, band, rate, coverage_high, metrics, flags)


def describe(c: Criteria, level: int | None, locale: str = "vi") -> dict[str, Any]:
    if level is None or level not in c.levels:
        return {
            "level": None,
            "name": "Chưa xác định" if locale == "vi" else "Not determined",
            "colour": "#8a97a6",
        }
    s = c.levels[level]
    return {
        "level": level,
        "name": s.name if locale == "vi" or not s.name_en else s.name_en,
        "colour": s.colour,
        "colour_name": s.colour_name,
    }
