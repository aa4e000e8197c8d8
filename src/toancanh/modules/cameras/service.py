"""The camera registry (sổ camera): cameras, their zones, who viewed what. Other modules use this file.

A camera is an asset of type `camera` plus a `Camera` row; every query is scoped through the asset (its unit
and domain) with `cameras.read`, and every change needs `cameras.write` over the asset's unit and domain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from toancanh.core import audit, outbox
from toancanh.core.assets import Asset, create_asset, update_asset
from toancanh.core.auth.scope import Principal, scoped, unit_path_of
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, Conflict, NotFound
from toancanh.core.geo import feature, feature_collection
from toancanh.core.units import Unit
from toancanh.modules.cameras import geometry
from toancanh.modules.cameras.geometry import zone_active as zone_active  # re-exported for modules/vision
from toancanh.modules.cameras.models import GROUPS, PURPOSES, CameraZone
from toancanh.modules.cameras.models import Camera as Camera  # re-exported for modules/vision
from toancanh.modules.cameras.schemas import CameraCreate, CameraUpdate, ZoneIn, ZoneUpdate
from toancanh.modules.cameras.stream import Source as Source
from toancanh.modules.cameras.stream import StreamError as StreamError  # re-exported for modules/vision
from toancanh.modules.cameras.stream import encode_jpeg as encode_jpeg
from toancanh.modules.cameras.stream import frames as frames
from toancanh.modules.cameras.stream import packets as packets
from toancanh.modules.cameras.stream import to_image as to_image
from toancanh.modules.cameras.vault import Vault as Vault
from toancanh.settings import Settings

READ, WRITE, VIEW, DISCOVER = "cameras.read", "cameras.write", "cameras.view", "cameras.discover"
SCHEMES = {
    "rtsp": ("rtsp", "rtsps"),
    "http_mjpeg": ("http", "https"),
    "hls": ("http", "https"),
    "file": ("file",),
}
SUBJECT = "toancanh.cameras"


def media_dir(settings: Settings) -> Path:
    return (settings.camera_media_dir or settings.data_dir / "media").resolve()


# ---------------------------------------------------------------------------------------------- sources


def check_url(kind: str, url: str, settings: Settings, field: str) -> str:
    """The URL if it suits the source kind, else a 400 naming the field. Credentials go in their own fields:
    a URL is shown to operators and written to logs, a password must not be."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a bad port)
    except ValueError as exc:
        raise BadRequest(f"{field}: địa chỉ không hợp lệ", f"{field}: invalid URL") from exc
    allowed = SCHEMES[kind]
    if parts.scheme not in allowed:
        raise BadRequest(
            f"{field}: nguồn {kind} cần địa chỉ {' hoặc '.join(s + '://' for s in allowed)}",
            f"{field}: a {kind} source needs a {' or '.join(s + '://' for s in allowed)} URL",
        )
    if parts.username is not None or parts.password is not None:
        raise BadRequest(
            f"{field}: không ghi tên đăng nhập/mật khẩu trong địa chỉ; dùng các trường username và password",
            f"{field}: no credentials inside the URL; use the username and password fields",
        )
    if any(c.isspace() for c in url) or any(ord(c) < 32 for c in url):
        raise BadRequest(
            f"{field}: địa chỉ có ký tự không hợp lệ", f"{field}: the URL has invalid characters"
        )
    if kind == "file":
        root = media_dir(settings)
        path = Path(parts.path).resolve()
        if parts.netloc not in ("", "localhost") or not path.is_relative_to(root):
            raise BadRequest(
                f"{field}: tệp video phải nằm trong thư mục {root}",
                f"{field}: a video file must lie in {root}",
            )
    elif not parts.hostname:
        raise BadRequest(f"{field}: thiếu tên máy chủ", f"{field}: the host name is missing")
    return url


