"""What each audience sees of a report: the public, the reporting citizen, and staff."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core import audit
from toancanh.core.auth.scope import Principal
from toancanh.core.workflow import CaseHistory, WorkflowEngine
from toancanh.modules.reports.models import FieldReport, ReportCategory, ReportPhoto
from toancanh.modules.reports.service import PUBLIC_DECIMALS
from toancanh.modules.reports.workflow import FIELD_REPORT


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _category(db: Session, report: FieldReport) -> dict[str, Any]:
    cat = db.get(ReportCategory, report.category_id)
    return {"code": cat.code, "name": cat.name, "name_en": cat.name_en, "icon": cat.icon} if cat else {}


def _photos(db: Session, report: FieldReport, *, audience: str) -> list[dict[str, Any]]:
    """The report's photos for "public" (published ones only), "citizen" or "staff".

    Outside the staff pages a photo is its published version (faces and plates blurred when moderators did);
    staff see the original, with the published version's URL beside it.
    """
    stmt = select(ReportPhoto).where(ReportPhoto.report_id == report.id).order_by(ReportPhoto.id)
    if audience == "public":
        stmt = stmt.where(ReportPhoto.public.is_(True))
    out = []
    for p in db.scalars(stmt):
        sha = p.sha256 if audience == "staff" else p.published_sha256
        item: dict[str, Any] = {
            "sha256": sha,
            "kind": p.kind,
            "width": p.width,
            "height": p.height,
            "url": f"/reports/photo/{sha}",
        }
        if audience == "staff":
            item["public"] = p.public
            item["public_url"] = f"/reports/photo/{p.public_sha256}" if p.public_sha256 else None
        out.append(item)
    return out


def timeline(db: Session, report: FieldReport, *, with_actors: bool) -> list[dict[str, Any]]:
    rows = db.scalars(
        select(CaseHistory)
        .where(CaseHistory.case_type == FIELD_REPORT.name, CaseHistory.case_id == report.id)
        .order_by(CaseHistory.id)
    )
    out = []
    for h in rows:
        item = {
            "at": _iso(h.at),
            "transition": h.transition,
            "state": h.to_state,
            "label": FIELD_REPORT.label(h.to_state, "vi"),
            "label_en": FIELD_REPORT.label(h.to_state, "en"),
        }
        if with_actors:
            item.update({"actor": h.actor, "comment": h.comment, "data": h.data})
        out.append(item)
    return out


def public_view(db: Session, report: FieldReport) -> dict[str, Any]:
    """For anyone: no identity, rounded coordinates, only moderated photos, the answer once resolved."""
    visible = report.moderation == "approved"
    return {
        "id": report.id,  # the public reference; the tracking code is the reporter's private receipt
        "category": _category(db, report),
        "state": report.state,
        "state_label": FIELD_REPORT.label(report.state, "vi"),
        "state_label_en": FIELD_REPORT.label(report.state, "en"),
        "description": report.description if visible else "",
        "lat": round(report.lat, PUBLIC_DECIMALS),
        "lon": round(report.lon, PUBLIC_DECIMALS),
        "created_at": _iso(report.created_at),
        "answer": report.answer if report.state in ("resolved", "closed") else "",
        "answered_at": _iso(report.answered_at),
        "photos": _photos(db, report, audience="public"),
        "supporters": report.supporters,
        "rating": report.rating,
    }


def citizen_view(db: Session, report: FieldReport) -> dict[str, Any]:
    """For whoever holds the tracking code: their own text and photos, the timeline, the evidence."""
    out = public_view(db, report)
    out.update(
        {
            "tracking_code": report.tracking_code,
            "description": report.description,
            "photos": _photos(db, report, audience="citizen"),
            "timeline": timeline(db, report, with_actors=False),
            "due_at": _iso(report.due_at),
            "can_rate": report.state == "resolved",
            "satisfied": report.satisfied,
            "merged_into": report.merged_into_id,
        }
    )
    return out


def staff_view(
    db: Session, engine: WorkflowEngine, principal: Principal, report: FieldReport, unit_path: str | None
) -> dict[str, Any]:
    """For operators and agencies; the reporter's identity only for roles that need it, and audited."""
    out = citizen_view(db, report)
    out.update(
        {
            "id": report.id,
            "lat": report.lat,
            "lon": report.lon,
            "address": report.address,
            "unit_id": report.unit_id,
            "domain": report.domain,
            "priority": report.priority,
            "channel": report.channel,
            "assignee_agency_id": report.assignee_agency_id,
            "sla_status": report.sla_status,
            "escalation_level": report.escalation_level,
            "moderation": report.moderation,
            "timeline": timeline(db, report, with_actors=True),
            "photos": _photos(db, report, audience="staff"),
            "resolve_days": report.resolve_days,
            "available": [
                t.name for t in engine.available(FIELD_REPORT, report, principal, unit_path=unit_path)
            ],
            "reporter": None,
        }
    )
    if principal.can("reports.identity", unit_path, report.domain) and not report.anonymous:
        out["reporter"] = {
            "name": report.reporter_name,
            "phone": report.reporter_phone,
            "email": report.reporter_email,
        }
        audit.record_by(
            db,
            principal,
            "field_report.view_identity",
            entity_type="field_report",
            entity_id=report.id,
            unit_id=report.unit_id,
        )
    return out


def queue_row(db: Session, report: FieldReport, categories: dict[int, ReportCategory]) -> dict[str, Any]:
    cat = categories.get(report.category_id)
    return {
        "id": report.id,
        "tracking_code": report.tracking_code,
        "category": cat.code if cat else "",
        "category_name": cat.name if cat else "",
        "icon": cat.icon if cat else "",
        "state": report.state,
        "state_label": FIELD_REPORT.label(report.state, "vi"),
        "priority": report.priority,
        "sla_status": report.sla_status,
        "due_at": _iso(report.due_at),
        "created_at": _iso(report.created_at),
        "unit_id": report.unit_id,
        "assignee_agency_id": report.assignee_agency_id,
        "lat": report.lat,
        "lon": report.lon,
        "description": report.description[:160],
        "supporters": report.supporters,
    }
