"""The media API: `/api/v1/media/...` — items, sources, watch rules (topics), labels, classifiers, spikes,
the daily digest."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import Response

from toancanh.core.api.deps import CurrentPrincipal, DetachedPrincipal, SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.errors import BadRequest, PayloadTooLarge
from toancanh.modules.media import digest, extract, polling, service
from toancanh.modules.media.rules import compile_rule
from toancanh.modules.media.schemas import (
    ExtractTest,
    ItemIn,
    LabelIn,
    RuleCheck,
    SourceIn,
    SourceUpdate,
    TopicIn,
    TopicUpdate,
    TrainIn,
)

router = APIRouter(prefix="/api/v1/media", tags=["media"])
MAX_UPLOAD = extract.MAX_SOCIAL_BYTES


# ------------------------------------------------------------------------------------------ items


@router.get("/items")
def list_items(
    db: SessionDep,
    principal: CurrentPrincipal,
    topic_id: DbId | None = None,
    unit_id: DbId | None = None,
    sentiment: Literal["positive", "neutral", "negative"] | None = None,
    source_id: DbId | None = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    principal.require(service.READ)
    items, total = service.list_items(
        db,
        principal,
        topic_id=topic_id,
        unit_id=unit_id,
        sentiment=sentiment,
        source_id=source_id,
        category=category,
        q=q,
        since=since,
        limit=limit,
        offset=offset,
    )
    topics = service.topics_of(db, [i.id for i in items])
    return {"total": total, "items": [service.item_summary(i, topics[i.id]) for i in items]}


@router.post("/items", status_code=201)
def add_item(body: ItemIn, request: Request, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    out = service.add_manual(db, principal, body, request.app.state)
    item = out.new[0]
    return {
        **service.item_summary(item, service.topics_of(db, [item.id])[item.id], full=True),
        "spikes": out.spikes,
    }


@router.get("/items/{item_id}")
def get_item(item_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    item = service.get_item(db, principal, item_id)
    return service.item_summary(item, service.topics_of(db, [item.id])[item.id], full=True)


@router.post("/items/{item_id}/labels")
def label_item(item_id: DbId, body: LabelIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    item = service.get_item(db, principal, item_id, service.WRITE)
    service.label_item(db, principal, item, body)
    return service.item_summary(item, service.topics_of(db, [item.id])[item.id])


# ------------------------------------------------------------------------------------------ sources


@router.get("/sources")
def list_sources(db: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    principal.require(service.READ)
    return [service.source_summary(s) for s in service.list_sources(db, principal)]


@router.post("/sources", status_code=201)
def create_source(body: SourceIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return service.source_summary(service.create_source(db, principal, body))


@router.get("/sources/{source_id}")
def get_source(source_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return service.source_summary(service.get_source(db, principal, source_id))


@router.patch("/sources/{source_id}")
def update_source(
    source_id: DbId, body: SourceUpdate, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    s = service.get_source(db, principal, source_id, service.WRITE)
    return service.source_summary(service.update_source(db, principal, s, body))


@router.delete("/sources/{source_id}", status_code=204)
def delete_source(source_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> Response:
    service.delete_source(db, principal, service.get_source(db, principal, source_id, service.WRITE))
    return Response(status_code=204)


def _check_fetchable(request: Request, principal: Any, source_id: int) -> None:
    with request.app.state.db.read_session() as db:
        s = service.get_source(db, principal, source_id, service.WRITE)
        if s.kind not in ("rss", "page", "social") or not s.url:
            raise BadRequest("Nguồn này không có địa chỉ để tải", "This source has no URL to fetch")


@router.post("/sources/{source_id}/fetch")
async def fetch_now(source_id: DbId, request: Request, principal: DetachedPrincipal) -> dict[str, Any]:
    """Fetch the source now (politely: robots.txt, the host's rate limit, a conditional request)."""
    await asyncio.to_thread(_check_fetchable, request, principal, source_id)
    app = request.app
    return await polling.poll_source(app.state.db, app.state, polling.fetcher_of(app), source_id)


@router.post("/sources/{source_id}/import")
async def import_posts(
    source_id: DbId,
    request: Request,
    db: SessionDep,
    principal: CurrentPrincipal,
    file: Annotated[UploadFile, File()],
) -> dict[str, Any]:
    """Import exported social posts (JSON or CSV) into a social source, by its field mapping."""
    s = service.get_source(db, principal, source_id, service.WRITE)
    if s.kind != "social":
        raise BadRequest("Chỉ nguồn mạng xã hội nhận tệp nhập", "Only social sources take imported files")
    data = await file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise PayloadTooLarge("Tệp quá lớn", "The file is too large")
    parsed = extract.parse_social(data, file.filename or "", s.rules, str(s.id))
    out = service.ingest_stories(db, s, parsed.stories, holder=request.app.state, skipped=parsed.skipped)
    return out.summary()


@router.post("/extract/test")
def test_extraction(body: ExtractTest, principal: CurrentPrincipal) -> dict[str, Any]:
    """Try a page source's rules on some HTML before saving them."""
    principal.require(service.WRITE)
    parsed = extract.extract_page(body.html.encode("utf-8"), body.url, body.rules)
    return {
        "skipped": parsed.skipped,
        "stories": [
            {
                "url": s.url,
                "title": s.title,
                "text": s.text[:500],
                "author": s.author,
                "published_at": s.published_at.isoformat() if s.published_at else None,
            }
            for s in parsed.stories[:50]
        ],
    }


# ------------------------------------------------------------------------------------------ topics


@router.get("/topics")
def list_topics(db: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    principal.require(service.READ)
    return [service.topic_summary(t) for t in service.list_topics(db, principal)]


@router.post("/topics", status_code=201)
def create_topic(body: TopicIn, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return service.topic_summary(service.create_topic(db, principal, body))


@router.get("/topics/{topic_id}")
def get_topic(topic_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    return service.topic_summary(service.get_topic(db, principal, topic_id))


@router.patch("/topics/{topic_id}")
def update_topic(
    topic_id: DbId, body: TopicUpdate, db: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    t = service.get_topic(db, principal, topic_id, service.WRITE)
    return service.topic_summary(service.update_topic(db, principal, t, body))


@router.delete("/topics/{topic_id}", status_code=204)
def delete_topic(topic_id: DbId, db: SessionDep, principal: CurrentPrincipal) -> Response:
    service.delete_topic(db, principal, service.get_topic(db, principal, topic_id, service.WRITE))
    return Response(status_code=204)


@router.post("/rules/check")
def check_rule(body: RuleCheck, principal: CurrentPrincipal) -> dict[str, Any]:
    """Validate a watch rule (400 with the position of the mistake), and try it on a text."""
    principal.require(service.READ)
    rule = compile_rule(body.expression, diacritic_insensitive=body.diacritic_insensitive)
    out: dict[str, Any] = {
        "valid": True,
        "terms": [" ".join(t.words) + ("*" if t.prefix else "") for t in rule.terms()],
    }
    if body.text is not None:
        out["matches"] = rule.matches(body.text)
    return out


# ------------------------------------------------------------------------------------------ classifiers


@router.get("/classifiers")
def list_classifiers(db: SessionDep, principal: CurrentPrincipal) -> list[dict[str, Any]]:
    principal.require(service.READ)
    return [service.classifier_summary(c) for c in service.list_classifiers(db, principal)]


@router.post("/classifiers/train")
def train(body: TrainIn, request: Request, db: SessionDep, principal: CurrentPrincipal) -> dict[str, Any]:
    c, n = service.train(db, principal, body.kind, body.unit_id, request.app.state)
    return {**service.classifier_summary(c), "reclassified": n}


# ------------------------------------------------------------------------------------------ spikes, digest


@router.get("/spikes")
def list_spikes(
    db: SessionDep,
    principal: CurrentPrincipal,
    since: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    principal.require(service.READ)
    return service.list_spikes(db, principal, since, limit)


@router.get("/digest")
def get_digest(
    db: SessionDep, principal: CurrentPrincipal, day: date | None = None, unit_id: DbId | None = None
) -> dict[str, Any]:
    principal.require(service.READ)
    return digest.build(db, principal, day, unit_id)


@router.get("/digest.pdf")
def get_digest_pdf(
    db: SessionDep, principal: CurrentPrincipal, day: date | None = None, unit_id: DbId | None = None
) -> Response:
    principal.require(service.READ)
    data = digest.build(db, principal, day, unit_id)
    pdf = digest.to_pdf(data)
    name = f"ban-tin-bao-chi-{data['day']}.pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )
