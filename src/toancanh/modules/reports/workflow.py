"""The field-report case type: states, transitions, deadlines on the working-time clock."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toancanh.core.workflow import CaseType, StateSLA, Transition

ACK_HOURS, URGENT_ACK_HOURS = 8, 4
WARN_AT = 0.8  # escalate to the supervisor at 80 % of the time
MAX_EXTEND_DAYS = 30


def _answer_with_evidence(case: Any, fields: Mapping[str, Any]) -> tuple[str, str] | None:
    if len(str(fields.get("answer", "")).strip()) < 20:
        return (
            "Câu trả lời cần cụ thể (ít nhất 20 ký tự)",
            "The answer must be specific (at least 20 characters)",
        )
    return None


def extension_days(fields: Mapping[str, Any]) -> int | None:
    """The working days of an extension ("gia hạn"), or None when `days` is not a whole number 1-30."""
    days = fields.get("days")
    if isinstance(days, bool):
        return None
    if isinstance(days, str) and days.strip().isdecimal():
        days = int(days.strip())
    return days if isinstance(days, int) and 1 <= days <= MAX_EXTEND_DAYS else None


def _extension(case: Any, fields: Mapping[str, Any]) -> tuple[str, str] | None:
    if extension_days(fields) is None:
        return (
            f"Số ngày gia hạn là số nguyên từ 1 đến {MAX_EXTEND_DAYS} ngày làm việc",
            f"The extension is a whole number of 1 to {MAX_EXTEND_DAYS} working days",
        )
    if len(str(fields.get("reason", "")).strip()) < 10:
        return (
            "Cần nêu rõ lý do gia hạn (ít nhất 10 ký tự)",
            "Give the reason for the extension (at least 10 characters)",
        )
    return None


def report_sla(case: Any, state: str) -> StateSLA | None:
    """Acknowledge within 8 working hours (4 when urgent); resolve within the category's working days."""
    if state in ("received", "assigned"):
        return StateSLA(
            hours=URGENT_ACK_HOURS if case.priority == "urgent" else ACK_HOURS, warn_ratio=WARN_AT
        )
    if state == "in_progress":
        days = getattr(case, "resolve_days", None) or 5
        return StateSLA(days=days, warn_ratio=WARN_AT)
    return None


FIELD_REPORT = CaseType(
    name="field_report",
    title_vi="Phản ánh",
    title_en="Field report",
    states=("received", "assigned", "in_progress", "paused", "resolved", "closed", "rejected", "merged"),
    initial="received",
    final=("closed", "rejected", "merged"),
    transitions=(
        Transition(
            "assign",
            ("received", "assigned"),
            "assigned",
            "reports.assign",
            required=("agency_id",),
            label_vi="Giao xử lý",
            label_en="Assign",
        ),
        Transition(
            "transfer",
            ("assigned", "in_progress"),
            "assigned",
            "reports.assign",
            required=("agency_id", "reason"),
            label_vi="Chuyển cơ quan khác",
            label_en="Transfer",
        ),
        Transition(
            "accept",
            ("assigned",),
            "in_progress",
            "reports.handle",
            assignee_only=True,
            label_vi="Tiếp nhận xử lý",
            label_en="Accept",
        ),
        Transition(
            "pause",
            ("in_progress",),
            "paused",
            "reports.handle",
            required=("reason",),
            assignee_only=True,
            label_vi="Tạm dừng",
            label_en="Pause",
        ),
        Transition(
            "resume",
            ("paused",),
            "in_progress",
            "reports.handle",
            assignee_only=True,
            label_vi="Tiếp tục",
            label_en="Resume",
        ),
        Transition(
            "resolve",
            ("in_progress",),
            "resolved",
            "reports.handle",
            required=("answer", "evidence"),
            guard=_answer_with_evidence,
            assignee_only=True,
            label_vi="Trả lời kết quả",
            label_en="Resolve",
        ),
        Transition(
            "extend",
            # states with a running deadline; a "*" target keeps the state (the service moves due_at)
            ("received", "assigned", "in_progress"),
            "*",
            "reports.extend",  # operators and leaders; see __init__.py
            required=("days", "reason"),
            guard=_extension,
            assignee_only=True,  # leaders: of the assigned agency, or supervisors of the unit
            label_vi="Gia hạn",
            label_en="Extend the deadline",
        ),
        Transition("close", ("resolved",), "closed", "reports.assign", label_vi="Đóng", label_en="Close"),
        Transition(
            "reopen",
            ("resolved", "closed"),
            "in_progress",
            "reports.assign",
            required=("reason",),
            label_vi="Mở lại",
            label_en="Reopen",
        ),
        Transition(
            "reject",
            ("received", "assigned"),
            "rejected",
            "reports.assign",
            required=("reason",),
            label_vi="Từ chối",
            label_en="Reject",
        ),
        Transition(
            "merge",
            ("received", "assigned", "in_progress"),
            "merged",
            "reports.assign",
            required=("target_id",),
            label_vi="Gộp vào phản ánh trùng",
            label_en="Merge as duplicate",
        ),
    ),
    sla_for=report_sla,
    subject_prefix="toancanh.reports.report",
    labels_vi={
        "received": "Đã tiếp nhận",
        "assigned": "Đã chuyển cơ quan xử lý",
        "in_progress": "Đang xử lý",
        "paused": "Tạm dừng",
        "resolved": "Đã có kết quả",
        "closed": "Hoàn thành",
        "rejected": "Không xử lý",
        "merged": "Gộp vào phản ánh khác",
    },
    labels_en={
        "received": "Received",
        "assigned": "Assigned",
        "in_progress": "In progress",
        "paused": "Paused",
        "resolved": "Resolved",
        "closed": "Closed",
        "rejected": "Rejected",
        "merged": "Merged",
    },
)
REJECT_REASONS = ("out_of_scope", "duplicate", "false_report", "insufficient_information")
