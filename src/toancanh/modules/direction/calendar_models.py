"""Tables of the work calendar (lịch công tác) and of meetings (cuộc họp): entries, their participants, the
meetings held at an entry, their agenda, invitees and attendance, documents, speaking requests and votes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from toancanh.core.db import Base, BigId, IdMixin, TimestampMixin, UnitScopedMixin, utcnow

MEETING_STATES = ("planned", "in_progress", "finished")
ATTENDANCE = ("invited", "present", "absent", "delegated")
CHOICES = ("yes", "no", "abstain")


class CalendarEntry(IdMixin, TimestampMixin, UnitScopedMixin, Base):
    """One item of a unit's work calendar: a leader's (owner_user_id) or an agency's (owner_agency_id)."""

    __tablename__ = "calendar_entries"
    __table_args__ = (
        Index("ix_calendar_entries_unit_starts", "unit_id", "starts_at"),
        Index("ix_calendar_entries_owner_user", "owner_user_id", "starts_at"),
        Index("ix_calendar_entries_owner_agency", "owner_agency_id", "starts_at"),
    )

    title: Mapped[str] = mapped_column(String(300))
    place: Mapped[str] = mapped_column(String(300), default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    owner_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    owner_agency_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("agencies.id"))
    host: Mapped[str] = mapped_column(String(200), default="")  # đơn vị chủ trì / chuẩn bị
    notes: Mapped[str] = mapped_column(Text, default="")
    published: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(BigId)


class CalendarParticipant(IdMixin, Base):
    """A user or an agency taking part in an entry (thành phần tham dự)."""

    __tablename__ = "calendar_participants"

    entry_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("calendar_entries.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("agencies.id"), index=True)


class Meeting(IdMixin, TimestampMixin, UnitScopedMixin, Base):
    """A meeting (cuộc họp), held at the time and place of its calendar entry."""

    __tablename__ = "meetings"

    entry_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("calendar_entries.id", ondelete="CASCADE"), unique=True
    )
    title: Mapped[str] = mapped_column(String(300))
    chair_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default="planned")  # MEETING_STATES
    current_item_id: Mapped[int | None] = mapped_column(BigId)
    minutes: Mapped[str] = mapped_column(Text, default="")
    # [{"text", "lead_agency_id", "deadline", "domain", "task_id"}], in order
    conclusions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    directive_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("directives.id", ondelete="SET NULL"))


class MeetingItem(IdMixin, Base):
    """An agenda item (nội dung): ordered, with its presenter and planned minutes."""

    __tablename__ = "meeting_items"

    meeting_id: Mapped[int] = mapped_column(BigId, ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    presenter: Mapped[str] = mapped_column(String(200), default="")
    minutes: Mapped[int] = mapped_column(default=15)


class MeetingInvitee(IdMixin, Base):
    """An invited user or agency, with their attendance (có mặt / vắng / cử người dự thay)."""

    __tablename__ = "meeting_invitees"

    meeting_id: Mapped[int] = mapped_column(BigId, ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("agencies.id"), index=True)
    attendance: Mapped[str] = mapped_column(String(10), default="invited")  # ATTENDANCE
    delegate: Mapped[str] = mapped_column(String(200), default="")


class MeetingDocument(IdMixin, Base):
    """A document sent before the meeting (tài liệu họp), a checked blob."""

    __tablename__ = "meeting_documents"
    __table_args__ = (UniqueConstraint("meeting_id", "sha256"),)

    meeting_id: Mapped[int] = mapped_column(BigId, ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    item_id: Mapped[int | None] = mapped_column(BigId)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class SpeakingRequest(IdMixin, Base):
    """An attendee's request to speak (đăng ký phát biểu): waiting, then granted or withdrawn."""

    __tablename__ = "meeting_speaking"

    meeting_id: Mapped[int] = mapped_column(BigId, ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    item_id: Mapped[int | None] = mapped_column(BigId)
    status: Mapped[str] = mapped_column(String(10), default="waiting")  # waiting | granted | withdrawn
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    granted_at: Mapped[datetime | None]


class MeetingVote(IdMixin, Base):
    """A simple vote (biểu quyết) put by the chair: open until closed."""

    __tablename__ = "meeting_votes"

    meeting_id: Mapped[int] = mapped_column(BigId, ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    question: Mapped[str] = mapped_column(String(500))
    is_open: Mapped[bool] = mapped_column(default=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]


class MeetingBallot(IdMixin, Base):
    """One attendee's vote: yes, no or abstain; one per attendee and vote."""

    __tablename__ = "meeting_ballots"
    __table_args__ = (UniqueConstraint("vote_id", "user_id"),)

    vote_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("meeting_votes.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    choice: Mapped[str] = mapped_column(String(8))  # CHOICES
    cast_at: Mapped[datetime] = mapped_column(default=utcnow)
