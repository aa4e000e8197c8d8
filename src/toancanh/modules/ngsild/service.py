"""The NGSI-LD context broker's entities: create, read, update, delete and query, scoped by unit.

Stored entities live in `ngsild_entities`; the IOC's assets join them read-only (assets_view). Every entity
belongs to a unit: the most specific unit holding its location that the caller may write, or else the unit
of the caller's grant. Its domain comes from its type (TrafficFlowObserved: traffic ...) or from a `domain`
property. Reads and writes go through core.auth.scope like every other record of the IOC; an entity outside
the caller's scope does not exist for them (ResourceNotFound).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.orm import Session

from toancanh.core import outbox
from toancanh.core.assets import DOMAINS, Asset
from toancanh.core.auth.scope import Principal, scoped, unit_path_of
from toancanh.core.units import Unit, unit_index
from toancanh.modules.ngsild import assets_view, qlang
from toancanh.modules.ngsild.errors import NgsiError, bad_data, not_found
from toancanh.modules.ngsild.geoquery import GeoQuery, bounds_of
from toancanh.modules.ngsild.models import NgsiAttributeHistory, NgsiEntity
from toancanh.modules.ngsild.representation import LOCATION, iso

READ = "ngsild.read"
WRITE = "ngsild.write"
MAX_LIMIT = 1000
LARGE_DEG = 0.1  # entities wider or taller than this (degrees) are searched apart from the small ones
DOMAIN_ATTR = "https://toancanh.vn/ngsi-ld/domain"
_SDM = "https://smartdatamodels.org/"
TYPE_DOMAINS = {
    _SDM + "dataModel.WasteManagement/WasteContainer": "environment",
    _SDM + "dataModel.Environment/AirQualityObserved": "environment",
    _SDM + "dataModel.Environment/WaterQualityObserved": "environment",
    _SDM + "dataModel.Environment/NoiseLevelObserved": "environment",
    _SDM + "dataModel.Transportation/TrafficFlowObserved": "traffic",
    _SDM + "dataModel.IssueTracking/ServiceRequest": "urban",
}
SUBJECT = "toancanh.ngsild.entity."


@dataclass
class EntityView:
    """An entity as the API renders it, stored or read through from an asset."""

    id: str
    types: list[str]
    attrs: dict[str, Any]
    created: str
    modified: str
    stored: bool = True


@dataclass
class Query:
    types: list[str] | None = None
    ids: list[str] | None = None
    id_pattern: re.Pattern[str] | None = None
    attrs: set[str] | None = None
    q: qlang.Node | None = None
    geo: GeoQuery | None = None
    expand: Callable[[str], str] = str
    limit: int = 20
    offset: int = 0
    count: bool = False

    @property
    def python_only(self) -> bool:
        """True when some filter runs in Python, so the database cannot page alone."""
        return bool(self.id_pattern or self.attrs or self.q or self.geo)


def view_of(row: NgsiEntity) -> EntityView:
    return EntityView(row.entity_id, list(row.types), row.attrs, iso(row.created_at), iso(row.updated_at))


# ------------------------------------------------------------------------------------------------ scope


def _domain_of(types: list[str], attrs: dict[str, Any]) -> str | None:
    explicit = attrs.get(DOMAIN_ATTR)
    if isinstance(explicit, dict) and explicit.get("value") in DOMAINS:
        return str(explicit["value"])
    for t in types:
        if t in TYPE_DOMAINS:
            return TYPE_DOMAINS[t]
    return None


def _bbox(attrs: dict[str, Any]) -> tuple[float, float, float, float] | None:
    loc = attrs.get(LOCATION)
    if isinstance(loc, list):
        loc = loc[0] if loc else None
    if not isinstance(loc, dict):
        return None
    return bounds_of(loc.get("value"))


def _unit_for(
    db: Session,
    principal: Principal,
    holder: Any,
    bbox: tuple[float, float, float, float] | None,
    domain: str | None,
) -> int:
    """The unit a new entity belongs to (see the module docstring); Forbidden if the caller may write none."""
    if bbox is not None:
        lat, lon = (bbox[1] + bbox[3]) / 2, (bbox[0] + bbox[2]) / 2
        located = unit_index(db, holder).locate(lat, lon)
        for uid in located:
            path = unit_path_of(db, uid)
            if path is not None and principal.can(WRITE, path, domain):
                return int(uid)
        if located:
            raise NgsiError("Forbidden", "the entity's location lies outside the units you may write")
    for grant in principal.grants_for(WRITE):
        if grant.domains is not None and (domain is None or domain not in grant.domains):
            continue
        if grant.unit_path == "/":
            uid = db.scalar(select(Unit.id).order_by(Unit.level, Unit.id).limit(1))
        else:
            uid = db.scalar(select(Unit.id).where(Unit.path == grant.unit_path))
        if uid is not None:
            return int(uid)
    raise NgsiError("Forbidden", "you may not create entities of this domain in any unit")


def _require_write(db: Session, principal: Principal, row: NgsiEntity) -> None:
    path = unit_path_of(db, row.unit_id)
    if not principal.can(WRITE, path, row.domain):
        raise NgsiError("Forbidden", f"you may read {row.entity_id} but not change it")


def _stored_for_write(db: Session, principal: Principal, eid: str) -> NgsiEntity:
    principal.require(WRITE)
    row = db.scalar(
        scoped(select(NgsiEntity).where(NgsiEntity.entity_id == eid), principal, NgsiEntity, READ)
    )
    if row is None:
        if assets_view.get_asset(db, principal, eid) is not None:
            raise NgsiError(
                "OperationNotSupported", f"{eid} is an IOC asset, read-only here; change it in /api/v1/assets"
            )
        raise not_found(f"entity {eid} not found")
    _require_write(db, principal, row)
    return row


def _store(db: Session, row: NgsiEntity, attrs: dict[str, Any], event: str, changed: list[str]) -> None:
    row.attrs = attrs
    bbox = _bbox(attrs)
    row.min_lon, row.min_lat, row.max_lon, row.max_lat = bbox if bbox else (None, None, None, None)
    row.geo_large = bool(bbox and (bbox[2] - bbox[0] > LARGE_DEG or bbox[3] - bbox[1] > LARGE_DEG))
    new_domain = _domain_of(list(row.types), attrs)
    if new_domain != row.domain and event != "created":
        row.domain = new_domain
    db.flush()
    _history(db, row.id, attrs, changed)
    outbox.emit(
        db,
        SUBJECT + event,
        {"id": row.entity_id, "type": row.type, "attrs": changed},
        unit_id=row.unit_id,
        domain=row.domain,
    )


def _ms(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def _history(db: Session, entity_pk: int, attrs: dict[str, Any], changed: list[str]) -> None:
    """Append the new instances of the changed attributes to the history (the temporal API reads it)."""
    rows = []
    for iri in changed:
        for inst in _instances(attrs.get(iri)):
            stamp = inst.get("observedAt") or inst.get("modifiedAt")
            if not isinstance(stamp, str):
                continue
            rows.append({"entity_pk": entity_pk, "attr": iri, "ts": _ms(stamp), "instance": inst})
    if rows:
        db.execute(insert(NgsiAttributeHistory), rows)


# ------------------------------------------------------------------------------------------------ writes


def create_entity(
    db: Session, principal: Principal, holder: Any, eid: str, types: list[str], attrs: dict[str, Any]
) -> NgsiEntity:
    principal.require(WRITE)
    if db.scalar(select(NgsiEntity.id).where(NgsiEntity.entity_id == eid)) is not None or assets_view.exists(
        db, eid
    ):
        raise NgsiError("AlreadyExists", f"entity {eid} already exists")
    if assets_view.asset_id_of(eid) is not None:
        raise bad_data(
            f"{eid}: ids urn:ngsi-ld:Device:<n> and urn:ngsi-ld:WasteContainer:<n> name IOC assets"
        )
    domain = _domain_of(types, attrs)
    unit_id = _unit_for(db, principal, holder, _bbox(attrs), domain)
    row = NgsiEntity(
        entity_id=eid, type=types[0], types=types, multi_typed=len(types) > 1, domain=domain, unit_id=unit_id
    )
    db.add(row)
    _store(db, row, attrs, "created", list(attrs))
    return row


def replace_entity(
    db: Session, principal: Principal, eid: str, types: list[str], attrs: dict[str, Any]
) -> NgsiEntity:
    row = _stored_for_write(db, principal, eid)
    row.type, row.types, row.multi_typed = types[0], types, len(types) > 1
    _store(db, row, attrs, "updated", sorted(set(attrs) | set(row.attrs)))
    return row


def stored_exists(db: Session, eid: str) -> bool:
    return db.scalar(select(NgsiEntity.id).where(NgsiEntity.entity_id == eid)) is not None


def delete_entity(db: Session, principal: Principal, eid: str) -> None:
    row = _stored_for_write(db, principal, eid)
    outbox.emit(
        db,
        SUBJECT + "deleted",
        {"id": row.entity_id, "type": row.type, "attrs": list(row.attrs)},
        unit_id=row.unit_id,
        domain=row.domain,
    )
    db.delete(row)
    db.flush()


def _instances(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _pack(instances: list[dict[str, Any]]) -> Any:
    return instances[0] if len(instances) == 1 else instances


def _find(instances: list[dict[str, Any]], dataset_id: Any) -> int | None:
    for i, inst in enumerate(instances):
        if inst.get("datasetId") == dataset_id:
            return i
    return None


def update_attrs(
    db: Session,
    principal: Principal,
    eid: str,
    fragment: dict[str, Any],
    *,
    append: bool,
    overwrite: bool = True,
) -> tuple[list[str], list[tuple[str, str]]]:
    """PATCH .../attrs (append=False: only existing attributes) and POST .../attrs (append=True: add or
    replace, unless `overwrite` is False). Returns (updated names, [(not updated name, reason)])."""
    row = _stored_for_write(db, principal, eid)
    attrs = dict(row.attrs)
    updated: list[str] = []
    skipped: list[tuple[str, str]] = []
    for iri, value in fragment.items():
        current = _instances(attrs.get(iri))
        for new in _instances(value):
            i = _find(current, new.get("datasetId"))
            if i is None:
                if not append:
                    skipped.append((iri, "attribute (or datasetId) not found"))
                    continue
                current.append(new)
            elif not overwrite:
                skipped.append((iri, "attribute exists and noOverwrite was asked"))
                continue
            else:
                new = {**new, "createdAt": current[i].get("createdAt", new["createdAt"])}
                current[i] = new
            if iri not in updated:
                updated.append(iri)
        if current:
            attrs[iri] = _pack(current)
    if updated:
        _store(db, row, attrs, "updated", updated)
    return updated, skipped


def patch_attr(
    db: Session,
    principal: Principal,
    eid: str,
    iri: str,
    merge: Callable[[dict[str, Any]], dict[str, Any]],
    dataset_id: Any,
) -> None:
    """PATCH .../attrs/{attrId}: `merge` turns the current instance into the new one."""
    row = _stored_for_write(db, principal, eid)
    current = _instances(row.attrs.get(iri))
    i = _find(current, dataset_id)
    if i is None:
        raise not_found(f"attribute not found in {eid}")
    current[i] = merge(current[i])
    _store(db, row, {**row.attrs, iri: _pack(current)}, "updated", [iri])


def delete_attr(
    db: Session, principal: Principal, eid: str, iri: str, dataset_id: Any, delete_all: bool
) -> None:
    row = _stored_for_write(db, principal, eid)
    current = _instances(row.attrs.get(iri))
    if not current:
        raise not_found(f"attribute not found in {eid}")
    if delete_all:
        current = []
    else:
        i = _find(current, dataset_id)
        if i is None:
            raise not_found(f"attribute instance (datasetId {dataset_id}) not found in {eid}")
        current.pop(i)
    attrs = dict(row.attrs)
    if current:
        attrs[iri] = _pack(current)
    else:
        attrs.pop(iri)
    _store(db, row, attrs, "updated", [iri])


# ------------------------------------------------------------------------------------------------ reads


def get_entity(db: Session, principal: Principal, eid: str) -> EntityView:
    principal.require(READ)
    row = db.scalar(
        scoped(select(NgsiEntity).where(NgsiEntity.entity_id == eid), principal, NgsiEntity, READ)
    )
    if row is not None:
        return view_of(row)
    asset = assets_view.get_asset(db, principal, eid)
    if asset is None:
        raise not_found(f"entity {eid} not found")
    return _asset_view(asset, assets_view.readings(db, [asset.id])[asset.id])


def stored_row(db: Session, principal: Principal, eid: str) -> NgsiEntity | None:
    """The stored entity `eid` if the caller may read it."""
    principal.require(READ)
    return db.scalar(
        scoped(select(NgsiEntity).where(NgsiEntity.entity_id == eid), principal, NgsiEntity, READ)
    )


def _asset_view(asset: Asset, reads: list[Any]) -> EntityView:
    eid, types, attrs = assets_view.to_entity(asset, reads)
    return EntityView(eid, types, attrs, iso(asset.created_at), iso(asset.updated_at), stored=False)


def _stored_select(principal: Principal, query: Query) -> Any:
    stmt = scoped(select(NgsiEntity), principal, NgsiEntity, READ)
    if query.types is not None:
        stmt = stmt.where(or_(NgsiEntity.type.in_(query.types), NgsiEntity.multi_typed.is_(True)))
    if query.ids is not None:
        stmt = stmt.where(NgsiEntity.entity_id.in_(query.ids))
    box = query.geo.bbox() if query.geo is not None and query.geo.geoproperty == LOCATION else None
    if box is not None:
        minlon, minlat, maxlon, maxlat = box
        small = and_(
            NgsiEntity.min_lon.between(minlon - LARGE_DEG, maxlon),
            NgsiEntity.min_lat.between(minlat - LARGE_DEG, maxlat),
            NgsiEntity.max_lon >= minlon,
            NgsiEntity.max_lat >= minlat,
        )
        large = and_(
            NgsiEntity.geo_large.is_(True),
            NgsiEntity.min_lon <= maxlon,
            NgsiEntity.min_lat <= maxlat,
            NgsiEntity.max_lon >= minlon,
            NgsiEntity.max_lat >= minlat,
        )
        stmt = stmt.where(or_(small, large))
    return stmt


def _asset_bbox(query: Query) -> tuple[float, float, float, float] | None:
    if query.geo is not None and query.geo.geoproperty == LOCATION:
        return query.geo.bbox()
    return None


def _keep(view: EntityView, query: Query) -> bool:
    if query.types is not None and not set(view.types) & set(query.types):
        return False
    if query.id_pattern is not None and not query.id_pattern.search(view.id):
        return False
    if query.attrs and not query.attrs & set(view.attrs):
        return False
    if query.q is not None and not qlang.matches(query.q, view.attrs, query.expand):
        return False
    return query.geo is None or geo_matches(view, query.geo)


def geo_matches(view: EntityView, geo: GeoQuery) -> bool:
    prop = view.attrs.get(geo.geoproperty)
    return any(geo.test(p.get("value")) for p in _instances(prop) if p.get("type") == "GeoProperty")


def _stream(db: Session, principal: Principal, query: Query) -> Iterator[EntityView]:
    for row in db.scalars(
        _stored_select(principal, query).order_by(NgsiEntity.id).execution_options(yield_per=500)
    ):
        yield view_of(row)
    stmt = assets_view.select_assets(principal, types=query.types, ids=query.ids, bbox=_asset_bbox(query))
    if stmt is None:
        return
    batch: list[Asset] = []
    for asset in db.scalars(stmt):
        batch.append(asset)
        if len(batch) == 500:
            yield from _asset_views(db, batch)
            batch = []
    yield from _asset_views(db, batch)


def _asset_views(db: Session, assets: list[Asset]) -> Iterator[EntityView]:
    reads = assets_view.readings(db, [a.id for a in assets])
    for a in assets:
        yield _asset_view(a, reads[a.id])


def query_entities(db: Session, principal: Principal, query: Query) -> tuple[list[EntityView], int | None]:
    """The entities matching `query`, one page of them, and the total when `count` was asked."""
    principal.require(READ)
    if query.limit < 0 or query.offset < 0:
        raise bad_data("limit and offset must not be negative")
    if query.limit > MAX_LIMIT:
        raise NgsiError("TooManyResults", f"limit may not exceed {MAX_LIMIT}")
    multi = query.types is not None and db.scalar(
        select(NgsiEntity.id).where(NgsiEntity.multi_typed.is_(True)).limit(1)
    )
    if not query.python_only and not multi:
        return _page_in_database(db, principal, query)
    out: list[EntityView] = []
    total = 0
    end = query.offset + query.limit
    for view in _stream(db, principal, query):
        if not _keep(view, query):
            continue
        if query.offset <= total < end:
            out.append(view)
        total += 1
        if total >= end and not query.count:
            break
    return out, (total if query.count else None)


def _page_in_database(db: Session, principal: Principal, query: Query) -> tuple[list[EntityView], int | None]:
    """Stored entities first (by creation), then the assets (by id), paged by the database."""
    stored = _stored_select(principal, query)
    assets = assets_view.select_assets(principal, types=query.types, ids=query.ids, bbox=None)
    out: list[EntityView] = []
    if query.limit:
        rows = db.scalars(stored.order_by(NgsiEntity.id).offset(query.offset).limit(query.limit)).all()
        out = [view_of(r) for r in rows]
    n_stored: int | None = None
    if assets is not None and (query.count or len(out) < query.limit):
        n_stored = db.scalar(select(func.count()).select_from(stored.subquery())) or 0
        need = query.limit - len(out)
        if need > 0:
            page = db.scalars(assets.offset(max(0, query.offset - n_stored)).limit(need)).all()
            out += list(_asset_views(db, list(page)))
    if not query.count:
        return out, None
    if n_stored is None:
        n_stored = db.scalar(select(func.count()).select_from(stored.subquery())) or 0
    n_assets = 0
    if assets is not None:
        n_assets = db.scalar(select(func.count()).select_from(assets.order_by(None).subquery())) or 0
    return out, n_stored + n_assets
