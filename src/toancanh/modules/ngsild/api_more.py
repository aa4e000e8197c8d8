"""NGSI-LD subscriptions (/subscriptions) and the temporal API (/temporal/entities)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from toancanh.core.auth.scope import Principal
from toancanh.modules.ngsild import http, service, subscriptions, temporal
from toancanh.modules.ngsild.context import Context
from toancanh.modules.ngsild.errors import NgsiError, bad_data
from toancanh.modules.ngsild.representation import compact_instance, is_uri

router = APIRouter(prefix=http.PREFIX, tags=["ngsi-ld"])


def _check_id(value: str) -> None:
    if not is_uri(value):
        raise bad_data(f"{value!r} is not a URI")


# ---------------------------------------------------------------------------------------------- subscriptions


@router.post("/subscriptions", status_code=201, response_class=Response)
async def create_subscription(request: Request) -> Response:
    """Subscribe to entity changes: 201 with the subscription's Location."""
    data, ctx = await http.read_body(request)

    def work(db: Session, p: Principal) -> str:
        return subscriptions.create(db, p, data, ctx).sub_id

    sub_id = await http.run(request, work)
    return Response(status_code=201, headers={"Location": http.location(sub_id, "subscriptions")})


@router.get("/subscriptions", response_class=Response)
async def list_subscriptions(request: Request) -> Response:
    """The caller's subscriptions (every one for an admin)."""
    media = http.accepted(request)
    limit = http.int_param(request, "limit", 20)
    offset = http.int_param(request, "offset", 0)
    if limit < 0 or offset < 0:
        raise bad_data("limit and offset must not be negative")
    if limit > service.MAX_LIMIT:
        raise NgsiError("TooManyResults", f"limit may not exceed {service.MAX_LIMIT}")

    def work(db: Session, p: Principal) -> tuple[list[dict[str, Any]], int]:
        rows, total = subscriptions.listing(db, p, limit, offset)
        return [subscriptions.render(r)[0] for r in rows], total

    out, total = await http.run(request, work)
    headers = {"NGSILD-Results-Count": str(total)} if request.query_params.get("count") == "true" else {}
    return http.reply(out, http.link_context(request), media, headers=headers)


@router.get("/subscriptions/{sub_id}", response_class=Response)
async def get_subscription(sub_id: str, request: Request) -> Response:
    _check_id(sub_id)
    media = http.accepted(request)

    def work(db: Session, p: Principal) -> tuple[dict[str, Any], Context]:
        return subscriptions.render(subscriptions.get(db, p, sub_id))

    body, ctx = await http.run(request, work)
    return http.reply(body, ctx, media)


@router.patch("/subscriptions/{sub_id}", status_code=204, response_class=Response)
async def update_subscription(sub_id: str, request: Request) -> Response:
    _check_id(sub_id)
    data, ctx = await http.read_body(request)
    await http.run(request, lambda db, p: subscriptions.update(db, p, sub_id, data, ctx))
    return http.no_content()


@router.delete("/subscriptions/{sub_id}", status_code=204, response_class=Response)
async def delete_subscription(sub_id: str, request: Request) -> Response:
    _check_id(sub_id)
    await http.run(request, lambda db, p: subscriptions.delete(db, p, sub_id))
    return http.no_content()


# ------------------------------------------------------------------------------------------------ temporal


def _temporal_params(request: Request, ctx: Context) -> tuple[temporal.TimeFilter, set[str] | None, bool]:
    qp = request.query_params
    f = temporal.time_filter(qp.get("timerel"), qp.get("timeAt"), qp.get("endTimeAt"), qp.get("lastN"))
    names = http.list_param(request, "attrs")
    pick = {ctx.expand(n) for n in names} if names else None
    opts = http.options(request)
    return f, pick, bool(opts & {"temporalValues", "simplified", "keyValues"})


def _render_temporal(
    eid: str, types: list[str], attrs: dict[str, list[dict[str, Any]]], ctx: Context, simple: bool
) -> dict[str, Any]:
    ctypes = [ctx.compact(t) for t in types]
    out: dict[str, Any] = {"id": eid, "type": ctypes[0] if len(ctypes) == 1 else ctypes}
    for iri, instances in attrs.items():
        if simple:
            out[ctx.compact(iri)] = temporal.temporal_values(instances)
        else:
            out[ctx.compact(iri)] = [compact_instance(i, ctx, False, False) for i in instances]
    return out


@router.get("/temporal/entities/{entity_id}", response_class=Response)
async def temporal_entity(entity_id: str, request: Request) -> Response:
    """How one entity's attributes evolved (timerel before/after/between, timeAt, endTimeAt, lastN)."""
    _check_id(entity_id)
    media = http.accepted(request)
    ctx = http.link_context(request)
    f, pick, simple = _temporal_params(request, ctx)

    def work(db: Session, p: Principal) -> dict[str, Any]:
        eid, types, attrs = temporal.evolution(db, p, entity_id, f, pick)
        return _render_temporal(eid, types, attrs, ctx, simple)

    return http.reply(await http.run(request, work), ctx, media)


@router.get("/temporal/entities", response_class=Response)
async def temporal_query(request: Request) -> Response:
    """The evolution of the entities a query selects (type, id, idPattern; timerel is required)."""
    media = http.accepted(request)
    ctx = http.link_context(request)
    qp = request.query_params
    if "timerel" not in qp:
        raise bad_data("a temporal query needs timerel")
    f, pick, simple = _temporal_params(request, ctx)
    types = http.list_param(request, "type")
    ids = http.list_param(request, "id")
    pattern = None
    if qp.get("idPattern"):
        try:
            pattern = re.compile(qp["idPattern"])
        except re.error:
            raise bad_data("idPattern is not a valid regular expression") from None
    if types is None and ids is None and pattern is None:
        raise bad_data("give at least one of type, id or idPattern")
    query = service.Query(
        types=[ctx.expand(t) for t in types] if types is not None else None,
        ids=ids,
        id_pattern=pattern,
        expand=ctx.expand,
        limit=http.int_param(request, "limit", 20),
        offset=http.int_param(request, "offset", 0),
    )

    def work(db: Session, p: Principal) -> list[dict[str, Any]]:
        views, _ = service.query_entities(db, p, query)
        out = []
        for v in views:
            eid, types_, attrs = temporal.evolution(db, p, v.id, f, pick)
            out.append(_render_temporal(eid, types_, attrs, ctx, simple))
        return out

    return http.reply(await http.run(request, work), ctx, media)
