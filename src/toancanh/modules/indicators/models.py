"""Tables of indicators: the catalogue (data elements, indicators, datasets), targets, values and
submissions."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from toancanh.core.db import Base, BigId, IdMixin, TimestampMixin, UnitScopedMixin
from toancanh.core.workflow.models import CaseMixin

VALUE_TYPES = ("number", "integer", "percent")
UNIT_AGGREGATIONS = ("sum", "avg", "max", "min", "last")
TIME_AGGREGATIONS = ("sum", "avg", "last")
ELEMENT_TIME_AGGREGATIONS = ("sum", "avg", "last", "first")
DIRECTIONS = ("higher_better", "lower_better")
SOURCES = ("import", "api", "module", "manual")
VALUE_STATUSES = ("draft", "submitted", "approved", "returned")


class DataElement(IdMixin, TimestampMixin, Base):
    """A data element (chỉ tiêu dữ liệu gốc): one number a unit reports, e.g. dossiers received."""

    __tablename__ = "ind_data_elements"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    value_type: Mapped[str] = mapped_column(String(16), default="number")
    unit_of_measure: Mapped[str] = mapped_column(String(40), default="")
    domain: Mapped[str] = mapped_column(String(40), index=True)
    aggregation: Mapped[str] = mapped_column(String(8), default="sum")  # over units
    # Over time, when the element is a stock rather than a flow: "first" (carried over from the previous
    # period), "last" (pending at the end); None follows the indicator.
    time_aggregation: Mapped[str | None] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(Text, default="")

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "value_type": self.value_type,
            "unit_of_measure": self.unit_of_measure,
            "domain": self.domain,
            "aggregation": self.aggregation,
            "time_aggregation": self.time_aggregation,
            "description": self.description,
        }


class Indicator(IdMixin, TimestampMixin, Base):
    """An indicator (chỉ số, chỉ tiêu): a formula over data elements with a target and achievement bands."""

    __tablename__ = "ind_indicators"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    domain: Mapped[str] = mapped_column(String(40), index=True)
    group: Mapped[str] = mapped_column(String(60), default="")  # e.g. "QĐ 766", "ISO 37120"
    unit_of_measure: Mapped[str] = mapped_column(String(40), default="")
    numerator: Mapped[str] = mapped_column(String(500))
    denominator: Mapped[str | None] = mapped_column(String(500))
    time_aggregation: Mapped[str] = mapped_column(String(8), default="sum")
    unit_aggregation: Mapped[str | None] = mapped_column(String(8))  # None: each element's own
    period_type: Mapped[str] = mapped_column(String(8), default="month")
    direction: Mapped[str] = mapped_column(String(16), default="higher_better")
    decimals: Mapped[int] = mapped_column(default=1)
    bands: Mapped[list[Any]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    sort: Mapped[int] = mapped_column(default=0)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "domain": self.domain,
            "group": self.group,
            "unit_of_measure": self.unit_of_measure,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "time_aggregation": self.time_aggregation,
            "unit_aggregation": self.unit_aggregation,
            "period_type": self.period_type,
            "direction": self.direction,
            "decimals": self.decimals,
            "bands": self.bands,
            "description": self.description,
            "active": self.active,
        }


class Target(IdMixin, TimestampMixin, UnitScopedMixin, Base):
    """A target (kế hoạch, chỉ tiêu giao) of an indicator for one unit and period."""

    __tablename__ = "ind_targets"
    __table_args__ = (UniqueConstraint("indicator_id", "unit_id", "period", name="uq_ind_targets_key"),)

    indicator_id: Mapped[int] = mapped_column(BigId, ForeignKey("ind_indicators.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(10))
    value: Mapped[float] = mapped_column(Float)


class Dataset(IdMixin, TimestampMixin, Base):
    """A dataset (biểu mẫu báo cáo): the data elements a unit submits each period, by a deadline."""

    __tablename__ = "ind_datasets"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300), default="")
    domain: Mapped[str] = mapped_column(String(40))
    period_type: Mapped[str] = mapped_column(String(8))
    element_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The deadline after the period ends: days after its last day, at a local time ("17:00"); 0 days
    # with a daily dataset is "by 17:00 the same day" (Sơn La).
    deadline_days: Mapped[int] = mapped_column(default=0)
    deadline_time: Mapped[str] = mapped_column(String(5), default="17:00")
    unit_levels: Mapped[list[Any]] = mapped_column(JSON, default=list)  # which levels report; [] all

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "domain": self.domain,
            "period_type": self.period_type,
            "elements": list(self.element_codes),
            "deadline_days": self.deadline_days,
            "deadline_time": self.deadline_time,
            "unit_levels": list(self.unit_levels),
        }


class Submission(IdMixin, TimestampMixin, UnitScopedMixin, CaseMixin, Base):
    """A unit's report of one dataset for one period (báo cáo định kỳ): draft -> submitted -> approved,
    or returned for correction. Approved values are locked."""

    __tablename__ = "ind_submissions"
    __table_args__ = (UniqueConstraint("dataset_id", "unit_id", "period", name="uq_ind_submissions_key"),)

    dataset_id: Mapped[int] = mapped_column(BigId, ForeignKey("ind_datasets.id"), index=True)
    domain: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(10), index=True)
    deadline_at: Mapped[datetime] = mapped_column()
    submitted_at: Mapped[datetime | None] = mapped_column()
    submitted_by: Mapped[str] = mapped_column(String(80), default="")
    approved_at: Mapped[datetime | None] = mapped_column()
    approved_by: Mapped[str] = mapped_column(String(80), default="")
    comment: Mapped[str] = mapped_column(Text, default="")
    values_count: Mapped[int] = mapped_column(default=0)


class DataValue(IdMixin, UnitScopedMixin, Base):
    """One reported number: a data element's value for a unit and a period."""

    __tablename__ = "ind_data_values"
    __table_args__ = (
        UniqueConstraint("data_element_id", "unit_id", "period", name="uq_ind_data_values_key"),
        Index("ix_ind_data_values_element_start", "data_element_id", "period_start"),
    )

    data_element_id: Mapped[int] = mapped_column(BigId, ForeignKey("ind_data_elements.id"))
    domain: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(10))
    period_type: Mapped[str] = mapped_column(String(8))
    period_start: Mapped[date] = mapped_column()
    period_end: Mapped[date] = mapped_column()
    value: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(8), default="manual")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    submission_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("ind_submissions.id", ondelete="SET NULL"), index=True
    )
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[datetime] = mapped_column()
