"""Incidents (sự cố): opening one, the handling steps, merge and split, attachments, and what staff see.

An incident is a case on the shared workflow engine (see `workflow.INCIDENT`); this module adds what is
particular to incidents: a readable code (SC-2026-000123), the alerts it groups (acknowledged and resolved
with it), its SOP started on opening, evidence files, and the detail view with the timeline that the
console and the after-action report (báo cáo sau sự cố) are built from.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from toancanh.core import audit
from toancanh.core.assets import DOMAINS, list_assets
from toancanh.core.auth.models import User
from toancanh.core.auth.scope import Principal, get_scoped, scoped, unit_path_of
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, Conflict, Forbidden, PayloadTooLarge, Unprocessable
from toancanh.core.files import BlobStore, sniff
from toancanh.core.geo import bbox_around, haversine_m
from toancanh.core.units import Agency, Unit
from toancanh.core.workflow import SUPERVISOR_ROLES, CaseHistory, WorkflowEngine
from toancanh.core.worktime import VN_TZ
from toancanh.modules.alerts import sop
from toancanh.modules.alerts.models import (
    SEVERITIES,
    SEVERITY_RANK,
    Alert,
    Incident,
    IncidentAttachment,
    SopRun,
    SopStep,
    SopTemplate,
)
from toancanh.modules.alerts.workflow import INCIDENT, OPEN_STATES

log = logging.getLogger("toancanh.alerts.incidents")

SOURCES = ("rule", "manual", "cap", "report")
MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024
MAX_ATTACHMENTS = 20
ATTACHMENT_TYPES = frozenset({"image/jpeg", "image/png", "image/webp", "application/pdf", "video/mp4"})
_IMAGE_BRANDS = {b"heic", b"heix", b"mif1", b"msf1", b"avif"}  # "ftyp" files that are pictures, not video
NEARBY_RADIUS_M = 1000.0
_TYPE = re.compile(r"^[a-z0-9_]{1,32}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _id(value: Any) -> int | None:
    text = str(value).strip() if value is not None and not isinstance(value, bool) else ""
    return int(text) if text.isdecimal() and len(text) < 19 else None


def _require(db: Session, actor: Principal | None, permission: str, incident: Incident) -> None:
    if actor is None:
        return
    if not actor.can(permission, unit_path_of(db, incident.unit_id), incident.domain):
        raise Forbidden(
            "Bạn không có quyền thực hiện thao tác này với sự cố",
            "You may not do this with the incident",
            details={"permission": permission},
        )


def _lock(db: Session, incident: Incident) -> None:
    """Reload the incident locked (PostgreSQL), so that two operators acting at once take turns."""
    db.refresh(incident, with_for_update=True)


# ------------------------------------------------------------------------------------------- opening


def _check_new(
    type_: str, title: str, domain: str, severity: str, source: str, lat: float | None, lon: float | None
) -> None:
    problems = []
    if not _TYPE.match(type_):
        problems.append("type")
    if not title or len(title) > 300:
        problems.append("title")
    if domain not in DOMAINS:
        problems.append("domain")
    if severity not in SEVERITIES:
        problems.append("severity")
    if source not in SOURCES:
        problems.append("source")
    if (lat is None) != (lon is None) or (
        lat is not None and lon is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180)
    ):
        problems.append("lat/lon")
    if problems:
        raise BadRequest(
            f"Thông tin sự cố không hợp lệ: {', '.join(problems)}",
            f"Invalid incident fields: {', '.join(problems)}",
            details={"fields": problems},
        )


def open_incident(
    db: Session,
    engine: WorkflowEngine,
    *,
    type: str,
    title: str,
    title_en: str = "",
    unit_id: int,
    domain: str,
    severity: str,
    lat: float | None = None,
    lon: float | None = None,
    group_key: str = "",
    source: str = "rule",
    description: str = "",
    actor: Principal | None = None,
    now: datetime | None = None,
) -> Incident:
    """Open an incident and start its type's SOP when the active template auto-starts.

    `actor` None is the system (rules, CAP); an operator opening one by hand needs incidents.handle over
    the unit and domain. One event, the engine's `toancanh.alerts.incident.opened`, carries the code,
    title, severity and place.
    """
    now = now or utcnow()
    title = title.strip()
    _check_new(type, title, domain, severity, source, lat, lon)
    path = unit_path_of(db, unit_id)
    if path is None:
        raise BadRequest("Đơn vị hành chính không tồn tại", "Unknown administrative unit")
    if actor is not None and not actor.can("incidents.handle", path, domain):
        raise Forbidden(
            "Bạn không có quyền tạo sự cố ở địa bàn hoặc lĩnh vực này",
            "You may not open incidents in this unit or domain",
            details={"permission": "incidents.handle"},
        )
    incident = Incident(
        code=f"new-{uuid.uuid4().hex[:20]}",  # unique until the id is known
        type=type,
        domain=domain,
        title=title,
        title_en=title_en.strip()[:300],
        description=description.strip()[:5000],
        severity=severity,
        lat=lat,
        lon=lon,
        group_key=group_key[:200],
        source=source,
        unit_id=unit_id,
        state=INCIDENT.initial,
    )
    db.add(incident)
    db.flush()  # the code carries the id, and every event of the incident (the first one too) its code
    incident.code = f"SC-{now.astimezone(VN_TZ).year}-{incident.id:06d}"
    engine.open(db, INCIDENT, incident, actor, now=now)
    template = sop.active_template(db, type)
    if template is not None and template.auto_start:
        sop.start_run(db, incident, template, None, now=now)
    db.flush()
    return incident


# ------------------------------------------------------------------------------------------- handling


def act(
    db: Session,
    engine: WorkflowEngine,
    incident: Incident,
    name: str,
    actor: Principal | None,
    fields: Mapping[str, Any],
    now: datetime | None = None,
) -> Incident:
    """Run transition `name` with the incident's own effects.

    acknowledge (or a first dispatch straight from "new"): who and when, and its active alerts
    acknowledged; dispatch: the agency (required), optionally a user of it and a team name; resolve,
    dismiss, close: its alerts resolved; merge: alerts and attachments move to `target_id`.
    """
    now = now or utcnow()
    fields = dict(fields)
    _lock(db, incident)
    t = INCIDENT.find(name)
    target: Incident | None = None
    if t is not None and name in ("merge", "dispatch"):
        _require(db, actor, t.permission, incident)  # refuse by permission before judging the fields
    if name == "merge":
        target = _merge_target(db, incident, actor, fields)
    if name == "dispatch":
        _check_dispatch(db, fields)
    first_contact = incident.acknowledged_at is None and name in ("acknowledge", "dispatch")
    engine.transition(db, INCIDENT, incident, name, actor, fields, now=now)
    if first_contact:
        _acknowledge(db, incident, actor, now)
    if name == "dispatch":
        incident.team = str(fields.get("team") or "").strip()[:120]
    elif name in ("resolve", "dismiss", "close"):
        _resolve_alerts(db, incident, actor, now)
    elif name == "merge" and target is not None:
        _merge_into(db, engine, incident, target, actor, now)
    db.flush()
    return incident


def _check_dispatch(db: Session, fields: dict[str, Any]) -> None:
    team = fields.get("team")
    if team is not None and (not isinstance(team, str) or len(team.strip()) > 120):
        raise Unprocessable("Tên đội tối đa 120 ký tự", "The team name is at most 120 characters")
    agency_id, user_id = _id(fields.get("agency_id")), _id(fields.get("user_id"))
    if agency_id is None or user_id is None:
        return  # the engine says what is missing or unknown
    user = db.get(User, user_id)
    if user is not None and user.agency_id != agency_id:
        raise Unprocessable(
            "Người được giao không thuộc cơ quan được điều phối",
            "The assigned user does not belong to the dispatched agency",
            details={"agency_id": agency_id, "user_id": user_id},
        )


def _incident_alerts(db: Session, incident_id: int, *statuses: str) -> list[Alert]:
    stmt = select(Alert).where(Alert.incident_id == incident_id)
    if statuses:
        stmt = stmt.where(Alert.status.in_(statuses))
    return list(db.scalars(stmt.order_by(Alert.first_at, Alert.id)))


def _acknowledge(db: Session, incident: Incident, actor: Principal | None, now: datetime) -> None:
    who_id, who = (actor.user_id, actor.username) if actor else (None, "system")
    incident.acknowledged_by_id, incident.acknowledged_by, incident.acknowledged_at = who_id, who, now
    alerts = _incident_alerts(db, incident.id, "active")
    for a in alerts:
        a.status, a.acknowledged_by_id, a.acknowledged_by, a.acknowledged_at = (
            "acknowledged",
            who_id,
            who,
            now,
        )
    if alerts:
        audit.record_by(
            db,
            actor,
            "alert.acknowledge",
            entity_type=INCIDENT.name,
            entity_id=incident.id,
            unit_id=incident.unit_id,
            changes={"alert_ids": [a.id for a in alerts]},
        )


def _resolve_alerts(db: Session, incident: Incident, actor: Principal | None, now: datetime) -> None:
    alerts = _incident_alerts(db, incident.id, "active", "acknowledged")
    for a in alerts:
        a.status, a.resolved_at = "resolved", now
    if alerts:
        audit.record_by(
            db,
            actor,
            "alert.resolve",
            entity_type=INCIDENT.name,
            entity_id=incident.id,
            unit_id=incident.unit_id,
            changes={"alert_ids": [a.id for a in alerts]},
        )


def _merge_target(
    db: Session, incident: Incident, actor: Principal | None, fields: Mapping[str, Any]
) -> Incident | None:
    target_id = _id(fields.get("target_id"))
    if target_id is None:
        return None  # the engine reports the missing field
    target: Incident | None
    if actor is not None:
        target = get_scoped(db, actor, Incident, target_id, "incidents.read")
        _require(db, actor, "incidents.handle", target)
    else:
        target = db.get(Incident, target_id)
    if target is None or target.id == incident.id or target.state not in OPEN_STATES:
        raise BadRequest(
            "Sự cố gộp vào phải là một sự cố khác, đang mở",
            "The incident to merge into must be another open incident",
            details={"target_id": target_id},
        )
    return target


def _merge_into(
    db: Session,
    engine: WorkflowEngine,
    incident: Incident,
    target: Incident,
    actor: Principal | None,
    now: datetime,
) -> None:
    alerts = _incident_alerts(db, incident.id)
    files = list(db.scalars(select(IncidentAttachment).where(IncidentAttachment.incident_id == incident.id)))
    for a in alerts:
        a.incident_id = target.id
    for f in files:
        f.incident_id = target.id
    incident.merged_into_id = target.id
    if incident.last_alert_at and (
        target.last_alert_at is None or incident.last_alert_at > target.last_alert_at
    ):
        target.last_alert_at = incident.last_alert_at
    moved = {
        "merged_from": incident.id,
        "alert_ids": [a.id for a in alerts],
        "attachment_ids": [f.id for f in files],
    }
    engine.transition(
        db,
        INCIDENT,
        target,
        "comment",
        actor,
        {
            "comment": f"Gộp sự cố {incident.code} vào đây ({len(alerts)} cảnh báo, {len(files)} tệp)",
            **moved,
        },
        now=now,
    )
    audit.record_by(
        db,
        actor,
        "incident.merge_in",
        entity_type=INCIDENT.name,
        entity_id=target.id,
        unit_id=target.unit_id,
        changes=moved,
    )


def split(
    db: Session,
    engine: WorkflowEngine,
    incident: Incident,
    alert_ids: Sequence[int],
    actor: Principal,
    title: str | None = None,
    now: datetime | None = None,
) -> Incident:
    """Move some of an incident's alerts into a new incident of the same type, unit and domain.

    The new incident starts its own SOP and has no group key: new alerts of the group keep going to the
    original. At least one alert stays with the original.
    """
    now = now or utcnow()
    _require(db, actor, "incidents.handle", incident)
    _lock(db, incident)
    if incident.state not in OPEN_STATES:
        raise Conflict("Chỉ tách được sự cố đang mở", "Only an open incident can be split")
    ids = sorted(set(alert_ids))
    alerts = [a for a in _incident_alerts(db, incident.id) if a.id in ids]
    missing = sorted(set(ids) - {a.id for a in alerts})
    if not ids or missing:
        raise BadRequest(
            "Chọn các cảnh báo của chính sự cố này để tách",
            "Choose alerts of this incident to split off",
            details={"not_in_incident": missing},
        )
    remaining = db.scalar(
        select(func.count()).select_from(Alert).where(Alert.incident_id == incident.id, Alert.id.not_in(ids))
    )
    if not remaining:
        raise BadRequest(
            "Phải giữ lại ít nhất một cảnh báo ở sự cố gốc",
            "At least one alert must stay with the original incident",
        )
    first = alerts[0]
    severity = max((a.severity for a in alerts), key=lambda s: SEVERITY_RANK.get(s, 0))
    new = open_incident(
        db,
        engine,
        type=incident.type,
        title=title or first.title,
        title_en="" if title else first.title_en,
        unit_id=incident.unit_id,
        domain=incident.domain,
        severity=severity if severity in SEVERITIES else incident.severity,
        lat=first.lat if first.lat is not None and first.lon is not None else incident.lat,
        lon=first.lon if first.lat is not None and first.lon is not None else incident.lon,
        source="manual",
        description=f"Tách từ sự cố {incident.code}",
        actor=actor,
        now=now,
    )
    for a in alerts:
        a.incident_id = new.id
    new.last_alert_at = max(a.last_at for a in alerts)
    moved = {"split_to": new.id, "alert_ids": ids}
    engine.transition(
        db,
        INCIDENT,
        incident,
        "comment",
        actor,
        {"comment": f"Tách {len(alerts)} cảnh báo sang sự cố {new.code}", **moved},
        now=now,
    )
    audit.record_by(
        db,
        actor,
        "incident.split",
        entity_type=INCIDENT.name,
        entity_id=incident.id,
        unit_id=incident.unit_id,
        changes=moved,
    )
    db.flush()
    return new


# ------------------------------------------------------------------------------------------- attachments


def _may_respond(db: Session, actor: Principal, incident: Incident) -> bool:
    """incidents.respond there, as a supervisor or as staff of the assigned agency."""
    path = unit_path_of(db, incident.unit_id)
    grants = [g for g in actor.grants_for("incidents.respond") if g.covers(path, incident.domain)]
    if not grants:
        return False
    if actor.agency_id is not None and actor.agency_id == incident.assignee_agency_id:
        return True
    return any(g.role in SUPERVISOR_ROLES for g in grants)


def _clean_filename(name: str) -> str:
    base = _CONTROL.sub("", name.replace("\\", "/").rsplit("/", 1)[-1]).strip().strip(".")
    if len(base) > 200:
        stem, dot, ext = base.rpartition(".")
        base = (stem[: 199 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else base[:200]
    return base or "tep-dinh-kem"


def attach(
    db: Session, blobs: BlobStore, incident: Incident, filename: str, data: bytes, actor: Principal
) -> IncidentAttachment:
    """Store a photo, clip or document for an incident: checked by content, size and count."""
    if not _may_respond(db, actor, incident):
        raise Forbidden(
            "Chỉ người xử lý sự cố mới được đính kèm tệp",
            "Only those handling the incident may attach files",
            details={"permission": "incidents.respond"},
        )
    if incident.state == "merged":
        raise Conflict("Sự cố đã được gộp vào sự cố khác", "The incident was merged into another one")
    if not data:
        raise BadRequest("Tệp rỗng", "Empty file")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise PayloadTooLarge(
            f"Tệp quá lớn (tối đa {MAX_ATTACHMENT_BYTES >> 20} MB)",
            f"File too large (max {MAX_ATTACHMENT_BYTES >> 20} MB)",
        )
    mime = sniff(data)
    if mime not in ATTACHMENT_TYPES or (mime == "video/mp4" and data[8:12] in _IMAGE_BRANDS):
        raise BadRequest(
            "Chỉ nhận ảnh JPEG, PNG, WebP, tài liệu PDF hoặc video MP4",
            "Only JPEG, PNG or WebP photos, PDF documents or MP4 videos are accepted",
        )
    _lock(db, incident)
    count = db.scalar(
        select(func.count())
        .select_from(IncidentAttachment)
        .where(IncidentAttachment.incident_id == incident.id)
    )
    if (count or 0) >= MAX_ATTACHMENTS:
        raise BadRequest(
            f"Mỗi sự cố có tối đa {MAX_ATTACHMENTS} tệp đính kèm",
            f"An incident has at most {MAX_ATTACHMENTS} attachments",
        )
    ref = blobs.put(db, data, allowed=ATTACHMENT_TYPES, max_bytes=MAX_ATTACHMENT_BYTES)
    row = IncidentAttachment(
        incident_id=incident.id,
        blob_key=ref.sha256,
        filename=_clean_filename(filename),
        content_type=ref.content_type,
        size=ref.size,
        uploaded_by_id=actor.user_id,
        uploaded_by=actor.username,
        at=utcnow(),
    )
    db.add(row)
    db.flush()
    audit.record_by(
        db,
        actor,
        "incident.attach",
        entity_type=INCIDENT.name,
        entity_id=incident.id,
        unit_id=incident.unit_id,
        changes={"attachment_id": row.id, "sha256": ref.sha256, "filename": row.filename, "size": ref.size},
    )
    return row


def attachment_row(a: IncidentAttachment) -> dict[str, Any]:
    return {
        "id": a.id,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "sha256": a.blob_key,
        "uploaded_by": a.uploaded_by,
        "at": _iso(a.at),
        "url": f"/api/v1/alerts/incidents/{a.incident_id}/attachments/{a.id}",
    }


# ------------------------------------------------------------------------------------------- lists


def list_incidents(
    db: Session,
    principal: Principal,
    state: str | None = None,
    open_only: bool = False,
    limit: int = 100,
    offset: int = 0,
    *,
    type: str | None = None,
    severity: str | None = None,
    unit_id: int | None = None,
) -> list[Incident]:
    """The incidents the caller may read, newest first."""
    stmt = scoped(select(Incident), principal, Incident, "incidents.read")
    if state:
        stmt = stmt.where(Incident.state == state)
    if open_only:
        stmt = stmt.where(Incident.state.in_(OPEN_STATES))
    if type:
        stmt = stmt.where(Incident.type == type)
    if severity:
        stmt = stmt.where(Incident.severity == severity)
    if unit_id is not None:
        path = unit_path_of(db, unit_id) or "/none/"
        stmt = stmt.where(Incident.unit_id.in_(select(Unit.id).where(Unit.path.startswith(path))))
    stmt = stmt.order_by(Incident.opened_at.desc(), Incident.id.desc()).limit(limit).offset(offset)
    return list(db.scalars(stmt))


def incident_row(incident: Incident) -> dict[str, Any]:
    """An incident in a list (no lookups)."""
    return {
        "id": incident.id,
        "code": incident.code,
        "type": incident.type,
        "title": incident.title,
        "title_en": incident.title_en,
        "severity": incident.severity,
        "domain": incident.domain,
        "source": incident.source,
        "state": incident.state,
        "state_label": INCIDENT.label(incident.state, "vi"),
        "state_label_en": INCIDENT.label(incident.state, "en"),
        "unit_id": incident.unit_id,
        "lat": incident.lat,
        "lon": incident.lon,
        "opened_at": _iso(incident.opened_at),
        "due_at": _iso(incident.due_at),
        "sla_status": incident.sla_status,
        "escalation_level": incident.escalation_level,
        "acknowledged_at": _iso(incident.acknowledged_at),
        "acknowledged_by": incident.acknowledged_by,
        "assignee_agency_id": incident.assignee_agency_id,
        "team": incident.team,
        "closed_at": _iso(incident.closed_at),
        "merged_into_id": incident.merged_into_id,
        "last_alert_at": _iso(incident.last_alert_at),
    }


# ------------------------------------------------------------------------------------------- detail


def alert_row(a: Alert) -> dict[str, Any]:
    return {
        "id": a.id,
        "rule_id": a.rule_id,
        "asset_id": a.asset_id,
        "category": a.category,
        "severity": a.severity,
        "title": a.title,
        "title_en": a.title_en,
        "lat": a.lat,
        "lon": a.lon,
        "first_at": _iso(a.first_at),
        "last_at": _iso(a.last_at),
        "count": a.count,
        "status": a.status,
        "acknowledged_by": a.acknowledged_by,
        "acknowledged_at": _iso(a.acknowledged_at),
        "resolved_at": _iso(a.resolved_at),
        "evidence": a.evidence,
    }


def _place(db: Session, unit_id: int) -> dict[str, Any]:
    unit = db.get(Unit, unit_id)
    if unit is None:
        return {"id": unit_id, "code": "", "name": "", "place": ""}
    codes = [c for c in unit.path.strip("/").split("/") if c]
    names = db.execute(select(Unit.name, Unit.level).where(Unit.code.in_(codes))).tuples().all()
    place = ", ".join(n for n, _ in sorted(names, key=lambda x: -x[1]))
    return {"id": unit.id, "code": unit.code, "name": unit.name, "place": place}


def _step_row(step: SopStep, steps: list[SopStep], now: datetime, can_do: bool) -> dict[str, Any]:
    finished = step.done_at or now
    earlier = [s for s in steps if s.position < step.position]
    out_of_order = step.done_at is not None and any(
        s.done_at is None or s.done_at > step.done_at for s in earlier
    )
    return {
        "id": step.id,
        "position": step.position,
        "key": step.key,
        "title": step.title,
        "title_en": step.title_en,
        "role": step.role,
        "action": step.action,
        "due_at": _iso(step.due_at),
        "status": step.status,
        "done_at": _iso(step.done_at),
        "done_by": step.done_by,
        "note": step.note,
        "overdue": finished > step.due_at,
        "out_of_order": out_of_order,
        "escalated_at": _iso(step.escalated_at),
        "can_do": can_do and step.status == "pending",
    }


def _runs(
    db: Session, incident: Incident, principal: Principal | None, path: str | None, now: datetime
) -> list[dict[str, Any]]:
    runs = db.scalars(select(SopRun).where(SopRun.incident_id == incident.id).order_by(SopRun.id)).all()
    templates = {
        t.id: t
        for t in db.scalars(select(SopTemplate).where(SopTemplate.id.in_({r.template_id for r in runs})))
    }
    out = []
    for run in runs:
        steps = sop.run_steps(db, run.id)
        tpl = templates.get(run.template_id)
        out.append(
            {
                "id": run.id,
                "template_id": run.template_id,
                "template_code": tpl.code if tpl else "",
                "name": tpl.name if tpl else "",
                "name_en": tpl.name_en if tpl else "",
                "template_version": run.template_version,
                "started_at": _iso(run.started_at),
                "started_by": run.started_by,
                "completed_at": _iso(run.completed_at),
                "steps": [
                    _step_row(
                        s,
                        steps,
                        now,
                        incident.state != "merged"
                        and principal is not None
                        and sop.may_complete(principal, s.role, path, incident.domain),
                    )
                    for s in steps
                ],
            }
        )
    return out


_ENGINE_STEPS = {
    "open": ("Mở sự cố", "Incident opened"),
    "sla_warning": ("Sắp đến hạn", "Due soon"),
    "sla_overdue": ("Quá hạn", "Overdue"),
}


def _history_text(h: CaseHistory, agencies: Mapping[int, str]) -> tuple[str, str]:
    if h.transition in _ENGINE_STEPS:
        vi, en = _ENGINE_STEPS[h.transition]
        if h.transition != "open":
            vi, en = f"{vi} ({INCIDENT.label(h.to_state)})", f"{en} ({INCIDENT.label(h.to_state, 'en')})"
        return vi, en
    t = INCIDENT.find(h.transition)
    vi, en = (t.label(), t.label("en")) if t else (h.transition, h.transition)
    if h.transition == "dispatch" and h.assignee_agency_id:
        agency = agencies.get(h.assignee_agency_id, f"#{h.assignee_agency_id}")
        team = h.data.get("team") if isinstance(h.data, dict) else None
        vi, en = f"{vi}: {agency}", f"{en}: {agency}"
        if team:
            vi, en = f"{vi} — {team}", f"{en} — {team}"
    elif h.from_state != h.to_state and h.transition != "comment":
        vi, en = f"{vi} → {INCIDENT.label(h.to_state)}", f"{en} → {INCIDENT.label(h.to_state, 'en')}"
    return vi, en


def _entry(
    at: datetime | str,
    order: int,
    kind: str,
    actor: str,
    texts: tuple[str, str],
    comment: str = "",
    **extra: Any,
) -> tuple[datetime, int, dict[str, Any]]:
    when = datetime.fromisoformat(at) if isinstance(at, str) else at
    vi, en = texts
    return (
        when,
        order,
        {
            "kind": kind,
            "actor": actor,
            "title_vi": vi,
            "title_en": en,
            "comment": comment,
            "transition": None,  # a case step's name (kind "case")
            **extra,
        },
    )


def _timeline(
    history: list[CaseHistory],
    runs: list[dict[str, Any]],
    files: list[IncidentAttachment],
    agencies: Mapping[int, str],
) -> list[dict[str, Any]]:
    """Everything that happened to the incident, oldest first: case steps, SOP steps, files."""
    items = [
        _entry(
            h.at,
            0,
            "case",
            h.actor,
            _history_text(h, agencies),
            h.comment,
            transition=h.transition,
            state=h.to_state,
            data=h.data,
        )
        for h in history
    ]
    for run in runs:
        name_en = run["name_en"] or run["name"]
        texts = (f"Bắt đầu quy trình: {run['name']}", f"Procedure started: {name_en}")
        items.append(_entry(run["started_at"], 1, "sop_run", run["started_by"], texts))
        for s in run["steps"]:
            title_en = s["title_en"] or s["title"]
            if s["escalated_at"]:
                texts = (
                    f'Quá hạn bước "{s["title"]}", đã báo lãnh đạo',
                    f'Step "{title_en}" overdue, leaders notified',
                )
                items.append(_entry(s["escalated_at"], 2, "sop_overdue", "system", texts, step_id=s["id"]))
            if s["done_at"]:
                skipped = s["status"] == "skipped"
                vi, en = ("Bỏ qua bước", "Step skipped") if skipped else ("Hoàn thành bước", "Step done")
                texts = (f"{vi}: {s['title']}", f"{en}: {title_en}")
                items.append(
                    _entry(
                        s["done_at"],
                        3,
                        "sop_step",
                        s["done_by"],
                        texts,
                        s["note"],
                        step_id=s["id"],
                        late=s["overdue"],
                        out_of_order=s["out_of_order"],
                    )
                )
    for f in files:
        texts = (f"Đính kèm tệp: {f.filename}", f"File attached: {f.filename}")
        items.append(_entry(f.at, 4, "attachment", f.uploaded_by, texts, attachment_id=f.id))
    items.sort(key=lambda x: (x[0], x[1]))
    return [{"at": at.isoformat(), **entry} for at, _, entry in items]


def _milestones(incident: Incident, history: list[CaseHistory]) -> dict[str, str | None]:
    def first(name: str) -> datetime | None:
        return next((h.at for h in history if h.transition == name), None)

    def last(name: str) -> datetime | None:
        return next((h.at for h in reversed(history) if h.transition == name), None)

    return {
        "opened_at": _iso(incident.opened_at),
        "acknowledged_at": _iso(incident.acknowledged_at),
        "dispatched_at": _iso(first("dispatch")),
        "started_at": _iso(first("start")),
        "resolved_at": _iso(last("resolve")),
        "closed_at": _iso(incident.closed_at),
    }


def _durations(milestones: Mapping[str, str | None]) -> dict[str, float | None]:
    opened = milestones["opened_at"]

    def since_open(key: str) -> float | None:
        at = milestones[key]
        if opened is None or at is None:
            return None
        return (datetime.fromisoformat(at) - datetime.fromisoformat(opened)).total_seconds()

    return {
        "to_acknowledge_s": since_open("acknowledged_at"),
        "to_dispatch_s": since_open("dispatched_at"),
        "to_resolve_s": since_open("resolved_at"),
        "to_close_s": since_open("closed_at"),
    }


def nearby_cameras(db: Session, principal: Principal, incident: Incident) -> list[dict[str, Any]]:
    """Cameras the caller may see within 1 km of the incident, nearest first."""
    if incident.lat is None or incident.lon is None:
        return []
    box = bbox_around(incident.lat, incident.lon, NEARBY_RADIUS_M)
    found: list[dict[str, Any]] = []
    for cam in list_assets(db, principal, types=["camera"], bbox=box, limit=500):
        d = haversine_m(incident.lat, incident.lon, cam.lat, cam.lon)
        if d <= NEARBY_RADIUS_M:
            found.append(
                {
                    "id": cam.id,
                    "code": cam.code,
                    "name": cam.name,
                    "status": cam.status,
                    "lat": cam.lat,
                    "lon": cam.lon,
                    "distance_m": round(d),
                }
            )
    found.sort(key=lambda c: c["distance_m"])
    return found[:20]


def detail(db: Session, engine: WorkflowEngine, incident: Incident, principal: Principal) -> dict[str, Any]:
    """Everything about one incident for the console and the after-action report."""
    now = utcnow()
    path = unit_path_of(db, incident.unit_id)
    history = engine.history(db, INCIDENT, incident.id)
    agency_ids = {h.assignee_agency_id for h in history if h.assignee_agency_id}
    agencies = dict(
        db.execute(select(Agency.id, Agency.name).where(Agency.id.in_(agency_ids))).tuples().all()
    )
    user = db.get(User, incident.assignee_user_id) if incident.assignee_user_id else None
    merged_into = db.get(Incident, incident.merged_into_id) if incident.merged_into_id else None
    merged_from = (
        db.execute(
            select(Incident.id, Incident.code)
            .where(Incident.merged_into_id == incident.id)
            .order_by(Incident.id)
        )
        .tuples()
        .all()
    )
    files = list(
        db.scalars(
            select(IncidentAttachment)
            .where(IncidentAttachment.incident_id == incident.id)
            .order_by(IncidentAttachment.id)
        )
    )
    runs = _runs(db, incident, principal, path, now)
    milestones = _milestones(incident, history)
    summary = incident_row(incident)
    summary.update(
        {
            "description": incident.description,
            "group_key": incident.group_key,
            "state_since": _iso(incident.state_since),
            "unit": _place(db, incident.unit_id),
            "acknowledged_by_id": incident.acknowledged_by_id,
            "assignee_agency": (
                {"id": incident.assignee_agency_id, "name": agencies.get(incident.assignee_agency_id, "")}
                if incident.assignee_agency_id
                else None
            ),
            "assignee_user": {"id": user.id, "username": user.username, "full_name": user.full_name}
            if user
            else None,
            "merged_into": {"id": merged_into.id, "code": merged_into.code} if merged_into else None,
        }
    )
    return {
        "incident": summary,
        "milestones": milestones,
        "durations": _durations(milestones),
        "alerts": [alert_row(a) for a in _incident_alerts(db, incident.id)],
        "merged_from": [{"id": i, "code": c} for i, c in merged_from],
        "sop_runs": runs,
        "timeline": _timeline(history, runs, files, agencies),
        "comments": [
            {"at": _iso(h.at), "actor": h.actor, "comment": h.comment}
            for h in history
            if h.transition == "comment" and h.comment
        ],
        "attachments": [attachment_row(f) for f in files],
        "actions": [
            {"name": t.name, "label": t.label(), "label_en": t.label("en"), "required": list(t.required)}
            for t in engine.available(INCIDENT, incident, principal, unit_path=path)
        ],
        "nearby_cameras": nearby_cameras(db, principal, incident),
        "generated_at": now.isoformat(),
    }