def source_of(camera: Camera, vault: Vault, settings: Settings, *, main: bool = False) -> Source:
    url = camera.main_url if main and camera.main_url else camera.substream_url
    return Source(
        kind=camera.source_kind,
        url=url,
        username=vault.open(camera.username_enc),
        password=vault.open(camera.password_enc),
        open_timeout_s=settings.camera_open_timeout_s,
        read_timeout_s=settings.camera_read_timeout_s,
        start_frame=camera.id * 7 if camera.source_kind == "file" else 0,
    )


# ---------------------------------------------------------------------------------------------- reading


def scoped_cameras(principal: Principal, permission: str = READ) -> Select[Any]:
    stmt: Any = select(Camera, Asset).join(Asset, Asset.id == Camera.asset_id)
    return scoped(stmt, principal, Asset, permission)


def list_cameras(
    db: Session,
    principal: Principal,
    *,
    group: str | None = None,
    unit_id: int | None = None,
    status: str | None = None,
    q: str | None = None,
    limit: int = 1000,
) -> list[tuple[Camera, Asset]]:
    stmt = scoped_cameras(principal)
    if group and group not in GROUPS:
        raise BadRequest(f"Nhóm camera không hợp lệ: {group}", f"Unknown camera group: {group}")
    if status:
        stmt = stmt.where(Asset.status == status)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Asset.name.ilike(like), Asset.code.ilike(like)))
    if unit_id is not None:
        unit = db.get(Unit, unit_id)
        if unit is None:
            raise BadRequest("Đơn vị không tồn tại", "Unit does not exist")
        stmt = stmt.where(Asset.unit_id.in_(select(Unit.id).where(Unit.path.startswith(unit.path))))
    rows = list(db.execute(stmt.order_by(Asset.code).limit(max(1, min(limit, 5000)))).tuples())
    if group:  # a JSON list: filtered here, the same way on SQLite and PostgreSQL
        rows = [(c, a) for c, a in rows if group in (c.groups or [])]
    return rows


def get_camera(
    db: Session, principal: Principal, camera_id: int, permission: str = READ
) -> tuple[Camera, Asset]:
    """The camera if the caller may see it (else 404, whether or not it exists); with a permission other
    than `cameras.read`, also that one over the camera's unit and domain (else 403)."""
    row = db.execute(scoped_cameras(principal).where(Camera.id == camera_id)).tuples().first()
    if row is None:
        raise NotFound("Không tìm thấy camera", "Camera not found")
    camera, asset = row
    if permission != READ:
        principal.require(permission, unit_path_of(db, asset.unit_id), asset.domain)
    return camera, asset


