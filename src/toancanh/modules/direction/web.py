"""Pages of direction and operation: the tracking page `/direction`, the directive form `/direction/new`, a
task page `/direction/tasks/{id}` with its action forms, and the agency ranking `/direction/ranking`.

Plain HTML forms (POST with the session's CSRF token) that call the same service as the JSON API; a refused
step shows the page again with the reason and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.api.deps import SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.assets import DOMAIN_LABELS
from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal, scoped
from toancanh.core.errors import AppError, BadRequest, PayloadTooLarge
from toancanh.core.units import Agency, Unit
from toancanh.core.worktime import VN_TZ
from toancanh.modules.direction import service, views
from toancanh.modules.direction.models import DirectionTask
from toancanh.modules.direction.schemas import ActionIn, DirectiveIn
from toancanh.modules.direction.workflow import DIRECTION_TASK
from toancanh.web import render
from toancanh.web.pages import csrf_ok as _csrf_ok
from toancanh.web.pages import form_errors as _message
from toancanh.web.pages import locale_of, page_principal

router = APIRouter(prefix="/direction")
BACK_PAGES = {"/direction/mobile": "/direction/mobile"}  # where a form may send the user back to
TASK_ROWS = 3  # task rows of the directive form; empty rows are skipped
MAX_UPLOAD = 10 * 1024 * 1024
VIEWS = ("all", "agency", "leader", "source")

SOURCE_LABELS = {
    "meeting_conclusion": ("Kết luận cuộc họp", "Meeting conclusion"),
    "incident": ("Sự cố", "Incident"),
    "indicator": ("Chỉ tiêu không đạt", "Indicator off target"),
    "field_report": ("Phản ánh hiện trường", "Field report"),
    "other": ("Khác", "Other"),
}
PRIORITY_LABELS = {
    "low": ("Thấp", "Low"),
    "normal": ("Bình thường", "Normal"),
    "high": ("Cao", "High"),
    "urgent": ("Khẩn", "Urgent"),
}
KIND_LABELS = {
    "directive": ("Văn bản chỉ đạo", "Directive"),
    "conclusion": ("Kết luận", "Conclusion"),
    "notice": ("Thông báo", "Notice"),
}
FLAG_LABELS = {
    "overdue": ("Quá hạn", "Overdue"),
    "warning": ("Sắp đến hạn", "Due soon"),
    "ok": ("Trong hạn", "On time"),
}
EXT_LABELS = {
    "pending": ("Chờ quyết định", "Pending"),
    "approved": ("Đã đồng ý", "Approved"),
    "refused": ("Không đồng ý", "Refused"),
    "lapsed": ("Hết hiệu lực", "Lapsed"),
}


def _t(locale: str) -> Callable[[str, str], str]:
    def t(vi: str, en: str) -> str:
        return vi if locale == "vi" else en

    return t


def _labels(table: dict[str, tuple[str, str]], locale: str) -> dict[str, str]:
    i = 0 if locale == "vi" else 1
    return {k: v[i] for k, v in table.items()}


def vn(value: str | datetime | None, fmt: str = "%H:%M %d/%m/%Y") -> str:
    if not value:
        return ""
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    return dt.astimezone(VN_TZ).strftime(fmt)


def _context(request: Request, **extra: Any) -> dict[str, Any]:
    locale = locale_of(request)
    return {
        "t": _t(locale),
        "vn": vn,
        "source_label": _labels(SOURCE_LABELS, locale),
        "priority_label": _labels(PRIORITY_LABELS, locale),
        "kind_label": _labels(KIND_LABELS, locale),
        "flag_label": _labels(FLAG_LABELS, locale),
        "ext_label": _labels(EXT_LABELS, locale),
        "domain_label": _labels(DOMAIN_LABELS, locale),
        "state_label": {s: DIRECTION_TASK.label(s, locale) for s in DIRECTION_TASK.states},
        "step_label": {
            "open": "Giao nhiệm vụ" if locale == "vi" else "Assigned",
            "sla_warning": "Sắp đến hạn" if locale == "vi" else "Due soon",
            "sla_overdue": "Quá hạn" if locale == "vi" else "Overdue",
            **{x.name: x.label(locale) for x in DIRECTION_TASK.transitions},
        },
        **extra,
    }


def _forbidden(request: Request) -> Response:
    return render(request, "error.html", {"title": "403"}, 403)  # type: ignore[no-any-return]


def _visible_agencies(db: Session, principal: Principal) -> list[Agency]:
    return list(db.scalars(scoped(select(Agency), principal, Agency, "agencies.read").order_by(Agency.name)))


def _leaders(db: Session, principal: Principal) -> list[tuple[int, str]]:
    """Users who issued tasks the caller can see (the "by leader" view)."""
    issuers = service.scoped_tasks(principal).with_only_columns(DirectionTask.issued_by_id).distinct()
    rows = db.execute(select(User.id, User.full_name, User.username).where(User.id.in_(issuers))).tuples()
    return [(uid, full or name) for uid, full, name in rows]


# ------------------------------------------------------------------------------------------ tracking


@router.get("")
def tracking(
    request: Request,
    db: SessionDep,
    view: str = Query(default="all", pattern="^(all|agency|leader|source)$"),
    agency_id: DbId | None = None,
    leader_id: DbId | None = None,
    source: str | None = Query(
        default=None, pattern="^(meeting_conclusion|incident|indicator|field_report|other)$"
    ),
    state: str | None = Query(default=None, pattern="^(assigned|in_progress|submitted|returned|done)$"),
    overdue: bool | None = None,
) -> Any:
    """The tracking page: tasks overdue first, by agency, leader or source, with the headline figures."""
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    locale = locale_of(request)
    tasks = service.list_tasks(
        db,
        principal,
        agency_id=agency_id,
        leader_id=leader_id,
        source_kind=source,
        states=(state,) if state else (),
        overdue=overdue,
        limit=300,
    )
    rows = views.task_rows(db, tasks, locale)
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    if view in ("agency", "leader", "source"):
        key = {"agency": "lead_agency", "leader": "issued_by", "source": "source"}[view]
        seen: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            name = _labels(SOURCE_LABELS, locale)[row["source"]["kind"]] if view == "source" else row[key]
            seen.setdefault(name or "—", []).append(row)
        groups = sorted(seen.items())
    else:
        groups = [("", rows)]
    ctx = _context(
        request,
        groups=groups,
        view=view,
        stats=service.stats(db, principal),
        agencies=_visible_agencies(db, principal),
        leaders=_leaders(db, principal),
        filters={
            "agency_id": agency_id,
            "leader_id": leader_id,
            "source": source,
            "state": state,
            "overdue": overdue,
        },
        can_issue=principal.has(service.ISSUE),
        query=lambda **kw: urlencode({k: v for k, v in kw.items() if v not in (None, "")}),
    )
    return render(request, "direction/tracking.html", ctx)


@router.get("/ranking")
def ranking(request: Request, db: SessionDep) -> Any:
    """Agencies ranked by on-time completion."""
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    rows = service.agency_ranking(db, principal)
    return render(request, "direction/ranking.html", _context(request, rows=rows))


# ------------------------------------------------------------------------------------------ issuing


def _issue_units(db: Session, principal: Principal) -> list[Unit]:
    """Units where the caller may issue: the units of their leader/admin grants (and the communes below)."""
    paths = [g.unit_path for g in principal.grants_for(service.ISSUE)]
    if not paths:
        return []
    stmt = select(Unit).where(Unit.level <= 2).order_by(Unit.path)
    return [u for u in db.scalars(stmt.limit(5000)) if any(u.path.startswith(p) for p in paths)][:200]


def _form_page(
    request: Request,
    db: Session,
    principal: Principal,
    values: dict[str, Any],
    errors: list[str],
    status: int,
) -> Any:
    ctx = _context(
        request,
        units=_issue_units(db, principal),
        agencies=_visible_agencies(db, principal),
        domains=list(DOMAIN_LABELS),
        rows=range(TASK_ROWS),
        values=values,
        errors=errors,
    )
    return render(request, "direction/new.html", ctx, status)


@router.get("/new")
def new_directive(request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, service.ISSUE)
    if isinstance(principal, Response):
        return principal
    return _form_page(request, db, principal, {}, [], 200)


def _row(values: list[str], i: int) -> str:
    return values[i].strip() if i < len(values) else ""


def _tasks_from_form(f: dict[str, list[str]], coop: list[str]) -> list[dict[str, Any]]:
    out = []
    for i in range(TASK_ROWS):
        title = _row(f["task_title"], i)
        if not title:
            continue
        days, due = _row(f["task_days"], i), _row(f["task_deadline"], i)
        out.append(
            {
                "title": title,
                "lead_agency_id": _row(f["task_lead"], i) or None,
                "cooperating_agency_ids": [c.split(":", 1)[1] for c in coop if c.startswith(f"{i}:")],
                "domain": _row(f["task_domain"], i) or "administration",
                "priority": _row(f["task_priority"], i) or "normal",
                "expected_output": _row(f["task_output"], i),
                "deadline_days": days or None,
                "deadline": None if days else (due or None),
                "source": {
                    "kind": _row(f["task_source"], i) or "other",
                    "ref": _row(f["task_source_ref"], i),
                },
            }
        )
    return out


@router.post("/new")
def create_directive(
    request: Request,
    db: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    unit_id: Annotated[str, Form(max_length=20)] = "",
    number: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=20)] = "directive",
    title: Annotated[str, Form(max_length=1000)] = "",
    summary: Annotated[str, Form(max_length=10000)] = "",
    task_title: Annotated[list[str], Form(max_length=TASK_ROWS)] = [],  # noqa: B006 (FastAPI copies defaults)
    task_lead: Annotated[list[str], Form(max_length=TASK_ROWS)] = [],  # noqa: B006
    task_domain: Annotated[list[str], Form(max_length=TASK_ROWS)] = [],  # noqa: B006
    task_priority: Annotated[list[str], Form(max_length=TASK_ROWS)] = [],  # noqa: B006
    task_days: Annotated[list[str], Form(max_length=TASK_ROWS)] = [],  # noqa: B006
    task_deadline: Annotated[list[str], Form(max_length=TASK_ROWS)] = [],  # noqa: B006
    task_output: Annotated[list[str], Form(max_length=TASK_ROWS)] = [],  # noqa: B006
    task_source: Annotated[list[str], Form(max_length=TASK_ROWS)] = [],  # noqa: B006
    task_source_ref: Annotated[list[str], Form(max_length=TASK_ROWS)] = [],  # noqa: B006
    coop: Annotated[list[str], Form(max_length=200)] = [],  # noqa: B006 ("row:agency id")
    attachment: Annotated[UploadFile | None, File()] = None,
) -> Any:
    """Issue a directive with up to three tasks from the form."""
    principal = page_principal(request, db, service.ISSUE)
    if isinstance(principal, Response):
        return principal
    if not _csrf_ok(request, csrf):
        return _forbidden(request)
    f = {
        "task_title": task_title,
        "task_lead": task_lead,
        "task_domain": task_domain,
        "task_priority": task_priority,
        "task_days": task_days,
        "task_deadline": task_deadline,
        "task_output": task_output,
        "task_source": task_source,
        "task_source_ref": task_source_ref,
    }
    values: dict[str, Any] = {
        "unit_id": unit_id,
        "number": number,
        "kind": kind,
        "title": title,
        "summary": summary,
        **f,
        "coop": coop,
    }
    try:
        shas = [_store(request, db, attachment)] if attachment is not None and attachment.filename else []
        body = DirectiveIn.model_validate(
            {
                "unit_id": unit_id or None,
                "number": number,
                "kind": kind,
                "title": title,
                "summary": summary,
                "attachments": shas,
                "tasks": _tasks_from_form(f, coop),
            }
        )
        directive = service.create_directive(
            db, request.app.state.workflow, request.app.state.blobs, principal, body
        )
    except (ValidationError, AppError) as exc:
        db.rollback()
        return _form_page(request, db, principal, values, _message(exc, locale_of(request)), 400)
    return RedirectResponse(f"/direction?{urlencode({'directive': directive.id})}", status_code=303)


def _store(request: Request, db: Session, upload: UploadFile) -> str:
    data = upload.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise PayloadTooLarge("Tệp quá lớn (tối đa 10 MB)", "File too large (max 10 MB)")
    return str(
        request.app.state.blobs.put(db, data, allowed=service.ATTACHMENT_TYPES, max_bytes=MAX_UPLOAD).sha256
    )


# ------------------------------------------------------------------------------------------ task page


def _task_page(
    request: Request, db: Session, principal: Principal, task: DirectionTask, errors: list[str], status: int
) -> Any:
    locale = locale_of(request)
    detail = views.task_detail(db, request.app.state.workflow, principal, task, locale)
    pending = [r for r in detail["extension_requests"] if r["status"] == "pending"]
    ctx = _context(
        request, task=detail, errors=errors, pending=pending, actions={a["name"] for a in detail["actions"]}
    )
    return render(request, "direction/task.html", ctx, status)


@router.get("/tasks/{task_id}")
def task_page(task_id: DbId, request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    try:
        task = service.get_task(db, principal, task_id)
    except AppError:
        return render(request, "error.html", {"title": "404"}, 404)
    return _task_page(request, db, principal, task, [], 200)


@router.post("/tasks/{task_id}/actions/{name}")
def task_action(
    task_id: DbId,
    name: str,
    request: Request,
    db: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    percent: Annotated[str, Form(max_length=10)] = "",
    text: Annotated[str, Form(max_length=5000)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    new_deadline: Annotated[str, Form(max_length=40)] = "",
    request_id: Annotated[str, Form(max_length=20)] = "",
    file: Annotated[UploadFile | None, File()] = None,
    back: Annotated[str, Form(max_length=40)] = "",
) -> Any:
    """One step from the task page's forms; the uploaded file is the progress attachment or the evidence."""
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    if not _csrf_ok(request, csrf):
        return _forbidden(request)
    try:
        task = service.get_task(db, principal, task_id)
    except AppError:
        return render(request, "error.html", {"title": "404"}, 404)
    try:
        shas = [_store(request, db, file)] if file is not None and file.filename else []
        if name == "report_progress" and not percent.strip().isdecimal():
            raise BadRequest(
                "Tiến độ là số nguyên từ 0 đến 100 (%)", "Progress is a whole number from 0 to 100 (%)"
            )
        body = ActionIn.model_validate(
            {
                "percent": int(percent) if percent.strip().isdecimal() and len(percent) < 4 else None,
                "text": text,
                "reason": reason,
                "new_deadline": _date(new_deadline),
                "request_id": request_id or None,
                "attachments": shas if name == "report_progress" else [],
                "evidence": shas if name == "submit" else [],
            }
        )
        service.act(
            db, request.app.state.workflow, request.app.state.blobs, task, name[:32], principal, body.fields()
        )
    except (ValidationError, AppError) as exc:
        db.rollback()
        task = service.get_task(db, principal, task_id)
        return _task_page(request, db, principal, task, _message(exc, locale_of(request)), 400)
    # the leader's phone view decides extensions in place; any other value goes to the task page
    target = BACK_PAGES.get(back, f"/direction/tasks/{task.id}")
    return RedirectResponse(target, status_code=303)


def _date(value: str) -> date | None:
    value = value.strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise BadRequest("Ngày không hợp lệ", "Invalid date") from None
