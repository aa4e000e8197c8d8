"""The NGSI-LD context information API (ETSI GS CIM 009) at /ngsi-ld/v1: entities and their attributes."""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from toancanh.core.auth.scope import Principal
from toancanh.modules.ngsild import context, geoquery, http, qlang, service
from toancanh.modules.ngsild.context import Context
from toancanh.modules.ngsild.errors import bad_data, not_found
from toancanh.modules.ngsild.representation import (
    compact_entity,
    expand_attributes,
    expand_entity,
    expand_instance,
    is_uri,
    now_iso,
)

router = APIRouter(prefix=http.PREFIX, tags=["ngsi-ld"])
contexts_router = APIRouter(prefix="/ngsi-ld", tags=["ngsi-ld"])


def _check_id(eid: str) -> None:
    if not is_uri(eid):
        raise bad_data(f"{eid!r} is not a URI")


def render(
    view: service.EntityView, ctx: Context, opts: set[str], pick: set[str] | None = None
) -> dict[str, Any]:
    return compact_entity(
        view.id,
        view.types,
        view.attrs,
        ctx,
        key_values=http.key_values(opts),
        sys_attrs="sysAttrs" in opts,
        pick=pick,
        created=view.created,
        modified=view.modified,
    )


def _pick(request: Request, ctx: Context) -> set[str] | None:
    names = http.list_param(request, "attrs") or http.list_param(request, "pick")
    return {ctx.expand(n) for n in names} if names else None


def _geojson(views: list[dict[str, Any]], geometry_name: str) -> dict[str, Any]:
    feats = []
    for v in views:
        geo = v.get(geometry_name)
        value = geo.get("value") if isinstance(geo, dict) and "type" in geo and "value" in geo else geo
        props = {k: x for k, x in v.items() if k != "id"}
        feats.append({"id": v["id"], "type": "Feature", "geometry": value, "properties": props})
    return {"type": "FeatureCollection", "features": feats}


# ------------------------------------------------------------------------------------------------ entities


@router.post("/entities", status_code=201, response_class=Response)
async def create_entity(request: Request) -> Response:
    """Create an entity (201 with its Location; 409 AlreadyExists when the id is taken)."""
    data, ctx = await http.read_body(request)
    eid, types, attrs = expand_entity(data, ctx)

    def work(db: Session, p: Principal) -> None:
        service.create_entity(db, p, request.app.state, eid, types, attrs)

    await http.run(request, work)
    return Response(status_code=201, headers={"Location": http.location(eid)})


@router.get("/entities", response_class=Response)
async def query_entities(request: Request) -> Response:
    """Query entities by type, id, idPattern, attrs, q and geo-query; count=true: NGSILD-Results-Count."""
    media = http.accepted(request, (http.JSON, http.LD, http.GEO))
    ctx = http.link_context(request)
    qp = request.query_params
    types = http.list_param(request, "type")
    ids = http.list_param(request, "id")
    if ids is not None:
        for eid in ids:
            _check_id(eid)
    pattern = None
    if qp.get("idPattern"):
        try:
            pattern = re.compile(qp["idPattern"])
        except re.error:
            raise bad_data("idPattern is not a valid regular expression") from None
    attrs = _pick(request, ctx)
    q = qlang.parse(qp["q"]) if "q" in qp else None
    geo = geoquery.parse(
        qp.get("georel"),
        qp.get("geometry"),
        qp.get("coordinates"),
        ctx.expand(qp.get("geoproperty") or "location"),
    )
    if types is None and ids is None and pattern is None and attrs is None and q is None and geo is None:
        raise bad_data("give at least one of type, id, idPattern, attrs, q or a geo-query")
    query = service.Query(
        types=[ctx.expand(t) for t in types] if types is not None else None,
        ids=ids,
        id_pattern=pattern,
        attrs=attrs,
        q=q,
        geo=geo,
        expand=ctx.expand,
        limit=http.int_param(request, "limit", 20),
        offset=http.int_param(request, "offset", 0),
        count=qp.get("count") == "true",
    )
    opts = http.options(request)

    def work(db: Session, p: Principal) -> tuple[list[dict[str, Any]], int | None]:
        views, total = service.query_entities(db, p, query)
        return [render(v, ctx, opts, attrs) for v in views], total

    out, total = await http.run(request, work)
    headers = {"NGSILD-Results-Count": str(total)} if total is not None else {}
    if media == http.GEO:
        name = ctx.compact(ctx.expand(qp.get("geometryProperty") or "location"))
        return http.reply(_geojson(out, name), ctx, http.GEO, headers=headers)
    return http.reply(out, ctx, media, headers=headers)


@router.get("/entities/{entity_id}", response_class=Response)
async def get_entity(entity_id: str, request: Request) -> Response:
    """One entity (404 ResourceNotFound when it does not exist or lies outside the caller's scope)."""
    _check_id(entity_id)
    media = http.accepted(request, (http.JSON, http.LD, http.GEO))
    ctx = http.link_context(request)
    pick = _pick(request, ctx)
    opts = http.options(request)

    def work(db: Session, p: Principal) -> dict[str, Any]:
        return render(service.get_entity(db, p, entity_id), ctx, opts, pick)

    out = await http.run(request, work)
    if media == http.GEO:
        name = ctx.compact(ctx.expand(request.query_params.get("geometryProperty") or "location"))
        feature = _geojson([out], name)["features"][0]
        return http.reply(feature, ctx, http.GEO)
    return http.reply(out, ctx, media)


