"""The incident case type (sự cố): new -> acknowledged -> dispatched -> in progress -> resolved -> closed.

Incidents run around the clock, not on office hours: a fire at 2 a.m. on a Sunday is due in minutes. The
deadlines per state depend on the severity.
"""

from __future__ import annotations

from typing import Any

from toancanh.core.workflow import CaseType, StateSLA, Transition

# minutes allowed in a state, by severity: (acknowledge, dispatch, start work, resolve)
SLA_MINUTES = {
    "extreme": (2, 10, 30, 240),
    "severe": (5, 15, 60, 480),
    "moderate": (15, 60, 240, 1440),
    "minor": (60, 240, 1440, 4320),
    "unknown": (60, 240, 1440, 4320),
}
_STATE_INDEX = {"new": 0, "acknowledged": 1, "dispatched": 2, "in_progress": 3}


def incident_sla(case: Any, state: str) -> StateSLA | None:
    i = _STATE_INDEX.get(state)
    if i is None:
        return None
    minutes = SLA_MINUTES.get(getattr(case, "severity", "unknown"), SLA_MINUTES["unknown"])[i]
    return StateSLA(minutes=minutes, around_the_clock=True, warn_ratio=0.7)


OPEN_STATES = ("new", "acknowledged", "dispatched", "in_progress")
_SLA_WORDS = {"sla_warning": (" — sắp đến hạn", " — due soon"), "sla_overdue": (" — quá hạn", " — overdue")}


def incident_facts(case: Any, step: str) -> dict[str, Any]:
    """What every incident event tells the live ticker, the map and the notifications."""
    title_en = case.title_en or case.title
    if step == "open":
        vi, en = f"Sự cố {case.code}: {case.title}", f"Incident {case.code}: {title_en}"
    else:
        state_vi, state_en = INCIDENT.label(case.state), INCIDENT.label(case.state, "en")
        word_vi, word_en = _SLA_WORDS.get(step, ("", ""))
        vi = f"Sự cố {case.code} ({state_vi}{word_vi}): {case.title}"
        en = f"Incident {case.code} ({state_en}{word_en}): {title_en}"
    return {
        "id": case.id,
        "code": case.code,
        "type": case.type,
        "severity": case.severity,
        "lat": case.lat,
        "lon": case.lon,
        "link": f"/alerts/incidents/{case.id}",
        "title_vi": vi,
        "title_en": en,
    }


INCIDENT = CaseType(
    name="incident",
    title_vi="Sự cố",
    title_en="Incident",
    states=("new", "acknowledged", "dispatched", "in_progress", "resolved", "closed", "merged"),
    initial="new",
    final=("closed", "merged"),
    transitions=(
        Transition(
            "acknowledge",
            ("new",),
            "acknowledged",
            "incidents.handle",
            label_vi="Xác nhận",
            label_en="Acknowledge",
        ),
        Transition(
            "dispatch",
            ("new", "acknowledged", "dispatched", "in_progress"),
            "dispatched",
            "incidents.dispatch",
            required=("agency_id",),
            label_vi="Điều phối lực lượng",
            label_en="Dispatch",
        ),
        Transition(
            "start",
            ("dispatched",),
            "in_progress",
            "incidents.respond",
            assignee_only=True,
            label_vi="Bắt đầu xử lý",
            label_en="Start work",
        ),
        Transition(
            "resolve",
            ("acknowledged", "dispatched", "in_progress"),
            "resolved",
            "incidents.respond",
            required=("comment",),
            assignee_only=True,
            label_vi="Đã xử lý xong",
            label_en="Resolve",
        ),
        Transition(
            "close", ("resolved",), "closed", "incidents.handle", label_vi="Đóng sự cố", label_en="Close"
        ),
        Transition(
            "dismiss",
            ("new", "acknowledged"),
            "closed",
            "incidents.handle",
            required=("reason",),
            label_vi="Báo động giả — đóng",
            label_en="False alarm — close",
        ),
        Transition(
            "reopen",
            ("resolved", "closed"),
            "in_progress",
            "incidents.handle",
            required=("reason",),
            label_vi="Mở lại",
            label_en="Reopen",
        ),
        Transition(
            "merge",
            ("new", "acknowledged", "dispatched", "in_progress", "resolved"),
            "merged",
            "incidents.handle",
            required=("target_id",),
            label_vi="Gộp vào sự cố khác",
            label_en="Merge into another incident",
        ),
        Transition(
            "comment",
            ("*", "closed"),
            "*",
            "incidents.read",
            required=("comment",),
            label_vi="Ghi chú",
            label_en="Comment",
        ),
    ),
    sla_for=incident_sla,
    event_facts=incident_facts,
    subject_prefix="toancanh.alerts.incident",
    labels_vi={
        "new": "Mới",
        "acknowledged": "Đã xác nhận",
        "dispatched": "Đã điều phối",
        "in_progress": "Đang xử lý",
        "resolved": "Đã xử lý xong",
        "closed": "Đã đóng",
        "merged": "Đã gộp",
    },
    labels_en={
        "new": "New",
        "acknowledged": "Acknowledged",
        "dispatched": "Dispatched",
        "in_progress": "In progress",
        "resolved": "Resolved",
        "closed": "Closed",
        "merged": "Merged",
    },
)
