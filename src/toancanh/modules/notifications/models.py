"""Tables of notifications (thông báo): in-app messages, webhooks, routes and the delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from toancanh.core.db import Base, BigId, IdMixin, TimestampMixin, utcnow


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


class NotificationRoute(IdMixin, TimestampMixin, Base):
    """A notification route (tuyến thông báo): which events (alerts, by default) reach whom on which channels.

    An event matches when the route is active, its subject matches `pattern`, it happened in the route's
    unit subtree (None: anywhere) and domain (None: any), its category is one of `categories` (empty: any;
    "fire" covers "fire.kitchen") and its severity is at least `min_severity`.
    The recipients are the holders of `roles` over the event's unit and domain, the users `user_ids`, and
    the `extra` addresses ({"channel", "address"}), each on the route's `channels`.
    """

    __tablename__ = "notification_routes"

    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(default=True)
    pattern: Mapped[str] = mapped_column(String(200), default="toancanh.alerts.>")
    unit_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("units.id"))  # None: every unit
    domain: Mapped[str | None] = mapped_column(String(32))  # None: every domain
    min_severity: Mapped[str] = mapped_column(String(12), default="severe")  # minor..extreme (CAP)
    categories: Mapped[list[Any]] = mapped_column(default=list)  # alert categories ("fire", "flood.street")
    channels: Mapped[list[Any]] = mapped_column(default=list)  # email | sms | zalo
    roles: Mapped[list[Any]] = mapped_column(default=list)
    user_ids: Mapped[list[Any]] = mapped_column(default=list)
    extra: Mapped[list[Any]] = mapped_column(default=list)  # [{"channel": "sms", "address": "84912345678"}]


class Delivery(IdMixin, Base):
    """One message (e-mail, SMS, Zalo) or webhook call for one event; unique so that a redelivered event is
    not sent twice."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (UniqueConstraint("channel", "target", "event_id"),)

    channel: Mapped[str] = mapped_column(String(8))  # email | sms | zalo | webhook
    target: Mapped[str] = mapped_column(String(200))  # the address, or "webhook:<id>"
    event_id: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(8), default="pending")  # pending | retry | sent | failed
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    provider_id: Mapped[str] = mapped_column(String(120), default="")  # the gateway's message id
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]
