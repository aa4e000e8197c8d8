"""Pages of the warning and command center (trung tâm cảnh báo và chỉ huy) for duty operators.

- `/alerts/console`: the live alert console (bảng cảnh báo trực tiếp) for the control-room wall: alerts
  arriving over Server-Sent Events with a sound, acknowledged in one click, on a map with the open incidents.
- `/alerts/incidents` and `/alerts/incidents/{id}`: the incident list (sự cố) and one incident with its
  actions, SOP checklist, alerts, timeline and files.
- `/alerts/rules`, `/alerts/rules/new`, `/alerts/rules/{id}`: the rules (quy tắc cảnh báo) and their editor,
  with validation, dry runs over stored data and the version history.

Pages render server-side from the services; the static scripts act through the JSON API (the CSP allows no
inline script) and refresh from the live stream.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import or_, select

from toancanh.core.api.deps import SessionDep
from toancanh.core.assets import DOMAIN_LABELS, DOMAINS
from toancanh.core.auth.scope import Principal, get_scoped, scoped
from toancanh.core.db import utcnow
from toancanh.core.errors import NotFound
from toancanh.core.units import Agency, Unit
from toancanh.core.worktime import VN_TZ
from toancanh.modules.alerts import incidents, service
from toancanh.modules.alerts.models import SEVERITIES, AlertRule, Incident, SopTemplate
from toancanh.modules.alerts.workflow import INCIDENT, OPEN_STATES
from toancanh.web import render
from toancanh.web.pages import home_unit, locale_of, page_principal

router = APIRouter()
STATIC = Path(__file__).parent / "static"
_STATIC_NAME = re.compile(r"^[a-z0-9-]+\.(js|css)$")
_MEDIA = {"js": "text/javascript", "css": "text/css"}

# Words of the pages, (Vietnamese, English), by key.
SEVERITY_LABELS = {
    "extreme": ("Cực kỳ nghiêm trọng", "Extreme"),
    "severe": ("Nghiêm trọng", "Severe"),
    "moderate": ("Trung bình", "Moderate"),
    "minor": ("Nhẹ", "Minor"),
    "unknown": ("Chưa rõ", "Unknown"),
}
ALERT_STATUS_LABELS = {
    "active": ("Mới", "New"),
    "acknowledged": ("Đã xác nhận", "Acknowledged"),
    "resolved": ("Đã kết thúc", "Resolved"),
}
SLA_LABELS = {
    "ok": ("Trong hạn", "On time"),
    "warning": ("Sắp đến hạn", "Due soon"),
    "overdue": ("Quá hạn", "Overdue"),
}
INCIDENT_TYPES = {
    "fire": ("Cháy", "Fire"),
    "flood": ("Ngập lụt", "Flood"),
    "air_quality": ("Chất lượng không khí", "Air quality"),
    "device": ("Sự cố thiết bị", "Device fault"),
    "weather": ("Thời tiết nguy hiểm", "Severe weather"),
    "traffic": ("Giao thông", "Traffic"),
    "security": ("An ninh trật tự", "Public order"),
    "waste": ("Rác thải", "Waste"),
    "school": ("An toàn trường học", "School safety"),
    "health": ("Y tế", "Health"),
    "infosec": ("An toàn thông tin", "Information security"),
}
CONDITION_LABELS = {
    "threshold": ("Vượt ngưỡng", "Threshold"),
    "rate_of_change": ("Tăng/giảm nhanh", "Rate of change"),
    "absence": ("Mất tín hiệu", "No data (absence)"),
    "geofence": ("Vào/ra vùng", "Geofence"),
    "k_of_n": ("k thiết bị cùng vượt", "k of n devices"),
    "pattern": ("Chuỗi sự kiện", "Event pattern"),
    "event": ("Sự kiện", "Event"),
    "event_count": ("Đếm sự kiện", "Event count"),
}
ROLE_LABELS = {
    "operator": ("Cán bộ trực", "Duty operator"),
    "leader": ("Lãnh đạo", "Leader"),
    "agency_staff": ("Cơ quan xử lý", "Agency staff"),
    "admin": ("Quản trị", "Administrator"),
}

# Messages of the static scripts, (Vietnamese, English); the page hands them over in its language.
CONSOLE_JS = {
    "ack": ("Xác nhận", "Acknowledge"),
    "acked_by": ("Đã xác nhận bởi", "Acknowledged by"),
    "at": ("lúc", "at"),
    "incident": ("Sự cố", "Incident"),
    "no_alerts": ("Không có cảnh báo nào đang diễn ra.", "No live alerts."),
    "no_incidents": ("Không có sự cố đang mở.", "No open incidents."),
    "sound_on": ("Bật âm thanh", "Turn sound on"),
    "mute": ("Tắt tiếng", "Mute"),
    "unmute": ("Bật tiếng", "Unmute"),
    "error": ("Có lỗi, vui lòng thử lại", "Something went wrong, please try again"),
    "offline": ("Mất kết nối mạng", "No network connection"),
    "camera": ("Camera", "Camera"),
    "sensor": ("Cảm biến", "Sensor"),
    "open": ("Mở", "Open"),
    "live": ("Trực tiếp", "Live"),
    "reconnecting": ("Đang kết nối lại…", "Reconnecting…"),
    "new_alerts": ("cảnh báo mới", "new alerts"),
}
INCIDENT_JS = {
    "error": ("Có lỗi, vui lòng thử lại", "Something went wrong, please try again"),
    "offline": ("Mất kết nối mạng", "No network connection"),
    "sending": ("Đang gửi…", "Sending…"),
    "need_note": ("Cần ghi lý do khi bỏ qua bước", "A reason is needed to skip a step"),
    "need_alerts": ("Chọn ít nhất một cảnh báo để tách", "Select at least one alert to split off"),
    "overdue": ("Quá hạn", "Overdue"),
    "left": ("còn", "left"),
    "late_by": ("trễ", "late by"),
    "updated": ("Sự cố vừa được cập nhật.", "This incident was just updated."),
    "reload": ("Tải lại", "Reload"),
    "uploaded": ("Đã tải lên", "Uploaded"),
    "required": ("Cần nhập", "Required"),
}
RULES_JS = {
    "error": ("Có lỗi, vui lòng thử lại", "Something went wrong, please try again"),
    "offline": ("Mất kết nối mạng", "No network connection"),
    "valid": ("Quy tắc hợp lệ.", "The rule is valid."),
    "invalid": ("Quy tắc chưa hợp lệ", "The rule is not valid"),
    "saved": ("Đã lưu phiên bản", "Saved version"),
    "checking": ("Đang kiểm tra…", "Checking…"),
    "running": ("Đang chạy thử…", "Running…"),
    "saving": ("Đang lưu…", "Saving…"),
    "firings": ("lần kích hoạt", "firings"),
    "shown": ("hiển thị", "showing"),
    "no_firings": ("Không có lần kích hoạt nào trong khoảng thời gian này.", "No firings in this period."),
    "bad_json": ("Nội dung không phải JSON hợp lệ", "The text is not valid JSON"),
    "need_unit": ("Chọn đơn vị", "Choose a unit"),
    "need_range": ("Chọn khoảng thời gian hợp lệ", "Choose a valid period"),
    "loaded_version": ("Đã nạp phiên bản", "Loaded version"),
    "time": ("Thời điểm", "Time"),
    "asset": ("Thiết bị", "Asset"),
    "title": ("Nội dung cảnh báo", "Alert"),
    "severity": ("Mức độ", "Severity"),
    "value": ("Giá trị", "Value"),
    "per_hour": ("Số lần kích hoạt", "Firings"),
    "scanned": ("đã đọc", "read"),
    "readings": ("số đo", "readings"),
    "events": ("sự kiện", "events"),
    "cleared": ("Hết cảnh báo", "Cleared"),
}


# ------------------------------------------------------------------------------------------- helpers


def vn_time(value: str | datetime | None, fmt: str = "%H:%M %d/%m/%Y") -> str:
    """A timestamp as Vietnamese readers expect it, in Vietnam's time zone."""
    if not value:
        return ""
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    return dt.astimezone(VN_TZ).strftime(fmt)


