"""The block list (danh sách chặn): reporters who abuse the service, refused before anything is stored.

Operators block a phone number, an e-mail address, a device id or an IP address (or network) in their unit;
the block applies to reports located in that unit and below, until it expires. Citizens' web submissions and
Open311 requests from a blocked identifier are refused (403); hotline reports, which operators type in
themselves, are not checked.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from toancanh.core import audit
from toancanh.core.auth.scope import Principal, get_scoped, scoped, unit_path_of
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, Forbidden
from toancanh.core.units import Unit
from toancanh.modules.reports.models import ReportBlock

KINDS = ("phone", "email", "device", "ip")
KIND_WORDS = {
    "phone": ("Số điện thoại", "phone number"),
    "email": ("Địa chỉ email", "e-mail address"),
    "device": ("Thiết bị", "device"),
    "ip": ("Địa chỉ mạng (IP)", "network address (IP)"),
}
PERMISSION = "reports.moderate"
_DIGITS = re.compile(r"\D+")


def normalise(kind: str, value: str) -> str:
    """The form a value is stored and compared in; BadRequest when it cannot be one of `kind`.

    Phone numbers keep their digits, with +84 / 84 written as the leading 0 of Vietnamese numbers;
    e-mails are lower-cased; an IP address or network is written as `ipaddress` writes it.
    """
    value = value.strip()
    if kind == "phone":
        digits = _DIGITS.sub("", value)
        if digits.startswith("84") and len(digits) >= 11:
            digits = "0" + digits[2:]
        if not 6 <= len(digits) <= 15:
            raise BadRequest("Số điện thoại không hợp lệ", "Invalid phone number")
        return digits
    if kind == "email":
        email = value.lower()
        if not 3 <= len(email) <= 200 or "@" not in email or any(c.isspace() for c in email):
            raise BadRequest("Địa chỉ email không hợp lệ", "Invalid e-mail address")
        return email
    if kind == "device":
        if not 1 <= len(value) <= 64:
            raise BadRequest("Mã thiết bị từ 1 đến 64 ký tự", "A device id has 1 to 64 characters")
        return value
    if kind == "ip":
        try:
            net = ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise BadRequest("Địa chỉ IP không hợp lệ", "Invalid IP address or network") from exc
        if net.num_addresses == 1:
            return str(net.network_address)
        return str(net)
    raise BadRequest("Loại chặn không hợp lệ", f"Unknown block kind (one of {', '.join(KINDS)})")


def _ancestor_ids(db: Session, unit_id: int) -> list[int]:
    path = unit_path_of(db, unit_id) or ""
    codes = [c for c in path.strip("/").split("/") if c]
    return list(db.scalars(select(Unit.id).where(Unit.code.in_(codes)))) if codes else [unit_id]


@dataclass(frozen=True)
class Identity:
    """Who sends a report, as far as the request tells."""

    phone: str = ""
    email: str = ""
    device: str = ""
    ip: str = ""


def find_block(db: Session, who: Identity, unit_id: int, now: datetime | None = None) -> ReportBlock | None:
    """The active block that refuses `who` for a report located in `unit_id`, if any."""
    now = now or utcnow()
    values: list[tuple[str, str]] = []
    for kind, raw in (("phone", who.phone), ("email", who.email), ("device", who.device)):
        if raw.strip():
            try:
                values.append((kind, normalise(kind, raw)))
            except BadRequest:
                continue  # a malformed identifier cannot match a stored (normalised) one
    conditions = [(ReportBlock.kind == k) & (ReportBlock.value == v) for k, v in values]
    address = _ip(who.ip)
    if address is not None:
        conditions.append(ReportBlock.kind == "ip")
    if not conditions:
        return None
    stmt = (
        select(ReportBlock)
        .where(
            or_(*conditions),
            ReportBlock.unit_id.in_(_ancestor_ids(db, unit_id)),
            or_(ReportBlock.expires_at.is_(None), ReportBlock.expires_at > now),
        )
        .order_by(ReportBlock.id)
    )
    for block in db.scalars(stmt):
        if block.kind != "ip":
            return block
        if address is not None and address in ipaddress.ip_network(block.value, strict=False):
            return block
    return None


def _ip(raw: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(raw.strip()) if raw.strip() else None
    except ValueError:
        return None


def refuse_if_blocked(db: Session, who: Identity, unit_id: int, now: datetime | None = None) -> None:
    """Forbidden, in words a citizen understands, when `who` is blocked where the report is."""
    block = find_block(db, who, unit_id, now)
    if block is None:
        return
    vi, en = KIND_WORDS[block.kind]
    until_vi = f" đến {block.expires_at:%d/%m/%Y}" if block.expires_at else ""
    until_en = f" until {block.expires_at:%Y-%m-%d}" if block.expires_at else ""
    raise Forbidden(
        f"{vi} này đã bị chặn gửi phản ánh{until_vi} do vi phạm quy định sử dụng. "
        "Nếu có nhầm lẫn, vui lòng liên hệ Ủy ban nhân dân xã.",
        f"This {en} has been blocked from sending reports{until_en} for misuse. "
        "If this is a mistake, please contact the commune People's Committee.",
        code="reporter_blocked",
    )


# ------------------------------------------------------------------------------------------- staff


def list_blocks(db: Session, principal: Principal, *, include_expired: bool = False) -> list[ReportBlock]:
    principal.require(PERMISSION)
    stmt = scoped(select(ReportBlock), principal, ReportBlock, PERMISSION)
    if not include_expired:
        stmt = stmt.where(or_(ReportBlock.expires_at.is_(None), ReportBlock.expires_at > utcnow()))
    return list(db.scalars(stmt.order_by(ReportBlock.id.desc()).limit(1000)))


def _default_unit(db: Session, principal: Principal) -> int:
    """The unit of the caller's one moderation grant, when the request names none."""
    paths = {g.unit_path for g in principal.grants_for(PERMISSION)}
    if len(paths) == 1 and "/" not in paths:
        code = next(iter(paths)).strip("/").split("/")[-1]
        unit_id = db.scalar(select(Unit.id).where(Unit.code == code))
        if unit_id is not None:
            return int(unit_id)
    raise BadRequest(
        "Chọn đơn vị áp dụng việc chặn (unit_id)", "Choose the unit the block applies in (unit_id)"
    )


