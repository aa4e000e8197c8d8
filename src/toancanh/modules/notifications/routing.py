"""Who hears about an event: in-app recipients and the citizens' e-mails.

In-app, for any module's event:

* a case event (``case_id`` in the data, as the workflow engine emits them) goes to the users of the
  assigned agency (``assignee_agency_id``) and to the assigned user, except to whoever did the step;
* ``notify_user_ids`` / ``notify_agency_ids`` in the data name recipients explicitly (alerts, directives);
* a deadline event (``*.sla_warning``, ``*.sla_overdue``, ``*.escalated``) also goes to the operators and
  leaders whose grants cover the event's unit and domain for ``<module>.read``.

E-mail: a field report's reporter and followers hear when it is resolved, closed, rejected, merged or
reopened. The reporter's message carries their private tracking code; a follower's carries only the public
number, never someone else's code.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.auth.models import Grant, User
from toancanh.core.auth.permissions import all_permissions
from toancanh.core.auth.service import principal_for
from toancanh.core.bus import Event
from toancanh.core.errors import NotFound
from toancanh.core.units import Unit

REPORTS = "toancanh.reports.report."
DEADLINE_VERBS = frozenset({"sla_warning", "sla_overdue", "escalated"})
WATCH_ROLES = ("operator", "leader")
MAX_RECIPIENTS = 500

# What the citizen is told, by transition: (what happened, Vietnamese).
EMAIL_VERBS = {
    "resolve": "đã có kết quả xử lý",
    "close": "đã hoàn thành",
    "reject": "không được tiếp nhận xử lý",
    "merge": "đã được gộp vào một phản ánh cùng nội dung",
    "reopen": "được mở lại để tiếp tục xử lý",
}


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    body: str


def as_id(value: Any) -> int | None:
    """An id from event data, or None for anything that is not a plausible id."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.isdecimal() and len(value) < 19:
        return int(value)
    return None


def _ids(values: Any) -> set[int]:
    if not isinstance(values, list | tuple):
        return set()
    return {i for i in (as_id(v) for v in values[:MAX_RECIPIENTS]) if i is not None}


def _agency_users(db: Session, agency_ids: Iterable[int]) -> set[int]:
    ids = list(agency_ids)
    if not ids:
        return set()
    stmt = select(User.id).where(User.agency_id.in_(ids), User.active.is_(True), User.is_service.is_(False))
    return set(db.scalars(stmt.limit(MAX_RECIPIENTS)))


def _watchers(db: Session, event: Event) -> set[int]:
    """Operators and leaders whose grants cover the event's unit and domain."""
    module = event.subject.split(".")[1]
    permission = f"{module}.read" if f"{module}.read" in all_permissions() else "events.read"
    codes = [c for c in (event.unit_path or "").strip("/").split("/") if c]
    above = select(Unit.id).where(Unit.code.in_(codes))
    users = db.scalars(
        select(User)
        .join(Grant, Grant.user_id == User.id)
        .where(
            Grant.role.in_(WATCH_ROLES),
            User.active.is_(True),
            User.is_service.is_(False),
            Grant.unit_id.is_(None) | Grant.unit_id.in_(above),
        )
        .distinct()
        .limit(MAX_RECIPIENTS)
    )
    out = set()
    for user in users:
        principal = principal_for(db, user)
        watching = any(g.role in WATCH_ROLES for g in principal.grants_for(permission))
        if watching and principal.can(permission, event.unit_path, event.domain):
            out.add(user.id)
    return out


