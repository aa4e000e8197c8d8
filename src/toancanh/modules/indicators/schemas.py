"""Request bodies of the indicators API. Unknown fields are refused."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from toancanh.core.api.schemas import Strict

Code = Field(min_length=1, max_length=64, pattern=r"^[A-Z][A-Z0-9_]*$")
Domain = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")


class ElementIn(Strict):
    code: str = Code
    name: str = Field(min_length=1, max_length=300)
    name_en: str = Field(default="", max_length=300)
    value_type: Literal["number", "integer", "percent"] = "number"
    unit_of_measure: str = Field(default="", max_length=40)
    domain: str = Domain
    aggregation: Literal["sum", "avg", "max", "min", "last"] = "sum"
    time_aggregation: Literal["sum", "avg", "last", "first"] | None = None
    description: str = Field(default="", max_length=2000)


class BandIn(Strict):
    min: float | None = None
    code: str = Field(min_length=1, max_length=20)
    label_vi: str = Field(default="", max_length=60)
    label_en: str = Field(default="", max_length=60)
    color: str = Field(default="#9bb", max_length=20, pattern=r"^#[0-9a-fA-F]{3,8}$")


class IndicatorIn(Strict):
    code: str = Code
    name: str = Field(min_length=1, max_length=300)
    name_en: str = Field(default="", max_length=300)
    domain: str = Domain
    group: str = Field(default="", max_length=60)
    unit_of_measure: str = Field(default="", max_length=40)
    numerator: str = Field(min_length=1, max_length=500)
    denominator: str | None = Field(default=None, min_length=1, max_length=500)
    time_aggregation: Literal["sum", "avg", "last"] = "sum"
    unit_aggregation: Literal["sum", "avg", "max", "min", "last"] | None = None
    period_type: Literal["day", "week", "month", "quarter", "year"] = "month"
    direction: Literal["higher_better", "lower_better"] = "higher_better"
    decimals: int = Field(default=1, ge=0, le=6)
    bands: list[BandIn] | None = Field(default=None, max_length=10)
    description: str = Field(default="", max_length=2000)
    active: bool = True

    def data(self) -> dict[str, Any]:
        out = self.model_dump()
        out["bands"] = None if self.bands is None else [b.model_dump() for b in self.bands]
        return out


class TargetIn(Strict):
    indicator: str = Code
    unit_code: str = Field(min_length=1, max_length=16)
    period: str = Field(min_length=4, max_length=10)
    value: float = Field(allow_inf_nan=False, ge=-1e15, le=1e15)


class ValueItem(Strict):
    unit: str = Field(min_length=1, max_length=16)
    period: str = Field(min_length=4, max_length=10)
    element: str = Field(min_length=1, max_length=64)
    value: float | str | None = None


class ValuesIn(Strict):
    """A push of values from another system (JSON batch), checked like a file."""

    dataset: str = Code
    values: list[ValueItem] = Field(min_length=1, max_length=50_000)
    submit: bool = False


class ActionIn(Strict):
    comment: str = Field(default="", max_length=2000)
