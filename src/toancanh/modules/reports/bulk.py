"""Bulk actions of the operator queue (xử lý hàng loạt): one step applied to many reports.

Each report runs in its own savepoint, so a refusal (wrong state, permission, scope) undoes that report
only; the answer says, per id, what happened. Reports outside the caller's scope answer "not found", as
everywhere else, so that ids outside it tell nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.auth.scope import Principal, unit_path_of
from toancanh.core.db import utcnow
from toancanh.core.errors import AppError, BadRequest
from toancanh.core.workflow import WorkflowEngine
from toancanh.modules.reports import service
from toancanh.modules.reports.models import FieldReport, ReportPhoto

ACTIONS = ("assign", "reject", "close", "moderate")


def check_fields(action: str, fields: dict[str, Any]) -> None:
    """Refuse the whole request when what every report needs is missing (nothing is tried then)."""
    if action not in ACTIONS:
        raise BadRequest(
            "Thao tác hàng loạt không hợp lệ", f"Bulk action must be one of {', '.join(ACTIONS)}"
        )
    if action == "assign" and not fields.get("agency_id"):
        raise BadRequest("Chọn cơ quan xử lý", "Choose the agency to assign")
    if action == "reject" and not str(fields.get("reason", "")).strip():
        raise BadRequest("Cần nêu lý do từ chối", "Give the reason for rejecting")
    if action == "moderate" and fields.get("approve") is None:
        raise BadRequest("Chọn công khai hoặc ẩn", "Choose to publish or to hide (approve)")


def _moderate(db: Session, principal: Principal, report: FieldReport, approve: bool) -> None:
    principal.require("reports.moderate", unit_path_of(db, report.unit_id), report.domain)
    # photos are published one by one after a look for faces and plates: keep those already chosen
    keep = db.scalars(
        select(ReportPhoto.sha256).where(ReportPhoto.report_id == report.id, ReportPhoto.public.is_(True))
    ).all()
    service.moderate(db, principal, report, approve=approve, public_photos=list(keep))


def run(
    db: Session,
    engine: WorkflowEngine,
    principal: Principal,
    ids: Sequence[int],
    action: str,
    fields: dict[str, Any],
    *,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Apply `action` to each report of `ids` the caller may act on; one result per distinct id, in order."""
    check_fields(action, fields)
    now = now or utcnow()
    step = {
        k: v for k, v in fields.items() if k in ("agency_id", "reason", "comment") and v not in (None, "")
    }
    results: list[dict[str, Any]] = []
    for report_id in dict.fromkeys(ids):
        try:
            with db.begin_nested():
                report = service.get_for_staff(db, principal, report_id)
                if action == "moderate":
                    _moderate(db, principal, report, bool(fields["approve"]))
                else:
                    service.act(db, engine, report, action, principal, dict(step), now=now)
        except AppError as exc:
            results.append(
                {
                    "id": report_id,
                    "ok": False,
                    "code": exc.code,
                    "error": exc.message,
                    "error_en": exc.message_en,
                }
            )
            continue
        results.append({"id": report_id, "ok": True, "state": report.state, "moderation": report.moderation})
    return results