def block(
    db: Session,
    principal: Principal,
    *,
    kind: str,
    value: str,
    reason: str,
    unit_id: int | None = None,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> ReportBlock:
    """Block an identifier in a unit the caller moderates (again: the reason and expiry are replaced)."""
    now = now or utcnow()
    normal = normalise(kind, value)
    reason = reason.strip()
    if not 3 <= len(reason) <= 500:
        raise BadRequest(
            "Cần nêu lý do chặn (3-500 ký tự)", "Give the reason for the block (3-500 characters)"
        )
    if expires_at is not None and expires_at <= now:
        raise BadRequest("Thời hạn chặn phải ở tương lai", "The expiry must be in the future")
    unit_id = unit_id if unit_id is not None else _default_unit(db, principal)
    path = unit_path_of(db, unit_id)
    if path is None:  # an administrator's grant covers every unit, even one that does not exist
        raise BadRequest("Đơn vị không tồn tại", "No such unit")
    principal.require(PERMISSION, path)
    row = db.scalar(
        select(ReportBlock).where(
            ReportBlock.kind == kind, ReportBlock.value == normal, ReportBlock.unit_id == unit_id
        )
    )
    if row is None:
        row = ReportBlock(kind=kind, value=normal, unit_id=unit_id)
        db.add(row)
    row.reason, row.expires_at = reason, expires_at
    row.created_by_id, row.created_by, row.created_at = principal.user_id, principal.username, now
    db.flush()
    audit.record_by(
        db,
        principal,
        "field_report.block",
        entity_type="report_block",
        entity_id=row.id,
        unit_id=unit_id,
        changes=summary(row),
    )
    return row


def unblock(db: Session, principal: Principal, block_id: int) -> ReportBlock:
    row = get_scoped(db, principal, ReportBlock, block_id, PERMISSION)
    audit.record_by(
        db,
        principal,
        "field_report.unblock",
        entity_type="report_block",
        entity_id=row.id,
        unit_id=row.unit_id,
        changes=summary(row),
    )
    db.delete(row)
    db.flush()
    return row


def summary(row: ReportBlock) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "value": row.value,
        "reason": row.reason,
        "unit_id": row.unit_id,
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "created_by": row.created_by,
        "created_at": row.created_at.isoformat() if row.created_at else None,
    }
