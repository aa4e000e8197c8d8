"""The IOC's assets and sensors seen as NGSI-LD entities (read-through, read-only).

Each asset is `urn:ngsi-ld:Device:<asset id>` of Smart Data Models type Device, or
`urn:ngsi-ld:WasteContainer:<asset id>` for a waste point. Its attributes: `name`, `deviceCategory` (the asset
type), `domain`, `deviceState` (the status), `assetCode`, `location` (GeoProperty Point),
`dateLastValueReported`, and one Property per time series of the asset holding the last reading (`value`,
`observedAt`, `unitCode`). Nothing is copied: every read comes from core.assets and core.timeseries, scoped by
the caller's grants like every other asset read. Writes answer OperationNotSupported: assets are edited
through /api/v1/assets and readings arrive through ingestion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from toancanh.core.assets import Asset
from toancanh.core.auth.scope import Principal, scoped
from toancanh.core.timeseries import Sample, Series
from toancanh.modules.ngsild.context import DEFAULT
from toancanh.modules.ngsild.representation import LOCATION, iso

SDM = "https://smartdatamodels.org/"
DEVICE = SDM + "dataModel.Device/Device"
WASTE_CONTAINER = SDM + "dataModel.WasteManagement/WasteContainer"
TYPE_NAMES = {DEVICE: "Device", WASTE_CONTAINER: "WasteContainer"}
_ID = re.compile(r"^urn:ngsi-ld:(Device|WasteContainer):(\d{1,18})$")
READ = "ngsild.read"

NAME = "https://uri.etsi.org/ngsi-ld/name"
T = "https://toancanh.vn/ngsi-ld/"
A_CATEGORY = SDM + "dataModel.Device/deviceCategory"
A_STATE = SDM + "dataModel.Device/deviceState"
A_LAST = SDM + "dataModel.Device/dateLastValueReported"
A_CONTROLLED = SDM + "dataModel.Device/controlledProperty"


def entity_type(asset_type: str) -> str:
    return WASTE_CONTAINER if asset_type == "waste_point" else DEVICE


def entity_id(asset: Asset) -> str:
    return f"urn:ngsi-ld:{TYPE_NAMES[entity_type(asset.type)]}:{asset.id}"


def asset_id_of(eid: str) -> int | None:
    """The asset id behind an entity id of this view, or None."""
    m = _ID.match(eid)
    return int(m.group(2)) if m else None


def _type_condition(types: list[str]) -> ColumnElement[bool] | None:
    """The asset rows of the requested (expanded) types; None when no type of this view is asked."""
    conds: list[ColumnElement[bool]] = []
    if DEVICE in types:
        conds.append(Asset.type != "waste_point")
    if WASTE_CONTAINER in types:
        conds.append(Asset.type == "waste_point")
    if not conds:
        return None
    return or_(*conds)


def select_assets(
    principal: Principal,
    *,
    types: list[str] | None,
    ids: list[str] | None,
    bbox: tuple[float, float, float, float] | None,
) -> Select[Any] | None:
    """The scoped SELECT of the assets a query may return, or None when it can return none."""
    stmt = scoped(select(Asset), principal, Asset, READ)
    if types is not None:
        cond = _type_condition(types)
        if cond is None:
            return None
        stmt = stmt.where(cond)
    if ids is not None:
        wanted = []
        for eid in ids:
            m = _ID.match(eid)
            if m:
                wanted.append(int(m.group(2)))
        if not wanted:
            return None
        stmt = stmt.where(Asset.id.in_(wanted))
    if bbox is not None:
        minlon, minlat, maxlon, maxlat = bbox
        stmt = stmt.where(and_(Asset.lon.between(minlon, maxlon), Asset.lat.between(minlat, maxlat)))
    return stmt.order_by(Asset.id)


def get_asset(db: Session, principal: Principal, eid: str) -> Asset | None:
    aid = asset_id_of(eid)
    if aid is None:
        return None
    asset = db.scalar(scoped(select(Asset).where(Asset.id == aid), principal, Asset, READ))
    if asset is None or entity_id(asset) != eid:
        return None
    return asset


def exists(db: Session, eid: str) -> bool:
    aid = asset_id_of(eid)
    if aid is None:
        return False
    asset = db.get(Asset, aid)
    return asset is not None and entity_id(asset) == eid


def readings(db: Session, asset_ids: Iterable[int]) -> dict[int, list[tuple[Series, int, float]]]:
    """Each asset's series with their last sample (ms, value), in two queries."""
    ids = list(asset_ids)
    out: dict[int, list[tuple[Series, int, float]]] = {i: [] for i in ids}
    if not ids:
        return out
    series = list(db.scalars(select(Series).where(Series.asset_id.in_(ids)).order_by(Series.key)))
    if not series:
        return out
    last = (
        select(Sample.series_id, func.max(Sample.ts).label("ts"))
        .where(Sample.series_id.in_([s.id for s in series]))
        .group_by(Sample.series_id)
        .subquery()
    )
    rows = db.execute(
        select(Sample.series_id, Sample.ts, Sample.value).join(
            last, and_(Sample.series_id == last.c.series_id, Sample.ts == last.c.ts)
        )
    )
    latest = {int(sid): (int(ts), float(v)) for sid, ts, v in rows}
    for s in series:
        if s.id in latest and s.asset_id is not None:
            ts, v = latest[s.id]
            out[s.asset_id].append((s, ts, v))
    return out


def measure_name(asset: Asset, series: Series) -> str:
    """The attribute name of a series: its key without the asset code (`aq-01.pm25` -> `pm25`)."""
    key = series.key
    if key.startswith(asset.code + "."):
        key = key[len(asset.code) + 1 :]
    return re.sub(r"[^A-Za-z0-9_]", "_", key) or f"series_{series.id}"


def to_entity(asset: Asset, reads: list[tuple[Series, int, float]]) -> tuple[str, list[str], dict[str, Any]]:
    """(id, expanded types, expanded attributes) of an asset."""
    stamp = iso(asset.updated_at or asset.created_at)
    created = iso(asset.created_at)

    def prop(value: Any, **extra: Any) -> dict[str, Any]:
        return {"type": "Property", "value": value, **extra, "createdAt": created, "modifiedAt": stamp}

    attrs: dict[str, Any] = {
        NAME: prop(asset.name),
        A_CATEGORY: prop(asset.type),
        T + "domain": prop(asset.domain),
        A_STATE: prop(asset.status),
        T + "assetCode": prop(asset.code),
        LOCATION: {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [asset.lon, asset.lat]},
            "createdAt": created,
            "modifiedAt": stamp,
        },
    }
    if asset.last_seen_at is not None:
        attrs[A_LAST] = prop(iso(asset.last_seen_at))
    names = []
    for series, ts, value in reads:
        name = measure_name(asset, series)
        names.append(name)
        observed = iso(datetime.fromtimestamp(ts / 1000, UTC))
        extra: dict[str, Any] = {"observedAt": observed}
        if series.unit_of_measure:
            extra["unitCode"] = series.unit_of_measure
        attrs[DEFAULT.expand(name)] = prop(value, **extra)
    if names:
        attrs[A_CONTROLLED] = prop(names)
    return entity_id(asset), [entity_type(asset.type)], attrs
