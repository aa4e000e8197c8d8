"""Tables of the NGSI-LD context broker: the entities it stores (thực thể NGSI-LD)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from toancanh.core.db import Base, IdMixin, TimestampMixin, UnitScopedMixin


class NgsiEntity(IdMixin, TimestampMixin, UnitScopedMixin, Base):
    """An NGSI-LD entity stored by the broker. Attribute names and types are kept expanded (full IRIs), so any
    @context reads them; `min_lon` ... `max_lat` are the bounding box of its `location`, for geo-queries."""

    __tablename__ = "ngsild_entities"
    __table_args__ = (Index("ix_ngsild_entities_bbox", "min_lon", "min_lat"),)

    entity_id: Mapped[str] = mapped_column(String(512), unique=True)
    type: Mapped[str] = mapped_column(String(512), index=True)  # the first type, expanded
    types: Mapped[list[Any]] = mapped_column(JSON, default=list)  # every type, expanded
    multi_typed: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    domain: Mapped[str | None] = mapped_column(String(32), index=True)
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    min_lon: Mapped[float | None] = mapped_column(Float)
    min_lat: Mapped[float | None] = mapped_column(Float)
    max_lon: Mapped[float | None] = mapped_column(Float)
    max_lat: Mapped[float | None] = mapped_column(Float)
    geo_large: Mapped[bool] = mapped_column(Boolean, default=False, index=True)  # bbox over LARGE_DEG
