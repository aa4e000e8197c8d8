"""Pages of press monitoring: `/media` (items with filters), `/media/items/{id}` (detail, label buttons),
`/media/sources`, `/media/rules` (watch rules and classifiers), `/media/digest` (the leaders' daily digest).
Forms post here with the page's CSRF token and redirect back; errors come back on the page, nothing
changed."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy import select

from toancanh.core.api.deps import SessionDep
from toancanh.core.api.schemas import DbId
from toancanh.core.assets import DOMAIN_LABELS, DOMAINS
from toancanh.core.auth.scope import Principal, scoped
from toancanh.core.errors import AppError
from toancanh.core.units import Unit
from toancanh.modules.media import digest, service
from toancanh.modules.media.schemas import LabelIn, SourceIn, TopicIn, TrainIn
from toancanh.modules.media.sentiment import LABEL_VI
from toancanh.web import render
from toancanh.web.pages import csrf_ok as _csrf_ok
from toancanh.web.pages import form_errors as _message
from toancanh.web.pages import locale_of, page_principal

router = APIRouter(prefix="/media")
SENTIMENT_EN = {"positive": "Positive", "neutral": "Neutral", "negative": "Negative"}
KIND_LABELS = {
    "rss": ("RSS/Atom", "RSS/Atom"),
    "page": ("Trang web", "Web page"),
    "social": ("Mạng xã hội", "Social"),
    "manual": ("Nhập tay", "Manual"),
}


def _ctx(request: Request, db: Any, principal: Principal, **extra: Any) -> dict[str, Any]:
    locale = locale_of(request)
    units = db.scalars(scoped(select(Unit), principal, Unit, "units.read").order_by(Unit.path)).all()
    return {
        "t": lambda vi, en: vi if locale == "vi" else en,
        "sentiment_label": LABEL_VI if locale == "vi" else SENTIMENT_EN,
        "kind_label": {k: (v[0] if locale == "vi" else v[1]) for k, v in KIND_LABELS.items()},
        "domains": [(d, DOMAIN_LABELS.get(d, (d, d))[0 if locale == "vi" else 1]) for d in DOMAINS],
        "units": units,
        "unit_name": {u.id: u.name for u in units},
        "can_write": principal.has(service.WRITE),
        "errors": [],
        **extra,
    }


@router.get("")
def items_page(
    request: Request,
    db: SessionDep,
    topic_id: DbId | None = None,
    unit_id: DbId | None = None,
    sentiment: Annotated[str | None, Query(pattern="^(positive|neutral|negative)$")] = None,
    source_id: DbId | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    try:
        items, total = service.list_items(
            db,
            principal,
            topic_id=topic_id,
            unit_id=unit_id,
            sentiment=sentiment,
            source_id=source_id,
            q=q or None,
            limit=50,
            offset=offset,
        )
    except AppError:
        items, total = [], 0
    topics = service.topics_of(db, [i.id for i in items])
    ctx = _ctx(
        request,
        db,
        principal,
        items=[service.item_summary(i, topics[i.id]) for i in items],
        points=[
            {
                "lat": i.lat,
                "lon": i.lon,
                "label": i.title,
                "href": f"/media/items/{i.id}",
                "kind": i.sentiment,
            }
            for i in items
            if i.lat is not None and i.lon is not None
        ],
        total=total,
        offset=offset,
        topics=service.list_topics(db, principal),
        sources=service.list_sources(db, principal),
        spikes=service.list_spikes(db, principal, limit=5),
        filters={
            "topic_id": topic_id,
            "unit_id": unit_id,
            "sentiment": sentiment,
            "source_id": source_id,
            "q": q or "",
        },
    )
    return render(request, "media/items.html", ctx)


@router.get("/items/{item_id}")
def item_page(request: Request, db: SessionDep, item_id: DbId, error: str = "") -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    try:
        item = service.get_item(db, principal, item_id)
    except AppError:
        return render(request, "error.html", {"title": "404"}, 404)
    labelled = service.scoped_items(principal).where(service.MediaItem.label_category.is_not(None))
    categories = sorted({i.label_category or "" for i in db.scalars(labelled.limit(500))} - {""})
    upath = db.scalar(select(Unit.path).where(Unit.id == item.unit_id))
    ctx = _ctx(
        request,
        db,
        principal,
        item=service.item_summary(item, service.topics_of(db, [item.id])[item.id], full=True),
        categories=categories,
        can_label=principal.can(service.WRITE, upath, item.domain),
    )
    return render(request, "media/item.html", ctx)


@router.post("/items/{item_id}/label")
def label_form(
    request: Request,
    db: SessionDep,
    item_id: DbId,
    csrf: Annotated[str, Form(max_length=100)] = "",
    sentiment: Annotated[str, Form(max_length=16)] = "",
    category: Annotated[str, Form(max_length=64)] = "",
) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    if not _csrf_ok(request, csrf):
        return render(request, "error.html", {"title": "403"}, 403)
    try:
        item = service.get_item(db, principal, item_id, service.WRITE)
        body = LabelIn(sentiment=sentiment or None, category=category.strip() or None)  # type: ignore[arg-type]
        service.label_item(db, principal, item, body)
    except (AppError, ValidationError) as exc:
        db.rollback()
        code = getattr(exc, "status", 400)
        return render(
            request, "error.html", {"title": str(code), "errors": _message(exc, locale_of(request))}, code
        )
    return RedirectResponse(f"/media/items/{item_id}", status_code=303)


@router.get("/sources")
def sources_page(request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    ctx = _ctx(
        request,
        db,
        principal,
        sources=[service.source_summary(s) for s in service.list_sources(db, principal)],
    )
    return render(request, "media/sources.html", ctx)


@router.post("/sources")
def sources_form(
    request: Request,
    db: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=16)] = "rss",
    url: Annotated[str, Form(max_length=1000)] = "",
    unit_id: Annotated[str, Form(max_length=20)] = "",
    domain: Annotated[str, Form(max_length=32)] = "",
    rules: Annotated[str, Form(max_length=20_000)] = "",
    poll_minutes: Annotated[str, Form(max_length=6)] = "30",
) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    if not _csrf_ok(request, csrf):
        return render(request, "error.html", {"title": "403"}, 403)
    import orjson

    try:
        parsed_rules = orjson.loads(rules) if rules.strip() else {}
        body = SourceIn(
            name=name,
            kind=kind,
            url=url,
            unit_id=int(unit_id or 0),
            domain=domain or None,  # type: ignore[arg-type]
            rules=parsed_rules,
            poll_minutes=int(poll_minutes or 30),
        )
        service.create_source(db, principal, body)
    except (AppError, ValidationError, ValueError, orjson.JSONDecodeError) as exc:
        db.rollback()
        errs = (
            _message(exc, locale_of(request)) if isinstance(exc, AppError | ValidationError) else [str(exc)]
        )
        ctx = _ctx(
            request,
            db,
            principal,
            sources=[service.source_summary(s) for s in service.list_sources(db, principal)],
        )
        ctx["errors"] = errs
        return render(request, "media/sources.html", ctx, 400)
    return RedirectResponse("/media/sources", status_code=303)


@router.get("/rules")
def rules_page(request: Request, db: SessionDep) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    ctx = _ctx(
        request,
        db,
        principal,
        topics=[service.topic_summary(t) for t in service.list_topics(db, principal)],
        classifiers=[service.classifier_summary(c) for c in service.list_classifiers(db, principal)],
        form={},
    )
    return render(request, "media/rules.html", ctx)


@router.post("/rules")
def rules_form(
    request: Request,
    db: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    code: Annotated[str, Form(max_length=64)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    expression: Annotated[str, Form(max_length=2000)] = "",
    unit_id: Annotated[str, Form(max_length=20)] = "",
    domain: Annotated[str, Form(max_length=32)] = "",
    exact: Annotated[str, Form(max_length=4)] = "",
) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    if not _csrf_ok(request, csrf):
        return render(request, "error.html", {"title": "403"}, 403)
    try:
        body = TopicIn(
            code=code,
            name=name,
            expression=expression,
            unit_id=int(unit_id or 0),
            domain=domain or None,
            diacritic_insensitive=not exact,
        )
        service.create_topic(db, principal, body)
    except (AppError, ValidationError, ValueError) as exc:
        db.rollback()
        errs = (
            _message(exc, locale_of(request)) if isinstance(exc, AppError | ValidationError) else [str(exc)]
        )
        ctx = _ctx(
            request,
            db,
            principal,
            topics=[service.topic_summary(t) for t in service.list_topics(db, principal)],
            classifiers=[service.classifier_summary(c) for c in service.list_classifiers(db, principal)],
            form={"code": code, "name": name, "expression": expression},
        )
        ctx["errors"] = errs
        return render(request, "media/rules.html", ctx, 400)
    return RedirectResponse("/media/rules", status_code=303)


@router.post("/train")
def train_form(
    request: Request,
    db: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    kind: Annotated[str, Form(max_length=16)] = "category",
    unit_id: Annotated[str, Form(max_length=20)] = "",
) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    if not _csrf_ok(request, csrf):
        return render(request, "error.html", {"title": "403"}, 403)
    try:
        body = TrainIn(kind=kind, unit_id=int(unit_id or 0))  # type: ignore[arg-type]
        service.train(db, principal, body.kind, body.unit_id, request.app.state)
    except (AppError, ValidationError, ValueError) as exc:
        db.rollback()
        errs = (
            _message(exc, locale_of(request)) if isinstance(exc, AppError | ValidationError) else [str(exc)]
        )
        ctx = _ctx(
            request,
            db,
            principal,
            topics=[service.topic_summary(t) for t in service.list_topics(db, principal)],
            classifiers=[service.classifier_summary(c) for c in service.list_classifiers(db, principal)],
            form={},
        )
        ctx["errors"] = errs
        return render(request, "media/rules.html", ctx, 400)
    return RedirectResponse("/media/rules", status_code=303)


@router.get("/digest")
def digest_page(
    request: Request, db: SessionDep, day: date | None = None, unit_id: DbId | None = None
) -> Any:
    principal = page_principal(request, db, service.READ)
    if isinstance(principal, Response):
        return principal
    try:
        data = digest.build(db, principal, day, unit_id)
    except AppError:
        data = digest.build(db, principal, day, None)
    return render(request, "media/digest.html", _ctx(request, db, principal, digest=data))
