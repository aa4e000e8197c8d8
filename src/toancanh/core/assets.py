"""Assets (tài sản, thiết bị): located things: cameras, sensors, schools, kitchens, waste points, hydrants."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from toancanh.core import audit, outbox
from toancanh.core.auth.scope import Principal, get_scoped, scoped
from toancanh.core.db import Base, IdMixin, TimestampMixin, UnitScopedMixin, utcnow
from toancanh.core.errors import BadRequest, Conflict
from toancanh.core.geo import feature, feature_collection
from toancanh.core.units import Unit

ASSET_TYPES = (
    "camera",
    "sensor",
    "school",
    "kitchen",
    "waste_point",
    "hydrant",
    "health_facility",
    "office",
    "tourism_site",
    "gateway",
    "server",
    "other",
)
ASSET_STATUSES = ("active", "online", "offline", "maintenance", "retired")
DOMAINS = (
    "security",
    "traffic",
    "environment",
    "education",
    "health",
    "administration",
    "urban",
    "utilities",
    "culture",
    "tourism",
    "land",
    "economy",
    "infosec",
)

# How each domain is called on pages: (Vietnamese, English).
DOMAIN_LABELS = {
    "security": ("An ninh trật tự", "Security"),
    "traffic": ("Giao thông", "Traffic"),
    "environment": ("Môi trường", "Environment"),
    "education": ("Giáo dục", "Education"),
    "health": ("Y tế", "Health"),
    "administration": ("Hành chính", "Administration"),
    "urban": ("Đô thị", "Urban"),
    "utilities": ("Hạ tầng, tiện ích", "Utilities"),
    "culture": ("Văn hóa", "Culture"),
    "tourism": ("Du lịch", "Tourism"),
    "land": ("Đất đai", "Land"),
    "economy": ("Kinh tế", "Economy"),
    "infosec": ("An toàn thông tin", "Information security"),
}


class Asset(IdMixin, TimestampMixin, UnitScopedMixin, Base):
    """A located thing (tài sản) with a type, a unit, a domain, attributes and a status."""

    __tablename__ = "assets"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(32), index=True)
    domain: Mapped[str] = mapped_column(String(32), index=True)
    name: Mapped[str] = mapped_column(String(200))
    lat: Mapped[float]
    lon: Mapped[float]
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="active")
    last_seen_at: Mapped[datetime | None]
    last_state: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "type": self.type,
            "domain": self.domain,
            "name": self.name,
            "unit_id": self.unit_id,
            "lat": self.lat,
            "lon": self.lon,
            "attributes": self.attributes,
            "status": self.status,
            "last_seen_at": self.last_seen_at.isoformat() if self.last_seen_at else None,
            "last_state": self.last_state,
        }

    def to_feature(self) -> dict[str, Any]:
        props = self.summary()
        props.pop("lat"), props.pop("lon")
        return feature({"type": "Point", "coordinates": [self.lon, self.lat]}, props, id=self.id)


def _check(type_: str, domain: str, status: str, lat: float, lon: float) -> None:
    if type_ not in ASSET_TYPES:
        raise BadRequest(f"Loại tài sản không hợp lệ: {type_}", f"Unknown asset type: {type_}")
    if domain not in DOMAINS:
        raise BadRequest(f"Lĩnh vực không hợp lệ: {domain}", f"Unknown domain: {domain}")
    if status not in ASSET_STATUSES:
        raise BadRequest(f"Trạng thái không hợp lệ: {status}", f"Unknown status: {status}")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadRequest("Tọa độ không hợp lệ", "Invalid coordinates")


def create_asset(db: Session, principal: Principal | None, **fields: Any) -> Asset:
    """Create an asset; the caller needs assets.write over its unit and domain."""
    fields.setdefault("status", "active")
    fields.setdefault("attributes", {})
    _check(fields["type"], fields["domain"], fields["status"], fields["lat"], fields["lon"])
    unit = db.get(Unit, fields["unit_id"])
    if unit is None:
        raise BadRequest("Đơn vị không tồn tại", "Unit does not exist")
    if principal is not None:
        principal.require("assets.write", unit.path, fields["domain"])
    if db.scalar(select(Asset.id).where(Asset.code == fields["code"])) is not None:
        raise Conflict("Mã tài sản đã tồn tại", "Asset code already exists")
    asset = Asset(**fields)
    db.add(asset)
    db.flush()
    audit.record_by(
        db,
        principal,
        "asset.create",
        entity_type="asset",
        entity_id=asset.id,
        unit_id=asset.unit_id,
        changes={"after": asset.summary()},
    )
    outbox.emit(
        db, "toancanh.core.asset.created", asset.summary(), unit_id=asset.unit_id, domain=asset.domain
    )
    return asset


def update_asset(db: Session, principal: Principal | None, asset: Asset, **changes: Any) -> Asset:
    before = asset.summary()
    merged = {**before, **changes}
    _check(merged["type"], merged["domain"], merged["status"], merged["lat"], merged["lon"])
    if principal is not None:
        path = db.scalar(select(Unit.path).where(Unit.id == merged["unit_id"]))
        if path is None:
            raise BadRequest("Đơn vị không tồn tại", "Unit does not exist")
        principal.require("assets.write", path, merged["domain"])
    for k, v in changes.items():
        setattr(asset, k, v)
    db.flush()
    delta = audit.diff(before, asset.summary())
    if delta:
        audit.record_by(
            db,
            principal,
            "asset.update",
            entity_type="asset",
            entity_id=asset.id,
            unit_id=asset.unit_id,
            changes=delta,
        )
        outbox.emit(
            db,
            "toancanh.core.asset.updated",
            {
                "id": asset.id,
                "code": asset.code,
                "changes": delta,
                "title_vi": f"Cập nhật {asset.name}: {', '.join(delta)}",
                "title_en": f"Updated {asset.name}: {', '.join(delta)}",
            },
            unit_id=asset.unit_id,
            domain=asset.domain,
        )
    return asset


def set_state(db: Session, asset: Asset, state: dict[str, Any], at: datetime | None = None) -> None:
    """Record a device's latest state (a reading, a heartbeat); does not audit, it is not a user change."""
    asset.last_state = {**(asset.last_state or {}), **state}
    asset.last_seen_at = at or utcnow()