def in_app_recipients(db: Session, event: Event) -> set[int]:
    """The users who get an in-app notification of `event`."""
    data = event.data
    agencies = _ids(data.get("notify_agency_ids"))
    users = _ids(data.get("notify_user_ids"))
    case_id = as_id(data.get("case_id"))
    if event.subject.startswith(REPORTS) and case_id is None:
        case_id = as_id(data.get("id"))  # escalated / rated carry the report's id as "id"
    if case_id is not None:
        agency = as_id(data.get("assignee_agency_id"))
        if agency is None and event.subject.startswith(REPORTS):
            agency = _report_agency(db, case_id)
        if agency is not None:
            agencies.add(agency)
        user = as_id(data.get("assignee_user_id"))
        if user is not None:
            users.add(user)
    users |= _agency_users(db, agencies)
    verb = event.subject.rsplit(".", 1)[-1]
    if verb in DEADLINE_VERBS:
        users |= _ids(data.get("leader_ids"))
        users |= _watchers(db, event)
    actor = as_id(data.get("actor_id"))
    if actor is not None:
        users.discard(actor)
    if not users:
        return set()
    # Only users that exist and are active (ids in event data come from other modules).
    return set(db.scalars(select(User.id).where(User.id.in_(users), User.active.is_(True))))


def link_of(event: Event) -> str:
    """Where the notification leads: the data's own `link` when it is a local path, else the case page."""
    link = event.data.get("link")
    if isinstance(link, str) and link.startswith("/") and not link.startswith("//") and len(link) <= 300:
        return link
    if event.subject.startswith(REPORTS):
        case_id = as_id(event.data.get("case_id")) or as_id(event.data.get("id"))
        if case_id is not None:
            return f"/reports/{case_id}"
    return ""


# ------------------------------------------------------------------------------------------ e-mail


def _report(db: Session, case_id: int) -> Any:
    # Field reports are read through the reports module's service (modules meet only there).
    from toancanh.modules.reports import service as reports_service

    try:
        return reports_service.by_public_id(db, case_id)
    except NotFound:
        return None


def _report_agency(db: Session, case_id: int) -> int | None:
    report = _report(db, case_id)
    return None if report is None else report.assignee_agency_id


def _follower_emails(db: Session, report_id: int) -> list[str]:
    from toancanh.modules.reports import service as reports

    return reports.follower_emails(db, report_id)[:MAX_RECIPIENTS]


def _address(value: str) -> str | None:
    value = value.strip().lower()
    if not value or len(value) > 200 or value.count("@") != 1 or any(c in value for c in " \r\n\t,;<>\"'"):
        return None
    local, domain = value.split("@")
    return value if local and "." in domain else None


def report_emails(db: Session, event: Event, site_name: str, public_url: str) -> list[Email]:
    """The e-mails a field-report event sends: the reporter's (with their code), the followers' (without)."""
    if not event.subject.startswith(REPORTS):
        return []
    verb = event.subject.rsplit(".", 1)[-1]
    what = EMAIL_VERBS.get(verb)
    case_id = as_id(event.data.get("case_id"))
    if what is None or case_id is None:
        return []
    report = _report(db, case_id)
    if report is None:
        return []
    base = public_url.rstrip("/")
    sign = f"\n\n{site_name}\n(Thư gửi tự động, vui lòng không trả lời thư này.)\n"
    extra = ""
    if verb == "merge" and report.merged_into_id:
        extra = f" (phản ánh số #{report.merged_into_id})"
    out: list[Email] = []
    seen: set[str] = set()
    reporter = _address(report.reporter_email or "")
    if reporter:
        code = report.tracking_code
        out.append(
            Email(
                to=reporter,
                subject=f"Phản ánh {code} {what}",
                body=(
                    "Kính gửi anh/chị,\n\n"
                    f"Phản ánh mã {code} của anh/chị {what}{extra}.\n"
                    f"Xem chi tiết và đánh giá kết quả: {base}/phan-anh/tra-cuu/{code}"
                    f"\nMã tra cứu là của riêng anh/chị, xin đừng chia sẻ.{sign}"
                ),
            )
        )
        seen.add(reporter)
    for raw in _follower_emails(db, report.id):
        addr = _address(raw)
        if addr is None or addr in seen:
            continue
        seen.add(addr)
        out.append(
            Email(
                to=addr,
                subject=f"Phản ánh số #{report.id} {what}",
                body=(
                    "Kính gửi anh/chị,\n\n"
                    f"Phản ánh số #{report.id} mà anh/chị cùng phản ánh {what}{extra}.\n"
                    f"Xem trên trang phản ánh công khai: {base}/phan-anh/cong-khai{sign}"
                ),
            )
        )
    return out
