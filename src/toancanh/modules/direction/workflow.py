"""The directed-task case type (nhiệm vụ chỉ đạo): states, transitions, and the task's own deadline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from toancanh.core.workflow import CaseType, StateSLA, Transition
from toancanh.core.worktime import WorkCalendar

WARN_AT = 0.8  # "sắp đến hạn" once 80 % of the working time to the deadline has passed
HOLDING_STATES = ("assigned", "in_progress", "returned")
"""States in which the agency holds the task and its deadline runs (submitted: the leader holds it)."""
MIN_REASON = 10


@dataclass(frozen=True)
class TaskDeadline(StateSLA):
    """A deadline fixed when the task is issued (hạn hoàn thành), not a time allowed from entering a state.

    The engine asks `deadline(calendar, start)` on every state change; a task's answer is always its own
    `at`, so acknowledging or resubmitting never moves it. Warnings count working time from the state's
    start, like every other case type.
    """

    at: datetime | None = None

    def deadline(self, calendar: WorkCalendar, start: datetime) -> datetime:
        return self.at if self.at is not None else super().deadline(calendar, start)


def task_sla(case: Any, state: str) -> StateSLA | None:
    if state in HOLDING_STATES and case.deadline_at is not None:
        return TaskDeadline(hours=1, warn_ratio=WARN_AT, at=case.deadline_at)
    return None


def _percent(case: Any, fields: Mapping[str, Any]) -> tuple[str, str] | None:
    value = fields.get("percent")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        return ("Tiến độ là số nguyên từ 0 đến 100 (%)", "Progress is a whole number from 0 to 100 (%)")
    return None


def _reason(case: Any, fields: Mapping[str, Any]) -> tuple[str, str] | None:
    if len(str(fields.get("reason", "")).strip()) < MIN_REASON:
        return (
            f"Cần nêu rõ lý do (ít nhất {MIN_REASON} ký tự)",
            f"Give the reason (at least {MIN_REASON} characters)",
        )
    return None


def _completion(case: Any, fields: Mapping[str, Any]) -> tuple[str, str] | None:
    if len(str(fields.get("text", "")).strip()) < MIN_REASON:
        return (
            f"Báo cáo kết quả cần cụ thể (ít nhất {MIN_REASON} ký tự)",
            f"The completion report must be specific (at least {MIN_REASON} characters)",
        )
    return None


_AGENCY, _LEADER = "direction.act", "direction.issue"
_OPEN = ("assigned", "in_progress", "returned", "submitted")

DIRECTION_TASK = CaseType(
    name="direction_task",
    title_vi="Nhiệm vụ",
    title_en="Task",
    states=("assigned", "in_progress", "submitted", "returned", "done"),
    initial="assigned",
    final=("done",),
    transitions=(
        Transition(
            "acknowledge",
            ("assigned", "returned"),
            "in_progress",
            _AGENCY,
            assignee_only=True,
            label_vi="Tiếp nhận",
            label_en="Acknowledge",
        ),
        Transition(
            "report_progress",
            ("in_progress",),
            "*",
            _AGENCY,  # lead or co-operating agency: checked by the service
            required=("percent", "text"),
            guard=_percent,
            label_vi="Báo cáo tiến độ",
            label_en="Report progress",
        ),
        Transition(
            "request_extension",
            ("assigned", "in_progress", "returned"),
            "*",
            _AGENCY,
            required=("reason", "new_deadline"),
            guard=_reason,
            assignee_only=True,
            label_vi="Xin gia hạn",
            label_en="Request an extension",
        ),
        Transition(
            "approve_extension",
            _OPEN,
            "*",
            _LEADER,
            required=("request_id",),
            label_vi="Đồng ý gia hạn",
            label_en="Approve the extension",
        ),
        Transition(
            "refuse_extension",
            _OPEN,
            "*",
            _LEADER,
            required=("request_id", "reason"),
            guard=_reason,
            label_vi="Không đồng ý gia hạn",
            label_en="Refuse the extension",
        ),
        Transition(
            "submit",
            ("in_progress",),
            "submitted",
            _AGENCY,
            required=("text", "evidence"),
            guard=_completion,
            assignee_only=True,
            label_vi="Báo cáo hoàn thành",
            label_en="Submit completion",
        ),
        Transition("accept", ("submitted",), "done", _LEADER, label_vi="Nghiệm thu", label_en="Accept"),
        Transition(
            "return",
            ("submitted",),
            "returned",
            _LEADER,
            required=("reason",),
            guard=_reason,
            label_vi="Trả lại",
            label_en="Return",
        ),
    ),
    sla_for=task_sla,
    subject_prefix="toancanh.direction.task",
    labels_vi={
        "assigned": "Đã giao",
        "in_progress": "Đang thực hiện",
        "submitted": "Chờ nghiệm thu",
        "returned": "Bị trả lại",
        "done": "Hoàn thành",
    },
    labels_en={
        "assigned": "Assigned",
        "in_progress": "In progress",
        "submitted": "Submitted",
        "returned": "Returned",
        "done": "Done",
    },
    event_facts=lambda case, step: {"title": case.title, "directive_id": case.directive_id},
)
