"""Request bodies of the GIS API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

LayerKind = Literal["boundaries", "parcels", "roads", "facilities", "zones", "imported"]
ROLE = Literal["admin", "leader", "operator", "agency_staff", "viewer", "citizen"]


class LegendEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=120)
    color: str = Field(pattern=r"^#[0-9a-fA-F]{6}$")
    property: str | None = Field(None, max_length=64)
    value: str | int | float | bool | None = None


class LayerFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=200)
    title_en: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=4000)
    kind: LayerKind | None = None
    domain: str | None = Field(None, min_length=1, max_length=32)
    style: dict[str, Any] | None = None
    legend: list[LegendEntry] | None = Field(None, max_length=50)
    roles: list[ROLE] | None = None
    time_enabled: bool | None = None


class LayerCreate(LayerFields):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    title: str = Field(min_length=1, max_length=200)  # type: ignore[assignment]
    unit_id: int = Field(ge=1, le=2**53)


class LayerUpdate(LayerFields):
    pass


class FeatureIn(BaseModel):
    """A feature drawn on the map (a zone, a point): GeoJSON geometry in WGS 84."""

    model_config = ConfigDict(extra="forbid")

    geometry: dict[str, Any]
    properties: dict[str, Any] = Field(default_factory=dict)
    time: str | None = Field(None, max_length=40)


class SpatialQuery(BaseModel):
    """`within`/`intersects` a GeoJSON geometry, or the `k` features `nearest` a point."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["within", "intersects", "nearest"]
    geometry: dict[str, Any] | None = None
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    k: int = Field(1, ge=1, le=1000)