def age(value: str | datetime | None, locale: str, now: datetime | None = None) -> str:
    """How long ago, in the largest whole unit: "5 phút", "3 giờ", "2 ngày"."""
    if not value:
        return ""
    dt = datetime.fromisoformat(value) if isinstance(value, str) else value
    seconds = max(0, int(((now or utcnow()) - dt).total_seconds()))
    vi = locale == "vi"
    if seconds < 3600:
        n, unit = max(1, seconds // 60), ("phút" if vi else "min")
    elif seconds < 86400:
        n, unit = seconds // 3600, ("giờ" if vi else "h")
    else:
        n, unit = seconds // 86400, ("ngày" if vi else "d")
    return f"{n} {unit}"


def _chooser(locale: str) -> Callable[..., str]:
    def t(vi: str, en: str) -> str:
        return vi if locale == "vi" else en

    return t


def _labels(table: dict[str, tuple[str, str]], locale: str) -> dict[str, str]:
    i = 0 if locale == "vi" else 1
    return {k: v[i] for k, v in table.items()}


def _page(request: Request, **extra: Any) -> dict[str, Any]:
    """What every page of the module uses: the language chooser `t`, labels and time formats."""
    locale = locale_of(request)
    return {
        "t": _chooser(locale),
        "vn": vn_time,
        "age": lambda v: age(v, locale),
        "sev": _labels(SEVERITY_LABELS, locale),
        "sla_label": _labels(SLA_LABELS, locale),
        "type_label": _labels(INCIDENT_TYPES, locale),
        "domain_label": _labels(DOMAIN_LABELS, locale),
        "condition_label": _labels(CONDITION_LABELS, locale),
        "role_label": _labels(ROLE_LABELS, locale),
        "alert_status": _labels(ALERT_STATUS_LABELS, locale),
        **extra,
    }


def _unit_names(db: Any, principal: Principal) -> dict[int, str]:
    """Names of the units the caller may see, by id (a place to show next to an alert)."""
    names: Any = select(Unit.id, Unit.name)
    stmt = scoped(names, principal, Unit, "units.read").limit(5000)
    return {int(i): str(n) for i, n in db.execute(stmt).tuples().all()}


def _units_for(db: Any, principal: Principal, permission: str) -> list[Unit]:
    """Units where the caller holds `permission` (a rule's unit, a dry run's unit)."""
    paths = {g.unit_path for g in principal.grants_for(permission)}
    if not paths:
        return []
    stmt = select(Unit).order_by(Unit.path).limit(2000)
    if "/" not in paths:
        stmt = stmt.where(or_(*[Unit.path.startswith(p) for p in sorted(paths)]))
    return list(db.scalars(stmt))


def _not_found(request: Request, title_vi: str, title_en: str) -> Response:
    title = title_vi if locale_of(request) == "vi" else title_en
    return render(request, "error.html", {"title": title}, 404)  # type: ignore[no-any-return]


# ------------------------------------------------------------------------------------------- files


@router.get("/alerts/static/{name}")
def static_file(name: str) -> Response:
    """The scripts and styles of these pages (a fixed folder, no sub-folders)."""
    path = STATIC / name
    if not _STATIC_NAME.fullmatch(name) or not path.is_file():
        raise NotFound()
    return FileResponse(
        path, media_type=_MEDIA[name.rsplit(".", 1)[1]], headers={"Cache-Control": "no-cache"}
    )


# ------------------------------------------------------------------------------------------- console


@router.get("/alerts/console")
def console_page(request: Request, db: SessionDep) -> Any:
    """The live alert console: alerts on the left, the map on the right, the counts on top."""
    principal = page_principal(request, db, "alerts.read")
    if isinstance(principal, Response):
        return principal
    locale = locale_of(request)
    unit = home_unit(db, principal)
    boot = {
        "locale": locale,
        "user": principal.username,
        "can_ack": principal.has("alerts.ack"),
        "units": _unit_names(db, principal),
        "severity": _labels(SEVERITY_LABELS, locale),
        "status": _labels(ALERT_STATUS_LABELS, locale),
        "sla": _labels(SLA_LABELS, locale),
        "states": {s: INCIDENT.label(s, locale) for s in INCIDENT.states},
        "center": [unit.lat, unit.lon] if unit is not None and unit.lat is not None else None,
        "msg": _labels(CONSOLE_JS, locale),
    }
    ctx = _page(request, boot=boot, unit=unit, can_incidents=principal.has("incidents.read"))
    return render(request, "alerts/console.html", ctx)


# ------------------------------------------------------------------------------------------- incidents


@router.get("/alerts/incidents")
def incidents_page(
    request: Request,
    db: SessionDep,
    state: str = Query(default="", max_length=20),
    type: str = Query(default="", max_length=32),
    severity: str = Query(default="", max_length=12),
) -> Any:
    """Incidents with filters: state (or all open), type, severity; SLA badge, assignee and age."""
    principal = page_principal(request, db, "incidents.read")
    if isinstance(principal, Response):
        return principal
    locale = locale_of(request)
    rows = incidents.list_incidents(
        db,
        principal,
        state=state if state in INCIDENT.states else None,
        open_only=state == "open",
        type=type or None,
        severity=severity if severity in SEVERITIES else None,
        limit=300,
    )
    agency_ids = {r.assignee_agency_id for r in rows if r.assignee_agency_id}
    agencies = dict(
        db.execute(select(Agency.id, Agency.name).where(Agency.id.in_(agency_ids))).tuples().all()
    )
    units = _unit_names(db, principal)
    items = []
    for r in rows:
        item = incidents.incident_row(r)
        item["agency"] = agencies.get(r.assignee_agency_id or 0, "")
        item["unit_name"] = units.get(r.unit_id, "")
        item["open"] = r.state in OPEN_STATES
        items.append(item)
    types = sorted(
        set(INCIDENT_TYPES)
        | set(db.scalars(select(SopTemplate.incident_type).distinct()))
        | set(db.scalars(scoped(select(Incident.type).distinct(), principal, Incident, "incidents.read")))
    )
    ctx = _page(
        request,
        rows=items,
        f={"state": state, "type": type, "severity": severity},
        states=[(s, INCIDENT.label(s, locale)) for s in INCIDENT.states],
        types=types,
        severities=[s for s in SEVERITIES if s != "unknown"],
        counts={
            "open": sum(1 for i in items if i["open"]),
            "overdue": sum(1 for i in items if i["open"] and i["sla_status"] == "overdue"),
        },
    )
    return render(request, "alerts/incidents.html", ctx)


def _dispatch_agencies(db: Any, principal: Principal, incident: Incident) -> list[dict[str, Any]]:
    """Agencies the caller may see, those working in the incident's domain first."""
    rows = db.scalars(
        scoped(select(Agency), principal, Agency, "agencies.read").order_by(Agency.name).limit(2000)
    )
    out = [
        {"id": a.id, "name": a.name, "fits": incident.domain in (a.domains or [])} for a in rows if a.active
    ]
    return sorted(out, key=lambda a: (not a["fits"], a["name"]))


def _merge_choices(db: Any, principal: Principal, incident: Incident) -> list[Incident]:
    """Other open incidents of the same unit subtree the caller may read: likely duplicates first."""
    rows = incidents.list_incidents(db, principal, open_only=True, limit=100)
    others = [r for r in rows if r.id != incident.id]
    return sorted(others, key=lambda r: (r.type != incident.type, -(r.id)))[:30]


@router.get("/alerts/incidents/{incident_id:int}")
def incident_page(incident_id: int, request: Request, db: SessionDep) -> Any:
    """One incident: facts, actions, the SOP checklist, alerts (split), timeline, files and a map."""
    principal = page_principal(request, db, "incidents.read")
    if isinstance(principal, Response):
        return principal
    try:
        incident = get_scoped(db, principal, Incident, incident_id, "incidents.read")
    except NotFound:
        return _not_found(request, "Không tìm thấy sự cố", "Incident not found")
    locale = locale_of(request)
    d = incidents.detail(db, request.app.state.workflow, incident, principal)
    names = {a["name"] for a in d["actions"]}
    ctx = _page(
        request,
        d=d,
        i=d["incident"],
        actions=[a for a in d["actions"] if a["name"] != "comment"],
        can_comment="comment" in names,
        agencies=_dispatch_agencies(db, principal, incident) if "dispatch" in names else [],
        merge_choices=_merge_choices(db, principal, incident) if "merge" in names else [],
        can_split=principal.has("incidents.handle")
        and incident.state in OPEN_STATES
        and len(d["alerts"]) > 1,
        can_attach=principal.has("incidents.respond") and incident.state != "merged",
        js=_labels(INCIDENT_JS, locale),
        boot={
            "id": incident.id,
            "lat": incident.lat,
            "lon": incident.lon,
            "severity": incident.severity,
            "cameras": d["nearby_cameras"],
            "alerts": [
                {
                    "id": a["id"],
                    "lat": a["lat"],
                    "lon": a["lon"],
                    "severity": a["severity"],
                    "title": a["title"],
                }
                for a in d["alerts"]
                if a["lat"] is not None and a["lon"] is not None
            ],
            "msg": _labels(INCIDENT_JS, locale),
        },
    )
    return render(request, "alerts/incident.html", ctx)


# ------------------------------------------------------------------------------------------- rules


@router.get("/alerts/rules")
def rules_page(request: Request, db: SessionDep) -> Any:
    """The rules in the caller's scope: code, name, kind of condition, enabled, version, unit."""
    principal = page_principal(request, db, "rules.read")
    if isinstance(principal, Response):
        return principal
    units = _unit_names(db, principal)
    rows = [
        {
            **service.rule_summary(r),
            "kind": (r.definition.get("when") or {}).get("type", ""),
            "severity": (r.definition.get("alert") or {}).get("severity", ""),
            "unit_name": units.get(r.unit_id, ""),
        }
        for r in service.list_rules(db, principal)
    ]
    ctx = _page(request, rows=rows, can_write=principal.has("rules.write"))
    return render(request, "alerts/rules.html", ctx)


NEW_RULE: dict[str, Any] = {
    "code": "",
    "name": "",
    "when": {"type": "threshold", "measure": "", "op": ">", "value": 0, "for_s": 0},
    "alert": {"category": "", "severity": "moderate", "title_vi": "", "title_en": "", "cooldown_s": 600},
}


def _sop_types(db: Any) -> list[str]:
    return sorted(set(db.scalars(select(SopTemplate.incident_type).distinct())))


def _editor(request: Request, db: Any, principal: Principal, rule: AlertRule | None) -> Response:
    locale = locale_of(request)
    write_units = _units_for(db, principal, "rules.write")
    read_units = _units_for(db, principal, "rules.read")
    home = home_unit(db, principal)
    fallback = home.id if home else (write_units[0].id if write_units else None)
    default_unit = rule.unit_id if rule else fallback
    versions = service.versions(db, rule) if rule else []
    can_write = (
        principal.can("rules.write", db.scalar(select(Unit.path).where(Unit.id == rule.unit_id)), rule.domain)
        if rule
        else principal.has("rules.write")
    )
    ctx = _page(
        request,
        rule=rule,
        versions=versions,
        units=write_units if can_write else read_units,
        run_units=read_units,
        top_level=min((u.level for u in read_units), default=1),
        default_unit=default_unit,
        domains=DOMAINS,
        can_write=can_write,
        severities=SEVERITIES,
        incident_types=[(k, v) for k, v in _labels(INCIDENT_TYPES, locale).items()]
        + [(k, k) for k in _sop_types(db) if k not in INCIDENT_TYPES],
        boot={
            "id": rule.id if rule else None,
            "definition": rule.definition if rule else NEW_RULE,
            "versions": versions,
            "msg": _labels(RULES_JS, locale),
            "severity": _labels(SEVERITY_LABELS, locale),
        },
    )
    return render(request, "alerts/rule_edit.html", ctx)  # type: ignore[no-any-return]


@router.get("/alerts/rules/new")
def rule_new_page(request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, "rules.write")
    if isinstance(principal, Response):
        return principal
    return _editor(request, db, principal, None)


@router.get("/alerts/rules/{rule_id:int}")
def rule_page(rule_id: int, request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, "rules.read")
    if isinstance(principal, Response):
        return principal
    try:
        rule = service.get_rule(db, principal, rule_id)
    except NotFound:
        return _not_found(request, "Không tìm thấy quy tắc", "Rule not found")
    return _editor(request, db, principal, rule)
