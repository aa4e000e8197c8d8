"""Tables of citizen field reports (phản ánh hiện trường)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from toancanh.core.db import Base, BigId, IdMixin, TimestampMixin, UnitScopedMixin, utcnow
from toancanh.core.workflow import CaseMixin


class ReportCategory(IdMixin, TimestampMixin, Base):
    """A kind of problem citizens report; its `code` is the Open311 service_code."""

    __tablename__ = "report_categories"

    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120), default="")
    description: Mapped[str] = mapped_column(String(500), default="")
    icon: Mapped[str] = mapped_column(String(16), default="📍")
    domain: Mapped[str] = mapped_column(String(32))
    group: Mapped[str] = mapped_column(String(60), default="")
    keywords: Mapped[str] = mapped_column(String(300), default="")
    resolve_days: Mapped[int] = mapped_column(default=5)
    urgent: Mapped[bool] = mapped_column(default=False)
    attributes: Mapped[list[Any]] = mapped_column(JSON, default=list)  # Open311 service definition attributes
    active: Mapped[bool] = mapped_column(default=True)


class RoutingRule(IdMixin, Base):
    """Which agency handles a category in a unit (and, unless a deeper rule says otherwise, below it)."""

    __tablename__ = "report_routing"
    __table_args__ = (UniqueConstraint("unit_id", "category_id"),)

    unit_id: Mapped[int] = mapped_column(BigId, ForeignKey("units.id"), index=True)
    category_id: Mapped[int] = mapped_column(BigId, ForeignKey("report_categories.id"))
    agency_id: Mapped[int] = mapped_column(BigId, ForeignKey("agencies.id"))


class FieldReport(IdMixin, TimestampMixin, UnitScopedMixin, CaseMixin, Base):
    """A citizen's field report (phản ánh hiện trường), a case driven by the workflow engine."""

    __tablename__ = "field_reports"
    __table_args__ = (
        Index("ix_field_reports_lat_lon", "lat", "lon"),
        # migration 0003, measured at 1M reports by bench/reports.py
        Index("ix_field_reports_category_lat_lon", "category_id", "lat", "lon"),
        Index("ix_field_reports_unit_state", "unit_id", "state"),
        Index("ix_field_reports_unit_opened_at", "unit_id", "opened_at"),
        Index("ix_field_reports_client_ip_created_at", "client_ip", "created_at"),
        Index("ix_field_reports_device_id_created_at", "device_id", "created_at"),
    )

    tracking_code: Mapped[str] = mapped_column(String(16), unique=True)
    category_id: Mapped[int] = mapped_column(BigId, ForeignKey("report_categories.id"), index=True)
    domain: Mapped[str] = mapped_column(String(32), index=True)
    description: Mapped[str] = mapped_column(Text)
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(300), default="")
    location_source: Mapped[str] = mapped_column(String(8), default="gps")  # gps | exif | map | address
    priority: Mapped[str] = mapped_column(String(8), default="normal")  # normal | urgent
    resolve_days: Mapped[int] = mapped_column(default=5)  # from the category; "extend" adds to it
    channel: Mapped[str] = mapped_column(String(12), default="web")  # web | hotline | open311
    # Who reported: hidden from the public and from agencies unless needed (Nghị định 13/2023/NĐ-CP).
    reporter_name: Mapped[str] = mapped_column(String(120), default="")
    reporter_phone: Mapped[str] = mapped_column(String(20), default="")
    reporter_email: Mapped[str] = mapped_column(String(200), default="")
    anonymous: Mapped[bool] = mapped_column(default=True)
    device_id: Mapped[str] = mapped_column(String(64), default="")
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # Open311 attribute[code] values
    moderation: Mapped[str] = mapped_column(
        String(10), default="pending", index=True
    )  # pending|approved|hidden
    answer: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    rating: Mapped[int | None]
    satisfied: Mapped[bool | None]
    rating_comment: Mapped[str] = mapped_column(String(1000), default="")
    merged_into_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("field_reports.id"))
    supporters: Mapped[int] = mapped_column(default=1)  # reporters of this problem incl. merged ones


class ReportPhoto(IdMixin, Base):
    """A photo of the problem (kind "report") or of the result (kind "evidence"), EXIF already stripped."""

    __tablename__ = "report_photos"

    report_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("field_reports.id", ondelete="CASCADE"), index=True
    )
    sha256: Mapped[str] = mapped_column(String(64), ForeignKey("blobs.sha256"))
    kind: Mapped[str] = mapped_column(String(10), default="report")
    content_type: Mapped[str] = mapped_column(String(40), default="image/jpeg")
    width: Mapped[int] = mapped_column(default=0)
    height: Mapped[int] = mapped_column(default=0)
    public: Mapped[bool] = mapped_column(default=False)
    # The version the public sees when moderators blurred faces or plates (migration 0005); the original
    # stays for staff. None: the photo itself is what is published.
    public_sha256: Mapped[str | None] = mapped_column(String(64), ForeignKey("blobs.sha256"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def published_sha256(self) -> str:
        """The blob shown outside the staff pages: the blurred version when there is one."""
        return self.public_sha256 or self.sha256


class ReportFollower(IdMixin, Base):
    """Someone who reported the same problem (a merged duplicate, or "đã có người phản ánh: add me")."""

    __tablename__ = "report_followers"

    report_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("field_reports.id", ondelete="CASCADE"), index=True
    )
    tracking_code: Mapped[str] = mapped_column(String(16), default="")
    phone: Mapped[str] = mapped_column(String(20), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportBlock(IdMixin, UnitScopedMixin, Base):
    """A phone number, e-mail, device or IP address (or network) refused as a reporter in a unit and below
    (chặn người gửi phản ánh lạm dụng), until `expires_at` when set."""

    __tablename__ = "report_blocks"
    __table_args__ = (UniqueConstraint("kind", "value", "unit_id"),)  # also the (kind, value) lookup

    kind: Mapped[str] = mapped_column(String(8))  # phone | email | device | ip
    value: Mapped[str] = mapped_column(String(200))  # normalised (see blocks.normalise)
    reason: Mapped[str] = mapped_column(String(500))
    expires_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(BigId)
    created_by: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
