"""NGSI-LD batch operations: /entityOperations/create, upsert, update and delete.

Each entity is done in a savepoint of its own, so one failure leaves the others done; the reply says which:
201 with the created ids, 204 when everything was done and nothing is to be told, or 207 with a
BatchOperationResult {"success": [ids], "errors": [{"entityId", "error": ProblemDetails}]}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from toancanh.core.auth.scope import Principal
from toancanh.core.errors import AppError
from toancanh.modules.ngsild import http, service
from toancanh.modules.ngsild.context import Context
from toancanh.modules.ngsild.errors import NgsiError, bad_data
from toancanh.modules.ngsild.representation import expand_entity, is_uri
from toancanh.modules.ngsild.schemas import BatchError, BatchOperationResult

router = APIRouter(prefix=http.PREFIX + "/entityOperations", tags=["ngsi-ld"])
MAX_BATCH = 1000


def _problem(exc: AppError) -> dict[str, Any]:
    if isinstance(exc, NgsiError):
        return exc.body()
    kind = {403: "Forbidden", 404: "ResourceNotFound", 409: "AlreadyExists"}.get(exc.status, "BadRequestData")
    return NgsiError(kind, exc.message_en).body()


async def _entities(request: Request) -> list[tuple[Any, Context]]:
    """The batch's items with each one's context (ld+json: every item carries its own @context)."""
    data, link_ctx = await http.read_body(request, array=True)
    if len(data) > MAX_BATCH:
        raise NgsiError("TooManyResults", f"a batch holds at most {MAX_BATCH} entities")
    ctype = http.content_type(request)
    out = []
    for item in data:
        if not isinstance(item, dict):
            out.append((item, link_ctx))
        elif ctype == http.LD:
            out.append((item, http.body_context(item, ctype, request)))
        else:
            if "@context" in item:
                raise bad_data("@context in the body needs Content-Type application/ld+json")
            out.append((item, link_ctx))
    return out


def _each(
    db: Session,
    items: list[tuple[str, Callable[[], bool]]],
) -> tuple[list[str], list[BatchError], list[str]]:
    """Run each item in a savepoint; returns (successes, errors, the ids of the entities created)."""
    success: list[str] = []
    errors: list[BatchError] = []
    created: list[str] = []
    for eid, work in items:
        try:
            with db.begin_nested():
                if work():
                    created.append(eid)
            success.append(eid)
        except AppError as exc:
            errors.append({"entityId": eid, "error": _problem(exc)})
    return success, errors, created


def _parsed(items: list[tuple[Any, Context]]) -> list[tuple[str, Any]]:
    """(id, parsed entity or the error it raised) for each item, in order."""
    out: list[tuple[str, Any]] = []
    for raw, ctx in items:
        eid = str(raw.get("id", "")) if isinstance(raw, dict) else ""
        try:
            out.append((eid, expand_entity(raw, ctx)))
        except NgsiError as exc:
            out.append((eid, exc))
    return out


def _fail(exc: NgsiError) -> Callable[[], bool]:
    def raise_it() -> bool:
        raise exc

    return raise_it


def _result(success: list[str], errors: list[BatchError]) -> Response:
    body: BatchOperationResult = {"success": success, "errors": errors}
    return http.reply(dict(body), http.link_context_default(), http.JSON, status=207)


@router.post("/create", response_class=Response)
async def batch_create(request: Request) -> Response:
    parsed = _parsed(await _entities(request))

    def work(db: Session, p: Principal) -> tuple[list[str], list[BatchError], list[str]]:
        p.require(service.WRITE)  # a caller who may write nothing is refused as a whole
        items: list[tuple[str, Callable[[], bool]]] = []
        seen: set[str] = set()
        for eid, ent in parsed:
            if isinstance(ent, NgsiError):
                items.append((eid, _fail(ent)))
                continue
            _, types, attrs = ent
            if eid in seen:
                items.append((eid, _fail(NgsiError("AlreadyExists", f"{eid} appears twice in the batch"))))
                continue
            seen.add(eid)

            def create(eid: str = eid, types: list[str] = types, attrs: dict[str, Any] = attrs) -> bool:
                service.create_entity(db, p, request.app.state, eid, types, attrs)
                return True

            items.append((eid, create))
        return _each(db, items)

    success, errors, _ = await http.run(request, work)
    if errors:
        return _result(success, errors)
    return http.reply(success, http.link_context_default(), http.JSON, status=201)


@router.post("/upsert", response_class=Response)
async def batch_upsert(request: Request) -> Response:
    """Create the entities that do not exist; replace (default) or update (options=update) the others."""
    parsed = _parsed(await _entities(request))
    update = "update" in http.options(request)

    def work(db: Session, p: Principal) -> tuple[list[str], list[BatchError], list[str]]:
        p.require(service.WRITE)  # a caller who may write nothing is refused as a whole
        items: list[tuple[str, Callable[[], bool]]] = []
        for eid, ent in parsed:
            if isinstance(ent, NgsiError):
                items.append((eid, _fail(ent)))
                continue
            _, types, attrs = ent

            def upsert(eid: str = eid, types: list[str] = types, attrs: dict[str, Any] = attrs) -> bool:
                if not service.stored_exists(db, eid):
                    service.create_entity(db, p, request.app.state, eid, types, attrs)
                    return True
                if update:
                    service.update_attrs(db, p, eid, attrs, append=True)
                else:
                    service.replace_entity(db, p, eid, types, attrs)
                return False

            items.append((eid, upsert))
        return _each(db, items)

    success, errors, created = await http.run(request, work)
    if errors:
        return _result(success, errors)
    if created:
        return http.reply(created, http.link_context_default(), http.JSON, status=201)
    return http.no_content()


@router.post("/update", response_class=Response)
async def batch_update(request: Request) -> Response:
    """Update the attributes of existing entities (options=noOverwrite keeps the existing ones)."""
    parsed = _parsed(await _entities(request))
    overwrite = "noOverwrite" not in http.options(request)

    def work(db: Session, p: Principal) -> tuple[list[str], list[BatchError], list[str]]:
        p.require(service.WRITE)  # a caller who may write nothing is refused as a whole
        items: list[tuple[str, Callable[[], bool]]] = []
        for eid, ent in parsed:
            if isinstance(ent, NgsiError):
                items.append((eid, _fail(ent)))
                continue
            _, _, attrs = ent

            def update(eid: str = eid, attrs: dict[str, Any] = attrs) -> bool:
                _, skipped = service.update_attrs(db, p, eid, attrs, append=True, overwrite=overwrite)
                if skipped and overwrite:
                    raise bad_data(", ".join(f"{n}: {r}" for n, r in skipped))
                return False

            items.append((eid, update))
        return _each(db, items)

    success, errors, _ = await http.run(request, work)
    return _result(success, errors) if errors else http.no_content()


@router.post("/delete", response_class=Response)
async def batch_delete(request: Request) -> Response:
    data, _ = await http.read_body(request, array=True)
    if len(data) > MAX_BATCH:
        raise NgsiError("TooManyResults", f"a batch holds at most {MAX_BATCH} entities")

    def work(db: Session, p: Principal) -> tuple[list[str], list[BatchError], list[str]]:
        p.require(service.WRITE)  # a caller who may write nothing is refused as a whole
        items: list[tuple[str, Callable[[], bool]]] = []
        for eid in data:
            if not is_uri(eid):
                items.append((str(eid), _fail(bad_data(f"{eid!r} is not a URI"))))
                continue

            def delete(eid: str = eid) -> bool:
                service.delete_entity(db, p, eid)
                return False

            items.append((eid, delete))
        return _each(db, items)

    success, errors, _ = await http.run(request, work)
    return _result(success, errors) if errors else http.no_content()