def camera_summary(camera: Camera, asset: Asset, health: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the API shows of a camera: never its credentials, only whether it has some."""
    state = asset.last_state or {}
    return {
        "id": camera.id,
        "asset_id": asset.id,
        "code": asset.code,
        "name": asset.name,
        "unit_id": asset.unit_id,
        "domain": asset.domain,
        "lat": asset.lat,
        "lon": asset.lon,
        "status": asset.status,
        "last_seen_at": asset.last_seen_at.isoformat() if asset.last_seen_at else None,
        "source_kind": camera.source_kind,
        "substream_url": camera.substream_url,
        "main_url": camera.main_url,
        "has_credentials": camera.has_credentials,
        "detect_fps": camera.detect_fps,
        "direction_deg": camera.direction_deg,
        "fov_deg": camera.fov_deg,
        "range_m": camera.range_m,
        "groups": list(camera.groups or []),
        "enabled": camera.enabled,
        "health": health
        or {
            "status": asset.status,
            "fps": state.get("fps"),
            "last_frame_at": state.get("last_frame_at"),
            "error": state.get("camera_error"),
            "source": "database",
        },
    }


def cameras_geojson(rows: list[tuple[Camera, Asset]]) -> dict[str, Any]:
    feats = []
    for camera, asset in rows:
        props = {
            "id": camera.id,
            "code": asset.code,
            "name": asset.name,
            "status": asset.status,
            "groups": camera.groups,
            "direction_deg": camera.direction_deg,
            "fov_deg": camera.fov_deg,
            "range_m": camera.range_m,
        }
        feats.append(feature({"type": "Point", "coordinates": [asset.lon, asset.lat]}, props, id=camera.id))
    return feature_collection(feats)


# ---------------------------------------------------------------------------------------------- changes


def _config_fields(
    body: CameraCreate | CameraUpdate, camera: Camera | None, settings: Settings
) -> dict[str, Any]:
    fields = body.model_dump(
        exclude_unset=True, exclude={"asset_id", "asset", "username", "password", "name"}
    )
    fields.pop("clear_credentials", None)
    kind = fields.get("source_kind") or (camera.source_kind if camera else None)
    assert kind is not None
    sub = fields.get("substream_url", camera.substream_url if camera else None)
    if sub is None:
        raise BadRequest("Thiếu substream_url", "substream_url is missing")
    fields["substream_url"] = check_url(kind, sub, settings, "substream_url")
    main = fields.get("main_url", camera.main_url if camera else "")
    fields["main_url"] = check_url(kind, main, settings, "main_url") if main else ""
    if "groups" in fields:
        fields["groups"] = sorted(set(fields["groups"] or []), key=GROUPS.index)
    return fields


def _audit_view(camera: Camera, asset: Asset) -> dict[str, Any]:
    out = camera_summary(camera, asset)
    out.pop("health")
    return out


def create_camera(
    db: Session, principal: Principal, body: CameraCreate, vault: Vault, settings: Settings
) -> tuple[Camera, Asset]:
    if (body.asset_id is None) == (body.asset is None):
        raise BadRequest("Cần đúng một trong asset_id hoặc asset", "Give exactly one of asset_id or asset")
    fields = _config_fields(body, None, settings)
    if body.asset is not None:
        path = unit_path_of(db, body.asset.unit_id)
        if path is None:
            raise BadRequest("Đơn vị không tồn tại", "Unit does not exist")
        principal.require(WRITE, path, body.asset.domain)
        asset = create_asset(db, principal, type="camera", status="offline", **body.asset.model_dump())
    else:
        asset_id = body.asset_id
        found = db.scalar(scoped(select(Asset).where(Asset.id == asset_id), principal, Asset, READ))
        if found is None:
            raise NotFound("Không tìm thấy tài sản", "Asset not found")
        asset = found
        principal.require(WRITE, unit_path_of(db, asset.unit_id), asset.domain)
        if asset.type != "camera":
            raise BadRequest("Tài sản không phải là camera", "The asset is not a camera")
        if db.scalar(select(Camera.id).where(Camera.asset_id == asset.id)) is not None:
            raise Conflict("Camera này đã có cấu hình", "This camera is already registered")
        if body.name:
            update_asset(db, principal, asset, name=body.name)
    camera = Camera(
        asset_id=asset.id,
        username_enc=vault.seal(body.username),
        password_enc=vault.seal(body.password),
        **fields,
    )
    db.add(camera)
    db.flush()
    _changed(db, principal, "created", camera, asset, {"after": _audit_view(camera, asset)})
    return camera, asset


def update_camera(
    db: Session,
    principal: Principal,
    camera: Camera,
    asset: Asset,
    body: CameraUpdate,
    vault: Vault,
    settings: Settings,
) -> None:
    before = _audit_view(camera, asset)
    for key, value in _config_fields(body, camera, settings).items():
        setattr(camera, key, value)
    if body.clear_credentials:
        camera.username_enc = camera.password_enc = None
    if body.username is not None:
        camera.username_enc = vault.seal(body.username)
    if body.password is not None:
        camera.password_enc = vault.seal(body.password)
    if body.name:
        update_asset(db, principal, asset, name=body.name)
    camera.updated_at = utcnow()
    db.flush()
    delta = audit.diff(before, _audit_view(camera, asset))
    if body.username is not None or body.password is not None:
        delta["credentials"] = ["***", "***"]  # that they changed, never what they are
    if delta:
        _changed(db, principal, "updated", camera, asset, delta)


def delete_camera(db: Session, principal: Principal, camera: Camera, asset: Asset) -> None:
    """Remove the camera's configuration and zones; the asset stays (its history refers to it)."""
    _changed(db, principal, "deleted", camera, asset, {"before": _audit_view(camera, asset)})
    for zone in db.scalars(select(CameraZone).where(CameraZone.camera_id == camera.id)):
        db.delete(zone)
    db.delete(camera)
    db.flush()


def _changed(
    db: Session, principal: Principal | None, verb: str, camera: Camera, asset: Asset, changes: Any
) -> None:
    audit.record_by(
        db,
        principal,
        f"camera.{verb[:-1] if verb.endswith('ed') else verb}",
        entity_type="camera",
        entity_id=camera.id,
        unit_id=asset.unit_id,
        changes=changes,
    )
    words = {
        "created": ("Thêm camera", "Camera added"),
        "updated": ("Cập nhật camera", "Camera updated"),
        "deleted": ("Gỡ camera", "Camera removed"),
    }[verb]
    outbox.emit(
        db,
        f"{SUBJECT}.camera.{verb}",
        {
            "camera_id": camera.id,
            "asset_id": asset.id,
            "asset_code": asset.code,
            "title_vi": f"{words[0]}: {asset.name}",
            "title_en": f"{words[1]}: {asset.name}",
            "severity": "low",
        },
        unit_id=asset.unit_id,
        domain=asset.domain,
    )


# ---------------------------------------------------------------------------------------------- zones


def _check_zone(
    kind: str, points: list[Any], direction: str | None, purposes: list[str]
) -> list[list[float]]:
    pts = geometry.check_points(kind, points)
    if kind == "line" and direction is None:
        raise BadRequest(
            "Vạch cần hướng: a_to_b, b_to_a hoặc both", "A line needs a direction: a_to_b, b_to_a or both"
        )
    if kind != "line" and direction is not None:
        raise BadRequest("Chỉ vạch mới có hướng", "Only lines have a direction")
    unknown = [p for p in purposes if p not in PURPOSES]
    if unknown:
        raise BadRequest(
            f"Mục đích không hợp lệ: {', '.join(unknown)}", f"Unknown purposes: {', '.join(unknown)}"
        )
    return pts


def list_zones(db: Session, camera: Camera) -> list[CameraZone]:
    return list(
        db.scalars(select(CameraZone).where(CameraZone.camera_id == camera.id).order_by(CameraZone.id))
    )


def get_zone(db: Session, camera: Camera, zone_id: int) -> CameraZone:
    zone = db.scalar(select(CameraZone).where(CameraZone.id == zone_id, CameraZone.camera_id == camera.id))
    if zone is None:
        raise NotFound("Không tìm thấy vùng", "Zone not found")
    return zone


def create_zone(db: Session, principal: Principal, camera: Camera, asset: Asset, body: ZoneIn) -> CameraZone:
    points = _check_zone(body.kind, body.points, body.direction, body.purposes)
    zone = CameraZone(
        camera_id=camera.id,
        kind=body.kind,
        name=body.name.strip(),
        points=points,
        direction=body.direction,
        purposes=sorted(set(body.purposes), key=PURPOSES.index),
        schedule=geometry.check_schedule(body.schedule),
        enabled=body.enabled,
    )
    db.add(zone)
    db.flush()
    _zone_changed(db, principal, "created", zone, asset, {"after": zone.summary()})
    return zone


def update_zone(db: Session, principal: Principal, zone: CameraZone, asset: Asset, body: ZoneUpdate) -> None:
    before = zone.summary()
    changes = body.model_dump(exclude_unset=True)
    merged = {**before, **changes}
    points = _check_zone(zone.kind, merged["points"], merged["direction"], merged["purposes"] or [])
    zone.points = points
    zone.direction = merged["direction"]
    zone.purposes = sorted(set(merged["purposes"] or []), key=PURPOSES.index)
    if "schedule" in changes:
        zone.schedule = geometry.check_schedule(changes["schedule"])
    if changes.get("name"):
        zone.name = changes["name"].strip()
    if changes.get("enabled") is not None:
        zone.enabled = bool(changes["enabled"])
    zone.updated_at = utcnow()
    db.flush()
    delta = audit.diff(before, zone.summary())
    if delta:
        _zone_changed(db, principal, "updated", zone, asset, delta)


def delete_zone(db: Session, principal: Principal, zone: CameraZone, asset: Asset) -> None:
    _zone_changed(db, principal, "deleted", zone, asset, {"before": zone.summary()})
    db.delete(zone)
    db.flush()


def _zone_changed(
    db: Session, principal: Principal, verb: str, zone: CameraZone, asset: Asset, changes: Any
) -> None:
    audit.record_by(
        db,
        principal,
        f"camera_zone.{verb[:-1] if verb.endswith('ed') else verb}",
        entity_type="camera_zone",
        entity_id=zone.id,
        unit_id=asset.unit_id,
        changes=changes,
    )
    outbox.emit(
        db,
        f"{SUBJECT}.zone.{verb}",
        {"zone_id": zone.id, "camera_id": zone.camera_id, "asset_code": asset.code, "kind": zone.kind},
        unit_id=asset.unit_id,
        domain=asset.domain,
    )


# ---------------------------------------------------------------------------------------------- views


def record_view(
    db: Session, principal: Principal, camera: Camera, asset: Asset, kind: str, *, blurred: bool = False
) -> None:
    """Footage is personal data (Nghị định 13/2023/NĐ-CP): who looked at which camera, when, how, and whether
    they saw it raw or with faces and plates blurred."""
    audit.record_by(
        db,
        principal,
        "camera.view",
        entity_type="camera",
        entity_id=camera.id,
        unit_id=asset.unit_id,
        changes={"kind": kind, "asset_code": asset.code, "raw": not blurred},
    )


# ---------------------------------------------------------------------------------------------- health


def set_health(db: Session, camera_id: int, status: str, state: dict[str, Any], *, reason: str = "") -> bool:
    """Record a camera's health on its asset; on a change to online or offline, a
    `toancanh.core.device.<status>` event (what the warning center's device rules listen to). Returns
    whether the status changed. Assets under maintenance or retired keep their status."""
    row = (
        db.execute(
            select(Camera, Asset).join(Asset, Asset.id == Camera.asset_id).where(Camera.id == camera_id)
        )
        .tuples()
        .first()
    )
    if row is None:
        return False
    _, asset = row
    asset.last_state = {**(asset.last_state or {}), **state}
    if state.get("last_frame_at"):
        asset.last_seen_at = utcnow()
    if asset.status == status or asset.status in ("maintenance", "retired"):
        return False
    asset.status = status
    if status == "online":
        title = (f"Camera hoạt động trở lại: {asset.name}", f"Camera back online: {asset.name}")
    else:
        title = (f"Camera mất tín hiệu: {asset.name}", f"Camera offline: {asset.name}")
    outbox.emit(
        db,
        f"toancanh.core.device.{status}",
        {
            "asset_id": asset.id,
            "asset_code": asset.code,
            "camera_id": camera_id,
            "device_type": "camera",
            "lat": asset.lat,
            "lon": asset.lon,
            "title_vi": title[0],
            "title_en": title[1],
            "severity": "minor" if status == "online" else "moderate",
            "reason": reason,
            "at": utcnow().isoformat(),
        },
        unit_id=asset.unit_id,
        domain=asset.domain,
    )
    return True
