"""Field reports: submission, routing, duplicates, processing, rating, and what each audience may see."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from toancanh.core import audit, outbox
from toancanh.core.auth.scope import Principal, get_scoped, scoped
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, Conflict, NotFound, TooManyRequests
from toancanh.core.files import BlobStore
from toancanh.core.geo import bbox_around, haversine_m
from toancanh.core.units import Agency, Unit
from toancanh.core.workflow import CaseHistory, WorkflowEngine
from toancanh.modules.reports import blocks
from toancanh.modules.reports.categories import category_rows
from toancanh.modules.reports.models import (
    FieldReport,
    ReportCategory,
    ReportFollower,
    ReportPhoto,
    RoutingRule,
)
from toancanh.modules.reports.photos import MAX_PHOTOS, clean_photo
from toancanh.modules.reports.workflow import FIELD_REPORT, extension_days

MAX_DESCRIPTION = 2000
NEARBY_RADIUS_M = 150
NEARBY_DAYS = 30
PUBLIC_DECIMALS = 3  # about 110 m: enough to find the place, not the house
SUBMISSIONS_PER_HOUR = 10  # per IP address and per device
ACCOUNT_SUBMISSIONS_PER_HOUR = 300  # per account: an Open311 app speaks for many citizens
OPEN_STATES = ("received", "assigned", "in_progress", "paused", "resolved")
_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_tracking_code() -> str:
    return "PA" + "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))


def ensure_categories(db: Session) -> int:
    """Create the default categories that do not exist yet; returns how many were created."""
    existing = set(db.scalars(select(ReportCategory.code)))
    rows = [ReportCategory(**r) for r in category_rows() if r["code"] not in existing]
    db.add_all(rows)
    db.flush()
    return len(rows)


def category_by_code(db: Session, code: str) -> ReportCategory:
    cat = db.scalar(
        select(ReportCategory).where(ReportCategory.code == code, ReportCategory.active.is_(True))
    )
    if cat is None:
        raise BadRequest(
            f"Lĩnh vực phản ánh không tồn tại: {code[:40]}", f"Unknown report category: {code[:40]}"
        )
    return cat


def route(db: Session, unit: Unit, category: ReportCategory) -> Agency | None:
    """The agency that handles `category` at `unit`: the rule of the deepest unit on the way up, if any."""
    ancestors = [p for p in unit.path.strip("/").split("/") if p]
    rows = db.execute(
        select(RoutingRule, Unit.level, Agency)
        .join(Unit, Unit.id == RoutingRule.unit_id)
        .join(Agency, Agency.id == RoutingRule.agency_id)
        .where(RoutingRule.category_id == category.id, Unit.code.in_(ancestors), Agency.active.is_(True))
        .order_by(Unit.level.desc())
    ).first()
    return rows[2] if rows else None


def set_route(db: Session, unit: Unit, category: ReportCategory, agency: Agency) -> RoutingRule:
    rule = db.scalar(
        select(RoutingRule).where(RoutingRule.unit_id == unit.id, RoutingRule.category_id == category.id)
    )
    if rule is None:
        rule = RoutingRule(unit_id=unit.id, category_id=category.id, agency_id=agency.id)
        db.add(rule)
    else:
        rule.agency_id = agency.id
    db.flush()
    return rule


_TOO_MANY = (
    "Bạn đã gửi quá nhiều phản ánh trong một giờ, vui lòng thử lại sau",
    "Too many reports in one hour, please try again later",
)


def _check_rate(db: Session, ip: str, device_id: str, now: datetime, channel: str) -> None:
    since = now - timedelta(hours=1)
    for column, value in ((FieldReport.client_ip, ip), (FieldReport.device_id, device_id)):
        if not value:
            continue
        n = db.scalar(
            select(func.count()).where(
                column == value, FieldReport.created_at >= since, FieldReport.channel == channel
            )
        )
        if (n or 0) >= SUBMISSIONS_PER_HOUR:
            raise TooManyRequests(*_TOO_MANY)


def _check_account_rate(db: Session, user_id: int, now: datetime) -> None:
    """Reports opened by one account (a signed-in citizen, an Open311 app) in the last hour."""
    n = db.scalar(
        select(func.count()).where(
            CaseHistory.actor_id == user_id,
            CaseHistory.at >= now - timedelta(hours=1),
            CaseHistory.case_type == FIELD_REPORT.name,
            CaseHistory.transition == "open",
        )
    )
    if (n or 0) >= ACCOUNT_SUBMISSIONS_PER_HOUR:
        raise TooManyRequests(*_TOO_MANY)


def nearby(
    db: Session, category: ReportCategory, lat: float, lon: float, *, radius_m: float = NEARBY_RADIUS_M
) -> list[tuple[FieldReport, float]]:
    """Open reports of the same category within `radius_m` over the last 30 days, nearest first."""
    minlon, minlat, maxlon, maxlat = bbox_around(lat, lon, radius_m)
    since = utcnow() - timedelta(days=NEARBY_DAYS)
    candidates = db.scalars(
        select(FieldReport).where(
            FieldReport.category_id == category.id,
            FieldReport.state.in_(OPEN_STATES),
            FieldReport.created_at >= since,
            FieldReport.lat.between(minlat, maxlat),
            FieldReport.lon.between(minlon, maxlon),
        )
    )
    found = [(r, haversine_m(lat, lon, r.lat, r.lon)) for r in candidates]
    return sorted([(r, d) for r, d in found if d <= radius_m], key=lambda x: x[1])


def store_photos(
    db: Session, blobs: BlobStore, report: FieldReport, photos: Sequence[bytes], kind: str
) -> list[ReportPhoto]:
    if len(photos) > MAX_PHOTOS:
        raise BadRequest(f"Tối đa {MAX_PHOTOS} ảnh", f"At most {MAX_PHOTOS} photos")
    out = []
    for data in photos:
        clean = clean_photo(data)
        ref = blobs.put(db, clean.data, allowed=frozenset({"image/jpeg"}))
        photo = ReportPhoto(
            report_id=report.id, sha256=ref.sha256, kind=kind, width=clean.width, height=clean.height
        )
        db.add(photo)
        out.append(photo)
    db.flush()
    return out


def submit(
    db: Session,
    engine: WorkflowEngine,
    blobs: BlobStore,
    locate: Any,
    *,
    category_code: str,
    description: str,
    lat: float | None,
    lon: float | None,
    photos: Sequence[bytes] = (),
    address: str = "",
    name: str = "",
    phone: str = "",
    email: str = "",
    channel: str = "web",
    attributes: dict[str, Any] | None = None,
    device_id: str = "",
    ip: str = "",
    actor: Principal | None = None,
    now: datetime | None = None,
) -> FieldReport:
    """Receive a report: validate, place it in a unit, store clean photos, open the case, route it."""
    now = now or utcnow()
    category = category_by_code(db, category_code)
    description = description.strip()
    if not 10 <= len(description) <= MAX_DESCRIPTION:
        raise BadRequest(
            f"Nội dung phản ánh cần từ 10 đến {MAX_DESCRIPTION} ký tự",
            f"The description must be 10 to {MAX_DESCRIPTION} characters",
        )
    if len(photos) > MAX_PHOTOS:
        raise BadRequest(f"Tối đa {MAX_PHOTOS} ảnh", f"At most {MAX_PHOTOS} photos")
    if channel == "web":
        _check_rate(db, ip, device_id, now, channel)
    elif channel == "open311":
        _check_rate(db, "", device_id, now, channel)  # the app's server address is shared by all its users
    if actor is not None and channel in ("web", "open311"):
        _check_account_rate(db, actor.user_id, now)
    cleaned = [clean_photo(p) for p in photos]
    source = "gps"
    if lat is None or lon is None:
        gps = next((c.gps for c in cleaned if c.gps), None)
        if gps is None:
            raise BadRequest(
                "Cần vị trí: bật GPS, chọn trên bản đồ hoặc gửi ảnh có tọa độ",
                "A location is needed: GPS, a point on the map, or a photo with coordinates",
            )
        lat, lon, source = gps[0], gps[1], "exif"
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadRequest("Tọa độ không hợp lệ", "Invalid coordinates")
    unit_ids: list[int] = locate(lat, lon)
    if not unit_ids:
        raise BadRequest("Vị trí nằm ngoài địa bàn quản lý", "The location is outside the area served")
    if channel in ("web", "open311"):
        blocks.refuse_if_blocked(db, blocks.Identity(phone, email, device_id, ip), unit_ids[0], now)
    report = FieldReport(
        tracking_code=new_tracking_code(),
        unit_id=unit_ids[0],
        category_id=category.id,
        domain=category.domain,
        description=description,
        lat=lat,
        lon=lon,
        address=address.strip()[:300],
        location_source=source,
        priority="urgent" if category.urgent else "normal",
        resolve_days=category.resolve_days,
        channel=channel,
        reporter_name=name.strip()[:120],
        reporter_phone=phone.strip()[:20],
        reporter_email=email.strip()[:200],
        anonymous=not (name or phone or email),
        device_id=device_id[:64],
        client_ip=ip[:64],
        attributes=attributes or {},
    )
    db.add(report)
    engine.open(db, FIELD_REPORT, report, actor, now=now)
    for c in cleaned:
        ref = blobs.put(db, c.data, allowed=frozenset({"image/jpeg"}))
        db.add(
            ReportPhoto(report_id=report.id, sha256=ref.sha256, kind="report", width=c.width, height=c.height)
        )
    unit = db.get(Unit, report.unit_id)
    agency = route(db, unit, category) if unit else None
    if agency is not None:
        engine.transition(db, FIELD_REPORT, report, "assign", None, {"agency_id": agency.id}, now=now)
    db.flush()
    return report


def by_code(db: Session, code: str) -> FieldReport:
    report = db.scalar(select(FieldReport).where(FieldReport.tracking_code == code.strip().upper()[:16]))
    if report is None:
        raise NotFound("Không tìm thấy phản ánh với mã này", "No report with this tracking code")
    return report


def by_public_id(db: Session, ref: str | int) -> FieldReport:
    """A report by its public number (what public lists and Open311 show), e.g. "1234" or "#1234"."""
    text = str(ref).strip().lstrip("#")
    report = db.get(FieldReport, int(text)) if text.isdecimal() and len(text) < 19 else None
    if report is None:
        raise NotFound("Không tìm thấy phản ánh", "No such report")
    return report


def follow(db: Session, report: FieldReport, phone: str = "", email: str = "") -> ReportFollower:
    """Someone else reports the same problem: they follow it instead of opening a duplicate."""
    if report.state not in OPEN_STATES:
        raise Conflict("Phản ánh này đã đóng", "This report is closed")
    # A follower is not given the first reporter's tracking code (it lets its holder rate the answer);
    # `tracking_code` on a follower row is only ever the follower's own, from a merged report.
    f = ReportFollower(report_id=report.id, phone=phone.strip()[:20], email=email.strip()[:200])
    db.add(f)
    report.supporters += 1
    db.flush()
    return f


def follower_emails(db: Session, report_id: int) -> list[str]:
    """The e-mail addresses of everyone following a report (for notifications), oldest first."""
    rows = db.scalars(
        select(ReportFollower.email)
        .where(ReportFollower.report_id == report_id, ReportFollower.email != "")
        .order_by(ReportFollower.id)
    )
    return list(rows)


def act(
    db: Session,
    engine: WorkflowEngine,
    report: FieldReport,
    name: str,
    principal: Principal | None,
    fields: dict[str, Any],
    *,
    now: datetime | None = None,
) -> FieldReport:
    """Run a transition, with the report-specific effects (answer, merge, acknowledgement)."""
    now = now or utcnow()
    if name == "merge":
        target = db.get(FieldReport, int(fields.get("target_id") or 0))
        if target is None or target.id == report.id or target.state not in OPEN_STATES:
            raise BadRequest("Phản ánh gộp vào không hợp lệ", "Invalid merge target")
        if principal is not None:
            get_scoped(db, principal, FieldReport, target.id, "reports.read")
    if name == "resolve":
        evidence = fields.get("evidence") or []
        have = set(
            db.scalars(
                select(ReportPhoto.sha256).where(
                    ReportPhoto.report_id == report.id, ReportPhoto.kind == "evidence"
                )
            )
        )
        if not evidence or not set(evidence) <= have:
            raise BadRequest(
                "Cần ảnh hoặc tài liệu kết quả đã tải lên cho phản ánh này",
                "Upload a result photo or document for this report first",
            )
    if name == "extend":
        _extend(db, engine, report, principal, fields, now)
        db.flush()
        return report
    engine.transition(db, FIELD_REPORT, report, name, principal, fields, now=now)
    if name == "accept" and report.acknowledged_at is None:
        report.acknowledged_at = now
    elif name == "resolve":
        report.answer = str(fields["answer"]).strip()[:5000]
        report.answered_at = now
    elif name == "merge":
        target = db.get(FieldReport, int(fields["target_id"]))
        assert target is not None
        target.supporters += report.supporters
        db.add(
            ReportFollower(
                report_id=target.id,
                tracking_code=report.tracking_code,
                phone=report.reporter_phone,
                email=report.reporter_email,
            )
        )
        report.merged_into_id = target.id
    db.flush()
    return report


def _extend(
    db: Session,
    engine: WorkflowEngine,
    report: FieldReport,
    principal: Principal | None,
    fields: dict[str, Any],
    now: datetime,
) -> None:
    """Gia hạn: the deadline moves `days` working days later, the state stays.

    The new deadline is set before the engine records the step, so that its history row and event carry
    it; a refusal puts the old values back. In progress, the case's resolve_days grows too, so a deadline
    computed again later (reopen, resume) keeps the extension.
    """
    days = extension_days(fields)
    before = (report.due_at, report.sla_status, report.resolve_days)
    if days is not None:
        start = report.due_at or now
        due = engine.calendar.add_working_days(start, days)
        fields = {**fields, "days": days, "previous_due_at": start.isoformat(), "due_at": due.isoformat()}
        report.due_at = due
        if due > now:
            report.sla_status = "ok"  # the deadline loop warns again at 80 % of the new window
        if report.state == "in_progress":
            report.resolve_days = (report.resolve_days or 0) + days
    try:
        engine.transition(db, FIELD_REPORT, report, "extend", principal, fields, now=now)
    except BaseException:
        report.due_at, report.sla_status, report.resolve_days = before
        raise


def rate(
    db: Session,
    engine: WorkflowEngine,
    report: FieldReport,
    *,
    rating: int,
    satisfied: bool,
    comment: str = "",
    now: datetime | None = None,
) -> FieldReport:
    """The citizen rates the answer: satisfied closes the case, not satisfied reopens it."""
    if report.state != "resolved":
        raise Conflict("Chỉ đánh giá được khi đã có kết quả", "Only a resolved report can be rated")
    if not 1 <= rating <= 5:
        raise BadRequest("Điểm đánh giá từ 1 đến 5", "Rating must be 1 to 5")
    report.rating, report.satisfied, report.rating_comment = rating, satisfied, comment.strip()[:1000]
    if satisfied:
        engine.transition(db, FIELD_REPORT, report, "close", None, {"rating": rating}, now=now)
    else:
        reason = comment.strip() or "Người dân chưa hài lòng"
        engine.transition(
            db, FIELD_REPORT, report, "reopen", None, {"reason": reason, "rating": rating}, now=now
        )
    outbox.emit(
        db,
        "toancanh.reports.report.rated",
        {
            "id": report.id,
            "rating": rating,
            "satisfied": satisfied,
            "title_vi": f"Người dân đánh giá phản ánh #{report.id}: {rating}/5",
            "title_en": f"Citizen rated report #{report.id}: {rating}/5",
        },
        unit_id=report.unit_id,
        domain=report.domain,
    )
    return report


def moderate(
    db: Session,
    principal: Principal,
    report: FieldReport,
    *,
    approve: bool,
    public_photos: Sequence[str] = (),
) -> FieldReport:
    report.moderation = "approved" if approve else "hidden"
    for photo in db.scalars(select(ReportPhoto).where(ReportPhoto.report_id == report.id)):
        photo.public = approve and photo.sha256 in public_photos
    audit.record_by(
        db,
        principal,
        "field_report.moderate",
        entity_type="field_report",
        entity_id=report.id,
        unit_id=report.unit_id,
        changes={"moderation": report.moderation, "public_photos": list(public_photos)},
    )
    return report


# ------------------------------------------------------------------------------------------- views


def can_see_identity(principal: Principal | None, report: FieldReport, unit_path: str | None) -> bool:
    return principal is not None and principal.can("reports.identity", unit_path, report.domain)


def staff_queue(
    db: Session,
    principal: Principal,
    *,
    states: Sequence[str] = (),
    category_id: int | None = None,
    unit_id: int | None = None,
    agency_id: int | None = None,
    overdue: bool | None = None,
    priority: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
    opened_from: datetime | None = None,
    opened_before: datetime | None = None,
) -> list[FieldReport]:
    """The operator/agency queue, newest first, scoped; agency staff see only their agency's cases."""
    stmt = scoped_reports(principal)
    if opened_from is not None:
        stmt = stmt.where(FieldReport.opened_at >= opened_from)
    if opened_before is not None:
        stmt = stmt.where(FieldReport.opened_at < opened_before)
    if states:
        stmt = stmt.where(FieldReport.state.in_(list(states)))
    if category_id:
        stmt = stmt.where(FieldReport.category_id == category_id)
    if unit_id:
        unit = db.get(Unit, unit_id)
        stmt = stmt.where(
            FieldReport.unit_id.in_(
                select(Unit.id).where(Unit.path.startswith(unit.path if unit else "/none/"))
            )
        )
    if agency_id:
        stmt = stmt.where(FieldReport.assignee_agency_id == agency_id)
    if overdue is not None:
        stmt = stmt.where(
            (FieldReport.sla_status == "overdue") if overdue else (FieldReport.sla_status != "overdue")
        )
    if priority:
        stmt = stmt.where(FieldReport.priority == priority)
    if before_id:
        stmt = stmt.where(FieldReport.id < before_id)
    return list(db.scalars(stmt.order_by(FieldReport.id.desc()).limit(limit)))


def scoped_reports(principal: Principal) -> Select[tuple[FieldReport]]:
    """The reports the caller may read: their units and domains; agency staff only their agency's cases.

    The one scoping rule of the queue, the statistics and the export (`with_only_columns` keeps it).
    """
    stmt = scoped(select(FieldReport), principal, FieldReport, "reports.read")
    if only_own_agency(principal):
        stmt = stmt.where(FieldReport.assignee_agency_id == (principal.agency_id or -1))
    return stmt


def only_own_agency(principal: Principal) -> bool:
    """Agency staff (without a wider role) see the cases assigned to their agency only."""
    roles = {g.role for g in principal.grants_for("reports.read")}
    return roles == {"agency_staff"}


def get_for_staff(db: Session, principal: Principal, report_id: int) -> FieldReport:
    report = get_scoped(db, principal, FieldReport, report_id, "reports.read")
    if only_own_agency(principal) and report.assignee_agency_id != principal.agency_id:
        raise NotFound()
    return report
