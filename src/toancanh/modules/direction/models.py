"""Tables of direction and operation (chỉ đạo điều hành): directives, their tasks, extension requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from toancanh.core.db import Base, BigId, IdMixin, TimestampMixin, UnitScopedMixin, utcnow
from toancanh.core.workflow import CaseMixin

DIRECTIVE_KINDS = ("directive", "conclusion", "notice")
PRIORITIES = ("low", "normal", "high", "urgent")
SOURCE_KINDS = ("meeting_conclusion", "incident", "indicator", "field_report", "other")


class Directive(IdMixin, TimestampMixin, UnitScopedMixin, Base):
    """A leader's directive (văn bản chỉ đạo), conclusion (kết luận) or notice (thông báo) with its tasks."""

    __tablename__ = "directives"

    number: Mapped[str] = mapped_column(String(60))  # e.g. "45/TB-UBND"
    kind: Mapped[str] = mapped_column(String(16))  # DIRECTIVE_KINDS
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    issued_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    issued_on: Mapped[date]
    attachments: Mapped[list[Any]] = mapped_column(JSON, default=list)  # sha256 of blobs


class DirectionTask(IdMixin, TimestampMixin, UnitScopedMixin, CaseMixin, Base):
    """A directed task (nhiệm vụ được giao), a case on the workflow engine.

    The lead agency (cơ quan chủ trì) is the case's `assignee_agency_id`; co-operating agencies (cơ quan phối
    hợp) are rows of `DirectionTaskAgency`. `deadline_at` is the task's own deadline (hạn hoàn thành), moved
    only by an approved extension; the engine's `due_at` follows it while the agency holds the task.
    """

    __tablename__ = "direction_tasks"
    __table_args__ = (
        Index("ix_direction_tasks_unit_sla_due", "unit_id", "sla_status", "due_at"),
        Index("ix_direction_tasks_agency_state", "assignee_agency_id", "state"),
    )

    directive_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("directives.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    expected_output: Mapped[str] = mapped_column(Text, default="")
    domain: Mapped[str] = mapped_column(String(32), index=True)
    priority: Mapped[str] = mapped_column(String(8), default="normal")  # PRIORITIES
    issued_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    deadline_at: Mapped[datetime]
    deadline_days: Mapped[int | None]  # when given as N working days
    source_kind: Mapped[str] = mapped_column(String(24), default="other", index=True)  # SOURCE_KINDS
    source_id: Mapped[int | None] = mapped_column(BigId)
    source_ref: Mapped[str] = mapped_column(String(200), default="")
    progress: Mapped[int] = mapped_column(default=0)  # percent, from the last progress report
    progress_note: Mapped[str] = mapped_column(Text, default="")
    acknowledged_at: Mapped[datetime | None]
    submitted_at: Mapped[datetime | None]
    completion_text: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)  # sha256 of blobs
    on_time: Mapped[bool | None]  # set when accepted: submitted on or before the deadline


class DirectionTaskAgency(IdMixin, Base):
    """A co-operating agency (cơ quan phối hợp) of a task."""

    __tablename__ = "direction_task_agencies"
    __table_args__ = (UniqueConstraint("task_id", "agency_id"),)

    task_id: Mapped[int] = mapped_column(BigId, ForeignKey("direction_tasks.id", ondelete="CASCADE"))
    agency_id: Mapped[int] = mapped_column(BigId, ForeignKey("agencies.id"), index=True)


class ExtensionRequest(IdMixin, Base):
    """An agency's request to move a task's deadline (xin gia hạn), decided by a leader."""

    __tablename__ = "direction_extensions"

    task_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("direction_tasks.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|approved|refused|lapsed
    reason: Mapped[str] = mapped_column(Text)
    previous_deadline: Mapped[datetime]
    requested_deadline: Mapped[datetime]
    requested_by_id: Mapped[int | None] = mapped_column(BigId)
    requested_by: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(BigId)
    decided_by: Mapped[str] = mapped_column(String(80), default="")
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(Text, default="")

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "task_id": self.task_id,
            "status": self.status,
            "reason": self.reason,
            "previous_deadline": self.previous_deadline.isoformat(),
            "requested_deadline": self.requested_deadline.isoformat(),
            "requested_by": self.requested_by,
            "created_at": self.created_at.isoformat(),
            "decided_by": self.decided_by,
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
            "decision_note": self.decision_note,
        }


EDOC_DIRECTIONS = ("incoming", "outgoing")
EDOC_INCOMING_STATES = ("received", "in_process", "finished", "no_action")
EDOC_OUTGOING_STATES = ("drafted", "signed", "sent")
EDOC_OPEN_STATES = ("received", "in_process", "drafted", "signed")
EDOC_DONE_STATES = ("finished", "sent")


class EDocument(IdMixin, TimestampMixin, UnitScopedMixin, Base):
    """An electronic document (văn bản điện tử) of a unit's register: incoming (văn bản đến) or outgoing
    (văn bản đi), as kept by the document management system (hệ thống quản lý văn bản) it is imported from.

    `external_id` is the document's id in that system, unique per unit: importing it again updates the row.
    `deadline_at` (hạn xử lý) is the close of office hours of the deadline day, like a task's deadline.
    """

    __tablename__ = "edocuments"
    __table_args__ = (
        UniqueConstraint("unit_id", "external_id"),
        Index("ix_edocuments_unit_direction_state", "unit_id", "direction", "state"),
    )

    direction: Mapped[str] = mapped_column(String(8))  # EDOC_DIRECTIONS
    number: Mapped[str] = mapped_column(String(60))  # số, ký hiệu: "123/UBND-VP"
    document_date: Mapped[date] = mapped_column(index=True)
    issuer: Mapped[str] = mapped_column(String(200))  # cơ quan ban hành
    summary: Mapped[str] = mapped_column(Text)  # trích yếu
    domain: Mapped[str] = mapped_column(String(32), default="administration", index=True)
    handler_agency_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("agencies.id"), index=True)
    handler_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    deadline_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16))
    finished_at: Mapped[datetime | None]
    digitally_signed: Mapped[bool] = mapped_column(default=False)
    sent_electronically: Mapped[bool] = mapped_column(default=False)
    external_id: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("direction_tasks.id", ondelete="SET NULL"), index=True
    )