def merge_states(db: Session, states: dict[int, tuple[datetime, dict[str, float]]]) -> list[int]:
    """Many devices' latest readings at once: each asset's state gets the values merged in and its
    `last_seen_at` set, unless it already holds newer data (late readings change nothing). Returns the ids of
    those assets that are marked offline, for the caller to bring back.

    One statement for the batch in the database itself (SQLite `json_patch`, PostgreSQL `jsonb ||` over
    `unnest`), without loading the rows: this is on the path of every reading.
    """
    if not states:
        return []
    conn = db.connection()
    ids = list(states)
    if conn.dialect.name == "postgresql":
        raw: Any = conn.connection.driver_connection
        ids.sort()
        with raw.cursor() as cur:
            # Row locks in id order: two batches over the same devices wait for each other, never deadlock.
            cur.execute("SELECT id FROM assets WHERE id = ANY(%s) ORDER BY id FOR UPDATE", (ids,))
            # One JSON document for the batch: psycopg dumps a text parameter far faster than arrays.
            batch = orjson.dumps([{"id": i, "state": states[i][1], "seen": states[i][0]} for i in ids])
            cur.execute(
                "UPDATE assets AS a SET last_state = ((CASE WHEN jsonb_typeof(a.last_state::jsonb) "
                "= 'object' THEN a.last_state::jsonb ELSE '{}' END) || v.state)::json, "
                "last_seen_at = v.seen "
                "FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, state jsonb, seen timestamptz) "
                "WHERE a.id = v.id AND (a.last_seen_at IS NULL OR a.last_seen_at <= v.seen)",
                (batch.decode(),),
            )
            cur.execute("SELECT id FROM assets WHERE id = ANY(%s) AND status = 'offline'", (ids,))
            return [int(r[0]) for r in cur.fetchall()]
    raw_sqlite: Any = conn.connection.driver_connection
    params = []
    for asset_id in ids:
        seen, values = states[asset_id]
        # The text SQLAlchemy stores for a UTC timestamp on SQLite, so that stored times compare as text.
        text = seen.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        params.append((orjson.dumps(values).decode(), text, asset_id, text))
    raw_sqlite.executemany(
        "UPDATE assets SET last_state = json_patch(coalesce(last_state, '{}'), ?), last_seen_at = ? "
        "WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at <= ?)",
        params,
    )
    offline = []
    for i in range(0, len(ids), 10_000):  # SQLite allows 32,766 parameters a statement
        chunk = ids[i : i + 10_000]
        marks = ",".join("?" * len(chunk))
        cur = raw_sqlite.execute(f"SELECT id FROM assets WHERE id IN ({marks}) AND status = 'offline'", chunk)
        offline += [int(r[0]) for r in cur.fetchall()]
    return offline


def list_assets(
    db: Session,
    principal: Principal,
    *,
    types: list[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    unit_id: int | None = None,
    domain: str | None = None,
    limit: int = 5000,
) -> list[Asset]:
    stmt = scoped(select(Asset), principal, Asset, "assets.read")
    if types:
        stmt = stmt.where(Asset.type.in_(types))
    if domain:
        stmt = stmt.where(Asset.domain == domain)
    if bbox:
        minlon, minlat, maxlon, maxlat = bbox
        stmt = stmt.where(Asset.lon.between(minlon, maxlon), Asset.lat.between(minlat, maxlat))
    if unit_id is not None:
        unit = db.get(Unit, unit_id)
        if unit is None:
            return []
        stmt = stmt.where(Asset.unit_id.in_(select(Unit.id).where(Unit.path.startswith(unit.path))))
    return list(db.scalars(stmt.order_by(Asset.id).limit(limit)))


def assets_geojson(assets: list[Asset]) -> dict[str, Any]:
    return feature_collection([a.to_feature() for a in assets])


def get_asset(db: Session, principal: Principal, asset_id: int) -> Asset:
    return get_scoped(db, principal, Asset, asset_id, "assets.read")
