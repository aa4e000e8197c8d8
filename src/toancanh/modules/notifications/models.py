"""Tables of notifications (thông báo): in-app messages, webhooks and the delivery log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from toancanh.core.db import Base, BigId, IdMixin, utcnow


class Notification(IdMixin, Base):
    """A message in a user's in-app inbox (the bell in the top bar)."""

    __tablename__ = "notifications"
    # One notification per user and event: a redelivered bus event adds nothing.
    __table_args__ = (
        UniqueConstraint("user_id", "event_id"),
        Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
    )

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    title_vi: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(300), default="")
    event_subject: Mapped[str] = mapped_column(String(200), default="")
    event_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class Webhook(IdMixin, Base):
    """An outside system that receives matching events as signed JSON POSTs."""

    __tablename__ = "webhooks"

    name: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(500))
    secret: Mapped[str] = mapped_column(String(128))  # kept in clear: it signs every body (HMAC-SHA256)
    pattern: Mapped[str] = mapped_column(String(200), default="toancanh.>")
    unit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("units.id"))  # None: every unit
    active: Mapped[bool] = mapped_column(default=True)
    last_status: Mapped[str] = mapped_column(String(120), default="")
    failures: Mapped[int] = mapped_column(default=0)  # deliveries given up on since the last success
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Delivery(IdMixin, Base):
    """One e-mail or webhook call for one event; unique so that a redelivered event is not sent twice."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (UniqueConstraint("channel", "target", "event_id"),)

    channel: Mapped[str] = mapped_column(String(8))  # email | webhook
    target: Mapped[str] = mapped_column(String(200))  # the address, or "webhook:<id>"
    event_id: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(8), default="pending")  # pending | retry | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]