@router.put("/entities/{entity_id}", status_code=204, response_class=Response)
async def replace_entity(entity_id: str, request: Request) -> Response:
    """Replace an entity: its type and every attribute."""
    _check_id(entity_id)
    data, ctx = await http.read_body(request)
    if data.get("id", entity_id) != entity_id:
        raise bad_data("the id in the body differs from the one in the path")
    _, types, attrs = expand_entity({**data, "id": entity_id}, ctx)

    def work(db: Session, p: Principal) -> None:
        service.replace_entity(db, p, entity_id, types, attrs)

    await http.run(request, work)
    return http.no_content()


@router.delete("/entities/{entity_id}", status_code=204, response_class=Response)
async def delete_entity(entity_id: str, request: Request) -> Response:
    _check_id(entity_id)
    await http.run(request, lambda db, p: service.delete_entity(db, p, entity_id))
    return http.no_content()


# ------------------------------------------------------------------------------------------------ attributes


def _fragment(data: dict[str, Any], ctx: Context) -> dict[str, Any]:
    body = {k: v for k, v in data.items() if k not in ("@context", "id", "type")}
    if not body:
        raise bad_data("no attribute to change")
    return expand_attributes(body, ctx)


def _update_result(ctx: Context, updated: list[str], skipped: list[tuple[str, str]]) -> Response:
    if not skipped:
        return http.no_content()
    body = {
        "updated": [ctx.compact(n) for n in updated],
        "notUpdated": [{"attributeName": ctx.compact(n), "reason": r} for n, r in skipped],
    }
    return http.reply(body, ctx, http.JSON, status=207)


@router.post("/entities/{entity_id}/attrs", status_code=204, response_class=Response)
async def append_attrs(entity_id: str, request: Request) -> Response:
    """Append attributes (replacing those of the same name, unless options=noOverwrite): 204, or 207."""
    _check_id(entity_id)
    data, ctx = await http.read_body(request)
    fragment = _fragment(data, ctx)
    overwrite = "noOverwrite" not in http.options(request)

    def work(db: Session, p: Principal) -> tuple[list[str], list[tuple[str, str]]]:
        return service.update_attrs(db, p, entity_id, fragment, append=True, overwrite=overwrite)

    return _update_result(ctx, *await http.run(request, work))


@router.patch("/entities/{entity_id}/attrs", status_code=204, response_class=Response)
async def update_attrs(entity_id: str, request: Request) -> Response:
    """Update existing attributes: 204 when all were, 207 with notUpdated for those that do not exist."""
    _check_id(entity_id)
    data, ctx = await http.read_body(request)
    fragment = _fragment(data, ctx)

    def work(db: Session, p: Principal) -> tuple[list[str], list[tuple[str, str]]]:
        return service.update_attrs(db, p, entity_id, fragment, append=False)

    return _update_result(ctx, *await http.run(request, work))


@router.patch("/entities/{entity_id}/attrs/{attr}", status_code=204, response_class=Response)
async def patch_attr(entity_id: str, attr: str, request: Request) -> Response:
    """Partial update of one attribute: the members sent replace those stored (404 if it does not exist)."""
    _check_id(entity_id)
    data, ctx = await http.read_body(request)
    iri = ctx.expand(attr)
    body = {k: v for k, v in data.items() if k != "@context"}
    if not body:
        raise bad_data("nothing to change")
    stamp = now_iso()

    def merge(current: dict[str, Any]) -> dict[str, Any]:
        merged = {**current, **{k: v for k, v in body.items()}}
        if "type" not in body:
            merged["type"] = current["type"]
        if "value" in body and "object" in merged and merged["type"] == "Property":
            merged.pop("object")
        new = expand_instance(iri, merged, ctx, stamp)
        new["createdAt"] = current.get("createdAt", stamp)
        return new

    def work(db: Session, p: Principal) -> None:
        service.patch_attr(db, p, entity_id, iri, merge, body.get("datasetId"))

    await http.run(request, work)
    return http.no_content()


@router.delete("/entities/{entity_id}/attrs/{attr}", status_code=204, response_class=Response)
async def delete_attr(entity_id: str, attr: str, request: Request) -> Response:
    _check_id(entity_id)
    ctx = http.link_context(request)
    iri = ctx.expand(attr)
    dataset_id = request.query_params.get("datasetId")
    delete_all = request.query_params.get("deleteAll") == "true"
    await http.run(request, lambda db, p: service.delete_attr(db, p, entity_id, iri, dataset_id, delete_all))
    return http.no_content()


# ------------------------------------------------------------------------------------------------ contexts


@contexts_router.get("/contexts/{name}", response_class=Response)
def shipped_context(name: str) -> Response:
    """The @context documents this broker ships (the NGSI-LD core context and Toàn Cảnh's terms)."""
    for url in (*context.CORE_URLS, context.TOANCANH_URL):
        if url.rsplit("/", 1)[-1] == name:
            doc = context.shipped_document(url)
            if doc is not None:
                return Response(orjson.dumps(doc), media_type=http.LD)
    raise not_found(f"no context {name}")
