"""Request bodies for core endpoints. Unknown fields are refused everywhere."""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Interval
from pydantic import BaseModel, ConfigDict, Field

# A row id, in a body, a path or a query. Ids are 64-bit (BIGINT on PostgreSQL, INTEGER on SQLite); a larger
# number would reach the database driver and fail there (500), so it is refused as invalid input (422).
DbId = Annotated[int, Interval(ge=-(2**63), le=2**63 - 1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TokenRequest(Strict):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)


class GrantIn(Strict):
    role: str = Field(max_length=32)
    unit_code: str | None = Field(default=None, max_length=16)
    domains: list[str] | None = Field(default=None, max_length=20)


class UserIn(Strict):
    username: str = Field(min_length=1, max_length=80)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    full_name: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=200)
    phone: str = Field(default="", max_length=40)
    agency_id: DbId | None = None
    is_service: bool = False
    grants: list[GrantIn] = Field(default_factory=list, max_length=20)


class ApiKeyIn(Strict):
    user_id: DbId
    name: str = Field(min_length=1, max_length=120)


class AgencyIn(Strict):
    unit_id: DbId
    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    name: str = Field(min_length=1, max_length=200)
    name_en: str = Field(default="", max_length=200)
    kind: str = Field(min_length=1, max_length=40)
    domains: list[str] = Field(default_factory=list, max_length=20)
    phone: str = Field(default="", max_length=40)
    email: str = Field(default="", max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class AssetIn(Strict):
    unit_id: DbId
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    type: str = Field(max_length=32)
    domain: str = Field(max_length=32)
    name: str = Field(min_length=1, max_length=200)
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    attributes: dict[str, Any] = Field(default_factory=dict)
    status: str = Field(default="active", max_length=16)


class AssetPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    attributes: dict[str, Any] | None = None
    status: str | None = Field(default=None, max_length=16)
    unit_id: DbId | None = None


class SeriesIn(Strict):
    key: str = Field(min_length=1, max_length=160, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    name: str = Field(min_length=1, max_length=200)
    unit_id: DbId
    asset_id: DbId | None = None
    domain: str = Field(default="environment", max_length=32)
    unit_of_measure: str = Field(default="", max_length=32)


class SampleIn(Strict):
    t: Any = Field(description="ISO 8601 time with zone, or epoch milliseconds")
    v: float = Field(allow_inf_nan=False)


class SamplesIn(Strict):
    samples: list[SampleIn] = Field(min_length=1, max_length=50_000)
