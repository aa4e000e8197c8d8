"""Tables of the NGSI-LD context broker: entities (thực thể), subscriptions and attribute history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from toancanh.core.db import Base, BigId, IdMixin, TimestampMixin, UnitScopedMixin


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


class NgsiSubscription(IdMixin, TimestampMixin, Base):
    """An NGSI-LD subscription (đăng ký nhận thông báo): which entity changes to notify, and where (HTTP).

    `body` is the subscription as its owner sent it (their terms, echoed back), `context` the @context it came
    with, `spec` the same expanded for matching. Notifications carry only what the owner may read."""

    __tablename__ = "ngsild_subscriptions"

    sub_id: Mapped[str] = mapped_column(String(512), unique=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    context: Mapped[Any] = mapped_column(JSON, nullable=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    expires_at: Mapped[datetime | None]
    times_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_notification: Mapped[datetime | None]
    last_success: Mapped[datetime | None]
    last_failure: Mapped[datetime | None]


class NgsiAttributeHistory(Base):
    """Every instance an attribute of a stored entity took, for the temporal API (lịch sử thuộc tính)."""

    __tablename__ = "ngsild_attribute_history"
    __table_args__ = (Index("ix_ngsild_attribute_history_entity_attr_ts", "entity_pk", "attr", "ts"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entity_pk: Mapped[int] = mapped_column(BigId, ForeignKey("ngsild_entities.id", ondelete="CASCADE"))
    attr: Mapped[str] = mapped_column(String(512))
    ts: Mapped[int] = mapped_column(BigInteger)  # observedAt (else the time of the change), epoch ms UTC
    instance: Mapped[dict[str, Any]] = mapped_column(JSON)
