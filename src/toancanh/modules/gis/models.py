"""GIS tables: the layer catalogue (danh mục lớp bản đồ) and the layers' features.

A feature keeps its geometry twice: GeoJSON (what the API serves) and WKB (what shapely and PostGIS read),
plus its bounding box in four indexed columns, so a bbox query is an index range scan on either database.
Coordinates are always WGS 84 longitude/latitude; the source CRS of an import is kept on the layer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from toancanh.core.db import Base, BigId, IdMixin, TimestampMixin, UnitScopedMixin

LAYER_KINDS = ("boundaries", "parcels", "roads", "facilities", "zones", "imported")


class Layer(IdMixin, TimestampMixin, UnitScopedMixin, Base):
    """A map layer (lớp bản đồ): one OGC API collection, one vector-tile source, one entry in the switcher.

    Visibility: `gis.read` over the layer's unit (and domain, when it has one), and, when `roles` is not
    empty, one of those roles too."""

    __tablename__ = "gis_layers"

    code: Mapped[str] = mapped_column(String(64), unique=True)  # the collection id: [a-z0-9_-]
    title: Mapped[str] = mapped_column(String(200))
    title_en: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="imported")
    domain: Mapped[str | None] = mapped_column(String(32))
    geometry_type: Mapped[str] = mapped_column(String(32), default="Unknown")
    style: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # Leaflet path options
    legend: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{label, color, [property, value]}]
    roles: Mapped[list[Any]] = mapped_column(JSON, default=list)  # empty: every role with gis.read
    time_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    source_crs: Mapped[str] = mapped_column(String(64), default="EPSG:4326")
    feature_count: Mapped[int] = mapped_column(Integer, default=0)
    min_x: Mapped[float | None] = mapped_column(Float)
    min_y: Mapped[float | None] = mapped_column(Float)
    max_x: Mapped[float | None] = mapped_column(Float)
    max_y: Mapped[float | None] = mapped_column(Float)
    min_time: Mapped[datetime | None]
    max_time: Mapped[datetime | None]


class Feature(IdMixin, Base):
    """One feature (đối tượng) of a layer: WGS 84 geometry, bounding box, properties, optional time."""

    __tablename__ = "gis_features"
    __table_args__ = (
        Index("ix_gis_features_layer_bbox", "layer_id", "min_x", "max_x", "min_y", "max_y"),
        Index("ix_gis_features_layer_time", "layer_id", "time"),
    )

    layer_id: Mapped[int] = mapped_column(BigId, ForeignKey("gis_layers.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("units.id"), index=True)
    geometry: Mapped[dict[str, Any]] = mapped_column(JSON)  # GeoJSON geometry, WGS 84
    wkb: Mapped[bytes] = mapped_column(LargeBinary)
    min_x: Mapped[float] = mapped_column(Float)
    min_y: Mapped[float] = mapped_column(Float)
    max_x: Mapped[float] = mapped_column(Float)
    max_y: Mapped[float] = mapped_column(Float)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    time: Mapped[datetime | None]
