"""The workflow columns every case table carries (`CaseMixin`) and the shared `CaseHistory` table."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from toancanh.core.db import Base, BigId, IdMixin, utcnow
from toancanh.core.workflow.definitions import SLA_OK


class CaseMixin:
    """The workflow columns of a case table; combine with IdMixin and UnitScopedMixin.

    A `domain` column (sector, e.g. "traffic") is optional; when the model has one, grants limited to
    domains are checked against it.
    """

    if TYPE_CHECKING:
        id: Mapped[int]
        unit_id: Mapped[int]

    state: Mapped[str] = mapped_column(String(32), index=True)
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    state_since: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    sla_status: Mapped[str] = mapped_column(String(16), default=SLA_OK)
    escalation_level: Mapped[int] = mapped_column(default=0)
    closed_at: Mapped[datetime | None] = mapped_column()

    @declared_attr
    def assignee_agency_id(cls) -> Mapped[int | None]:
        return mapped_column(BigId, ForeignKey("agencies.id"), index=True)

    @declared_attr
    def assignee_user_id(cls) -> Mapped[int | None]:
        return mapped_column(BigId, ForeignKey("users.id"), index=True)


class CaseHistory(IdMixin, Base):
    """One step in a case's life (shared by every case type): who moved it where, when, with what."""

    __tablename__ = "case_history"
    __table_args__ = (
        Index("ix_case_history_case", "case_type", "case_id"),
        Index("ix_case_history_actor", "actor_id", "at"),  # per-account rate limits
    )

    case_type: Mapped[str] = mapped_column(String(40))
    case_id: Mapped[int] = mapped_column(BigId)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(BigId)
    actor: Mapped[str] = mapped_column(String(80), default="system")
    transition: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    assignee_agency_id: Mapped[int | None] = mapped_column(BigId)
    assignee_user_id: Mapped[int | None] = mapped_column(BigId)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "case_type": self.case_type,
            "case_id": self.case_id,
            "at": self.at.isoformat(),
            "actor_id": self.actor_id,
            "actor": self.actor,
            "transition": self.transition,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "comment": self.comment,
            "data": self.data,
            "assignee_agency_id": self.assignee_agency_id,
            "assignee_user_id": self.assignee_user_id,
        }
