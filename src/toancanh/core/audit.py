"""The audit log (nhật ký hệ thống): who changed what, when, from where. Append-only.

Rows are never updated or deleted: the ORM refuses it here, and database triggers refuse it underneath
(see the first migration), so even a raw SQL UPDATE fails.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from toancanh.core.context import current_request
from toancanh.core.db import Base, BigId, IdMixin, utcnow


class AuditEntry(IdMixin, Base):
    """One audited action."""

    __tablename__ = "audit_log"

    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(BigId)
    actor: Mapped[str] = mapped_column(String(80), default="system")
    action: Mapped[str] = mapped_column(String(80), index=True)
    entity_type: Mapped[str] = mapped_column(String(60), default="")
    entity_id: Mapped[str] = mapped_column(String(64), default="")
    unit_id: Mapped[int | None] = mapped_column(BigId, index=True)
    ip: Mapped[str] = mapped_column(String(64), default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat(),
            "actor_id": self.actor_id,
            "actor": self.actor,
            "action": self.action,
            "entity_type": self.entity_type,
            "entity_id": self.entity_id,
            "unit_id": self.unit_id,
            "ip": self.ip,
            "request_id": self.request_id,
            "changes": self.changes,
        }


def record(
    db: Session,
    action: str,
    *,
    actor_id: int | None = None,
    actor: str = "system",
    entity_type: str = "",
    entity_id: object = "",
    unit_id: int | None = None,
    changes: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an audit entry to the current transaction (it commits or rolls back with the change)."""
    ctx = current_request.get()
    entry = AuditEntry(
        actor_id=actor_id,
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        unit_id=unit_id,
        ip=ctx.ip,
        request_id=ctx.request_id,
        changes=changes,
    )
    db.add(entry)
    return entry


def record_by(db: Session, principal: Any, action: str, **fields: Any) -> AuditEntry:
    """`record()` with the actor taken from a Principal (None: the system)."""
    if principal is None:
        return record(db, action, **fields)
    return record(db, action, actor_id=principal.user_id, actor=principal.username, **fields)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """{field: [old, new]} for the fields that changed."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry):
            raise PermissionError("the audit log is append-only")


APPEND_ONLY_SQLITE = [
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
]
APPEND_ONLY_POSTGRES = [
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql",
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
]
