"""Device credentials (thông tin xác thực thiết bị), broker files, presence and heartbeats.

A device that publishes to the MQTT broker logs in with its asset code as user name and a secret issued here
(shown once). The broker checks passwords and topics itself, from two files this module writes: a Mosquitto
password file (`$7$` PBKDF2-SHA512 hashes, Mosquitto 2's own format) and an ACL that lets each device publish
only under `<prefix>/<its code>/`. The IOC keeps a SHA-256 of the secret for its own checks.

A device with credentials is expected to report (a reading, a heartbeat) at least every `heartbeat_s`
seconds; `check_heartbeats()` marks the silent ones offline once per outage, and the next report brings them
back online (`telemetry.came_back`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from toancanh.core import audit, outbox
from toancanh.core.assets import Asset
from toancanh.core.auth.scope import Principal
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, Conflict, NotFound
from toancanh.modules.alerts import telemetry
from toancanh.modules.alerts.events import EventIn
from toancanh.modules.alerts.models import DeviceCredential

# A user name becomes a topic level and a line of the password file: no '/', '+', '#', ':' or spaces.
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SECRET_BYTES = 24  # token_urlsafe(24): 32 characters, 192 bits
BROKER_ITERATIONS = 1000  # PBKDF2 rounds in the broker's hash (mosquitto_passwd 2.0 writes 101)
BROKER_SALT_BYTES = 12  # what mosquitto_passwd uses
HEARTBEAT_MIN_S, HEARTBEAT_MAX_S = 10, 7 * 86_400
QUIET = ("offline", "maintenance", "retired")  # statuses the heartbeat check leaves alone
DEFAULT_PREFIX = "toancanh/v1"


# ---------------------------------------------------------------------------------------------- hashes


def broker_hash(secret: str, *, iterations: int = BROKER_ITERATIONS, salt: bytes | None = None) -> str:
    """Mosquitto 2's password-file hash: `$7$<iterations>$<base64 salt>$<base64 PBKDF2-HMAC-SHA512>`."""
    salt = salt if salt is not None else secrets.token_bytes(BROKER_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def check_broker_hash(stored: str, secret: str) -> bool:
    """True when `secret` matches a `$7$` hash (the broker's check, for tests and diagnostics)."""
    try:
        _, seven, iterations, salt, digest = stored.split("$")
        if seven != "7":
            return False
        expected = broker_hash(secret, iterations=int(iterations), salt=base64.b64decode(salt))
    except ValueError:
        return False
    return hmac.compare_digest(expected.rsplit("$", 1)[1], digest)


def secret_hash(secret: str) -> str:
    # The secret is 192 random bits, like an API key: a fast hash is enough (core.auth hashes keys so).
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def verify_secret(credential: DeviceCredential, secret: str) -> bool:
    """True when `secret` is the device's current secret and its credential is enabled."""
    return credential.enabled and hmac.compare_digest(credential.secret_hash, secret_hash(secret))


# ---------------------------------------------------------------------------------------------- credentials


def credential_of(db: Session, asset: Asset) -> DeviceCredential | None:
    return db.scalar(select(DeviceCredential).where(DeviceCredential.asset_id == asset.id))


def issue_credentials(
    db: Session,
    asset: Asset,
    heartbeat_s: int = 300,
    *,
    rotate: bool = False,
    principal: Principal | None = None,
) -> tuple[str, str]:
    """Give a device its broker login; returns (username, secret). The secret is not kept: show it once.

    An enabled credential is replaced only with `rotate=True` (the old secret stops working when the broker
    files are written again); a disabled one is re-enabled with a new secret.
    """
    if not USERNAME.fullmatch(asset.code):
        raise BadRequest(
            f"Mã thiết bị {asset.code!r} không dùng làm tên đăng nhập MQTT được (chỉ chữ, số, '.', '_', '-')",
            f"Asset code {asset.code!r} cannot be an MQTT user name (letters, digits, '.', '_', '-' only)",
        )
    if not HEARTBEAT_MIN_S <= heartbeat_s <= HEARTBEAT_MAX_S:
        raise BadRequest(
            f"Chu kỳ nhịp tim từ {HEARTBEAT_MIN_S} đến {HEARTBEAT_MAX_S} giây",
            f"The heartbeat interval is {HEARTBEAT_MIN_S} to {HEARTBEAT_MAX_S} seconds",
        )
    taken = db.scalar(
        select(DeviceCredential.asset_id).where(
            DeviceCredential.username == asset.code, DeviceCredential.asset_id != asset.id
        )
    )
    if taken is not None:
        raise Conflict("Tên đăng nhập đã được dùng", "This user name is already taken")
    secret = secrets.token_urlsafe(SECRET_BYTES)
    cred = credential_of(db, asset)
    now = utcnow()
    action = "device.credentials.issue"
    if cred is None:
        cred = DeviceCredential(asset_id=asset.id, username=asset.code, created_at=now)
        db.add(cred)
    elif cred.enabled and not rotate:
        raise Conflict(
            "Thiết bị đã có thông tin đăng nhập; hãy cấp lại (rotate) nếu cần mật khẩu mới",
            "The device already has credentials; rotate them to get a new secret",
        )
    else:
        cred.rotated_at = now
        action = "device.credentials.rotate"
    cred.username = asset.code
    cred.secret_hash = secret_hash(secret)
    cred.broker_hash = broker_hash(secret)
    cred.heartbeat_s = heartbeat_s
    cred.enabled = True
    db.flush()
    audit.record_by(
        db,
        principal,
        action,
        entity_type="asset",
        entity_id=asset.id,
        unit_id=asset.unit_id,
        changes={"username": asset.code, "heartbeat_s": heartbeat_s},
    )
    return asset.code, secret


def rotate_credentials(db: Session, asset: Asset, *, principal: Principal | None = None) -> tuple[str, str]:
    """A new secret for a device, keeping its heartbeat interval."""
    cred = credential_of(db, asset)
    if cred is None:
        raise NotFound("Thiết bị chưa có thông tin đăng nhập", "The device has no credentials")
    return issue_credentials(db, asset, cred.heartbeat_s, rotate=True, principal=principal)


def disable_credentials(db: Session, asset: Asset, *, principal: Principal | None = None) -> DeviceCredential:
    """Stop a device's login (effective at the broker when its files are written again and reloaded)."""
    cred = credential_of(db, asset)
    if cred is None:
        raise NotFound("Thiết bị chưa có thông tin đăng nhập", "The device has no credentials")
    if cred.enabled:
        cred.enabled = False
        db.flush()
        audit.record_by(
            db,
            principal,
            "device.credentials.disable",
            entity_type="asset",
            entity_id=asset.id,
            unit_id=asset.unit_id,
            changes={"username": cred.username},
        )
    return cred


def credential_summary(cred: DeviceCredential, asset: Asset) -> dict[str, Any]:
    return {
        "asset_id": asset.id,
        "code": asset.code,
        "name": asset.name,
        "type": asset.type,
        "domain": asset.domain,
        "unit_id": asset.unit_id,
        "username": cred.username,
        "enabled": cred.enabled,
        "heartbeat_s": cred.heartbeat_s,
        "created_at": cred.created_at.isoformat(),
        "rotated_at": cred.rotated_at.isoformat() if cred.rotated_at else None,
        "status": asset.status,
        "last_seen_at": asset.last_seen_at.isoformat() if asset.last_seen_at else None,
    }


# ---------------------------------------------------------------------------------------------- broker files


def broker_files(
    db: Session, service_user: str, service_password: str, *, prefix: str = DEFAULT_PREFIX
) -> tuple[str, str]:
    """(password file, ACL file) for Mosquitto 2: every enabled device plus the IOC's own service account.

    Each device may publish only under `<prefix>/<its user name>/`; the service account may read `<prefix>/#`.
    Reload the broker after writing them (`kill -HUP`, or `systemctl reload mosquitto`).
    """
    if not USERNAME.fullmatch(service_user):
        raise BadRequest("Tên tài khoản dịch vụ không hợp lệ", "Invalid service user name")
    if len(service_password) < 12:
        raise BadRequest(
            "Mật khẩu tài khoản dịch vụ tối thiểu 12 ký tự", "The service password is at least 12 characters"
        )
    rows = db.execute(
        select(DeviceCredential.username, DeviceCredential.broker_hash)
        .where(DeviceCredential.enabled.is_(True))
        .order_by(DeviceCredential.username)
    ).all()
    if any(name == service_user for name, _ in rows):
        raise Conflict(
            f"Một thiết bị đang dùng tên {service_user}", f"A device already uses the name {service_user}"
        )
    passwd = [f"{service_user}:{broker_hash(service_password)}"]
    passwd += [f"{name}:{hashed}" for name, hashed in rows]
    acl = "\n".join(
        [
            "# Toàn Cảnh: written by `toancanh mqtt broker-files`; changes by hand are overwritten.",
            "# Each device (user name = asset code) may publish only under its own topics.",
            f"pattern write {prefix}/%u/#",
            "",
            "# The IOC's service account reads every device's topics.",
            f"user {service_user}",
            f"topic read {prefix}/#",
        ]
    )
    return "\n".join(passwd) + "\n", acl + "\n"


# ---------------------------------------------------------------------------------------------- admission


def admission(db: Session, codes: Collection[str]) -> dict[str, str | None]:
    """For each device code: None when it may report, else the reason (`unknown_device`, `disabled`).

    A device with no credential row may report (a broker without passwords, or an HTTP gateway); one whose
    credential is disabled may not, even if the broker has not been reloaded yet.
    """
    out: dict[str, str | None] = dict.fromkeys(codes, "unknown_device")
    names = list(out)
    for start in range(0, len(names), 500):
        for code, enabled in db.execute(
            select(Asset.code, DeviceCredential.enabled)
            .outerjoin(DeviceCredential, DeviceCredential.asset_id == Asset.id)
            .where(Asset.code.in_(names[start : start + 500]))
        ):
            out[code] = "disabled" if enabled is False else None
    return out


# ---------------------------------------------------------------------------------------------- presence


def _went_offline(db: Session, asset: Asset, now: datetime, reason_vi: str, reason_en: str) -> EventIn:
    """Record (outbox) that a device went offline; the caller has already changed its status."""
    last_seen = asset.last_seen_at.isoformat() if asset.last_seen_at else None
    outbox.emit(
        db,
        "toancanh.core.device.offline",
        {
            "asset_id": asset.id,
            "asset_code": asset.code,
            "lat": asset.lat,
            "lon": asset.lon,
            "title_vi": f"Thiết bị mất kết nối: {asset.name} ({reason_vi})",
            "title_en": f"Device offline: {asset.name} ({reason_en})",
            "severity": "moderate",
            "at": now.isoformat(),
            "last_seen_at": last_seen,
        },
        unit_id=asset.unit_id,
        domain=asset.domain,
    )
    seen_ms = int(asset.last_seen_at.timestamp() * 1000) if asset.last_seen_at else 0
    return EventIn(
        source="system",
        category="device.offline",
        title=f"Thiết bị mất kết nối: {asset.name}",
        title_en=f"Device offline: {asset.name}",
        at=now,
        asset_code=asset.code,
        severity="moderate",
        certainty="observed",
        source_ref=f"offline:{asset.code}:{seen_ms}",  # one outage, one event, however often it is reported
        payload={"reason": reason_en, "last_seen_at": last_seen},
    )


def _claim_offline(db: Session, asset: Asset) -> bool:
    """Set the status to offline only if no one else did first (several workers may run the check)."""
    res: Any = db.execute(
        update(Asset)
        .where(Asset.id == asset.id, Asset.status.not_in(QUIET))
        .values(status="offline")
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:
        return False
    db.refresh(asset, ["status"])
    return True


def check_heartbeats(
    db: Session, now: datetime | None = None, *, directory: telemetry.Directory | None = None
) -> list[EventIn]:
    """Mark devices offline that have been silent longer than their `heartbeat_s`; once per outage.

    A device with enabled credentials is silent when its asset was last seen more than `heartbeat_s` ago,
    or never seen and its credentials were issued more than `heartbeat_s` ago. Devices already offline, in
    maintenance or retired are left alone. Each one becomes `offline` with a `toancanh.core.device.offline`
    outbox event; the returned events describe the same outages for a caller that records them itself.
    """
    now = now or utcnow()
    lost: list[EventIn] = []
    rows = db.execute(
        select(DeviceCredential.heartbeat_s, DeviceCredential.created_at, Asset)
        .join(Asset, Asset.id == DeviceCredential.asset_id)
        .where(DeviceCredential.enabled.is_(True), Asset.status.not_in(QUIET))
        .order_by(Asset.id)
    ).all()
    for heartbeat_s, created_at, asset in rows:
        limit = now - timedelta(seconds=heartbeat_s)
        since = asset.last_seen_at or created_at
        if since >= limit or not _claim_offline(db, asset):
            continue
        if directory is not None:
            directory.set_status(asset.id, "offline")
        silent_s = int((now - since).total_seconds())
        lost.append(
            _went_offline(db, asset, now, f"không báo về {silent_s} giây", f"silent for {silent_s} s")
        )
    return lost


@dataclass(slots=True)
class Presence:
    """What a device said about itself on its status topic or with a bare heartbeat."""

    code: str
    online: bool
    at: datetime


def apply_presence(
    db: Session, directory: telemetry.Directory, items: list[Presence], now: datetime | None = None
) -> int:
    """Apply status messages and bare heartbeats in order; returns how many devices changed status.

    `online` (or a heartbeat) records the device as seen at that moment and brings it back online if it was
    offline (with the same event as a reading would); `offline` (its Last Will, usually) marks it offline.
    Maintenance and retired devices keep their status.
    """
    if not items:
        return 0
    now = now or utcnow()
    assets = {a.code: a for a in db.scalars(select(Asset).where(Asset.code.in_({p.code for p in items})))}
    changed = 0
    for p in items:
        asset = assets.get(p.code)
        if asset is None or asset.status in ("maintenance", "retired"):
            continue
        if p.online:
            if asset.last_seen_at is None or asset.last_seen_at < p.at:
                asset.last_seen_at = p.at
            if asset.status == "offline":
                telemetry.came_back(db, directory, asset.id, now)
                changed += 1
            elif asset.status == "active":
                asset.status = "online"
                directory.set_status(asset.id, "online")
        elif asset.status != "offline":
            asset.status = "offline"
            directory.set_status(asset.id, "offline")
            _went_offline(db, asset, now, "thiết bị báo ngắt kết nối", "the device reported it disconnected")
            changed += 1
        db.flush()
    return changed
