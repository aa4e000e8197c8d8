"""HTTP plumbing of the NGSI-LD API: media types, @context from headers or body, replies, the session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import orjson
from fastapi import Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from toancanh.core.api.deps import current_principal, principal_in_own_session
from toancanh.core.auth.scope import Principal
from toancanh.core.errors import Forbidden, Unauthorized
from toancanh.modules.ngsild import context
from toancanh.modules.ngsild.context import Context
from toancanh.modules.ngsild.errors import NgsiError, bad_data, invalid

JSON = "application/json"
LD = "application/ld+json"
GEO = "application/geo+json"
MERGE_PATCH = "application/merge-patch+json"
PREFIX = "/ngsi-ld/v1"
T = TypeVar("T")


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def read_body(request: Request, *, array: bool = False) -> tuple[Any, Context]:
    """The JSON body and its context: from the body for application/ld+json, else from the Link header."""
    ctype = content_type(request)
    if ctype not in (JSON, LD, MERGE_PATCH):
        raise NgsiError("UnsupportedMediaType", f"Content-Type {ctype or '(none)'} is not {JSON} or {LD}")
    raw = await request.body()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid("the body is not valid JSON") from None
    if array:
        if not isinstance(data, list):
            raise bad_data("the body must be a JSON array")
        return data, context.from_link(request.headers.get("link")) if ctype != LD else context.DEFAULT
    if not isinstance(data, dict):
        raise bad_data("the body must be a JSON object")
    return data, body_context(data, ctype, request)


def body_context(data: dict[str, Any], ctype: str, request: Request) -> Context:
    if ctype == LD:
        if "@context" not in data:
            raise bad_data("an application/ld+json body must carry @context")
        return context.from_value(data["@context"])
    if "@context" in data:
        raise bad_data("@context in the body needs Content-Type application/ld+json")
    return context.from_link(request.headers.get("link"))


def link_context_default() -> Context:
    return context.DEFAULT


def link_context(request: Request) -> Context:
    return context.from_link(request.headers.get("link"))


def accepted(request: Request, allowed: tuple[str, ...] = (JSON, LD)) -> str:
    """The media type of the reply, from the Accept header; NotAcceptable when none can be served."""
    header = request.headers.get("accept", "")
    if not header.strip():
        return JSON
    choices: list[tuple[float, int, str]] = []
    for n, part in enumerate(header.split(",")):
        bits = [b.strip() for b in part.split(";")]
        media, q = bits[0].lower(), 1.0
        for b in bits[1:]:
            if b.startswith("q="):
                try:
                    q = float(b[2:])
                except ValueError:
                    q = 0.0
        choices.append((-q, n, media))
    for negq, _, media in sorted(choices):
        if negq == 0:
            continue
        if media in allowed:
            return media
        if media in ("*/*", "application/*"):
            return JSON
    raise NgsiError("NotAcceptable", f"this resource is served as {', '.join(allowed)}")


def reply(
    payload: Any, ctx: Context, media: str, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    headers = dict(headers or {})
    if media == LD:
        ctx_value = ctx.body_value()
        if isinstance(payload, list):
            payload = [{**p, "@context": ctx_value} for p in payload]
        elif isinstance(payload, dict):
            payload = {**payload, "@context": ctx_value}
    else:
        headers["Link"] = context.link_header(ctx)
    return Response(orjson.dumps(payload), status_code=status, media_type=media, headers=headers)


def no_content() -> Response:
    return Response(status_code=204)


def location(eid: str, collection: str = "entities") -> str:
    return f"{PREFIX}/{collection}/{quote(eid, safe=':')}"


def principal_of(request: Request, db: Session) -> Principal:
    try:
        return current_principal(request, db)
    except Unauthorized as exc:
        raise NgsiError("Unauthorized", exc.message_en) from None


async def run(request: Request, work: Callable[[Session, Principal], T]) -> T:
    """Run `work` in one transaction on a worker thread, with the caller authenticated. A GET reads in a
    read-only session: on SQLite a long query over many entities must not hold the write lock against every
    writer (the lease keeper, ingestion, other requests) for its whole length."""
    database = request.app.state.db
    reading = request.method in ("GET", "HEAD")

    def call() -> T:
        try:
            if reading:
                principal = principal_in_own_session(request)
                with database.read_session() as db:
                    return work(db, principal)
            with database.session() as db:
                return work(db, principal_of(request, db))
        except Unauthorized as exc:
            raise NgsiError("Unauthorized", exc.message_en) from None
        except Forbidden as exc:
            raise NgsiError("Forbidden", exc.message_en) from None

    return await run_in_threadpool(call)


def options(request: Request) -> set[str]:
    opts = {o.strip() for o in request.query_params.get("options", "").split(",") if o.strip()}
    fmt = request.query_params.get("format", "")
    if fmt:
        opts.add(fmt)
    return opts


def key_values(opts: set[str]) -> bool:
    return bool(opts & {"keyValues", "simplified"})


def int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise bad_data(f"{name} must be an integer") from None


def list_param(request: Request, name: str) -> list[str] | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    items = [x.strip() for x in raw.replace("|", ",").split(",") if x.strip()]
    if not items:
        raise bad_data(f"{name} is empty")
    return items
