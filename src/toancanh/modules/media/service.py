"""Press and social monitoring (giám sát báo chí, mạng xã hội): sources, items, watch rules, labels and
trained classifiers. Other modules use this file.

Who sees what: `media.read` over an item's (source's, topic's) unit and domain, through core's scope helper;
`media.write` there to add sources, rules, manual items and labels, and to train classifiers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from toancanh.core import audit
from toancanh.core.assets import DOMAINS
from toancanh.core.auth.scope import Principal, scoped, unit_path_of
from toancanh.core.db import utcnow
from toancanh.core.errors import BadRequest, Conflict, NotFound
from toancanh.core.units import Unit, get_unit
from toancanh.modules.media import classify, extract, pipeline, text
from toancanh.modules.media.feeds import Story
from toancanh.modules.media.models import (
    MediaClassifier,
    MediaItem,
    MediaItemTopic,
    MediaSource,
    MediaSpike,
    MediaTopic,
)
from toancanh.modules.media.rules import compile_rule
from toancanh.modules.media.schemas import ItemIn, LabelIn, SourceIn, SourceUpdate, TopicIn, TopicUpdate

READ, WRITE = "media.read", "media.write"
MAX_TRAINING_ITEMS = 20_000
RECLASSIFY_LIMIT = 5000


def _domain(value: str | None) -> str | None:
    if value is not None and value not in DOMAINS:
        raise BadRequest(f"Lĩnh vực không hợp lệ: {value}", f"Unknown domain: {value}")
    return value


def _require_write(db: Session, principal: Principal, unit_id: int, domain: str | None) -> Unit:
    unit = get_unit(db, unit_id)
    principal.require(WRITE, unit.path, domain)
    return unit


# ------------------------------------------------------------------------------------------ sources


def check_source(kind: str, url: str, rules: dict[str, Any]) -> dict[str, Any]:
    if kind in ("rss", "page") and not url.lower().startswith(("http://", "https://")):
        raise BadRequest(
            "Nguồn RSS/trang web cần địa chỉ http(s)", "An RSS or page source needs an http(s) URL"
        )
    if url and not url.lower().startswith(("http://", "https://")):
        raise BadRequest("Địa chỉ phải là http(s)", "The URL must be http(s)")
    if kind == "page":
        return extract.validate_page_rules(rules)
    if kind == "social":
        return extract.validate_social_rules(rules)
    if rules:
        raise BadRequest(
            "Nguồn RSS và nhập tay không có quy tắc trích xuất",
            "RSS and manual sources take no extraction rules",
        )
    return {}


def source_summary(s: MediaSource) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "kind": s.kind,
        "url": s.url,
        "unit_id": s.unit_id,
        "domain": s.domain,
        "rules": s.rules,
        "enabled": s.enabled,
        "poll_minutes": s.poll_minutes,
        "last_fetched_at": s.last_fetched_at.isoformat() if s.last_fetched_at else None,
        "last_status": s.last_status,
        "last_error": s.last_error,
        "items_total": s.items_total,
    }


def list_sources(db: Session, principal: Principal) -> list[MediaSource]:
    return list(
        db.scalars(scoped(select(MediaSource), principal, MediaSource, READ).order_by(MediaSource.id))
    )


def get_source(db: Session, principal: Principal, source_id: int, permission: str = READ) -> MediaSource:
    s = db.scalar(
        scoped(select(MediaSource), principal, MediaSource, READ).where(MediaSource.id == source_id)
    )
    if s is None:
        raise NotFound("Không tìm thấy nguồn tin", "Source not found")
    if permission != READ:
        principal.require(permission, unit_path_of(db, s.unit_id), s.domain)
    return s


def create_source(db: Session, principal: Principal, body: SourceIn) -> MediaSource:
    _domain(body.domain)
    _require_write(db, principal, body.unit_id, body.domain)
    rules = check_source(body.kind, body.url, body.rules)
    s = MediaSource(
        name=body.name.strip(),
        kind=body.kind,
        url=body.url.strip(),
        unit_id=body.unit_id,
        domain=body.domain,
        rules=rules,
        enabled=body.enabled,
        poll_minutes=body.poll_minutes,
        last_status="",
        last_error="",
        items_total=0,
    )
    db.add(s)
    db.flush()
    audit.record_by(
        db, principal, "media.source.create", entity_type="media_source", entity_id=s.id, unit_id=s.unit_id
    )
    return s


def update_source(db: Session, principal: Principal, s: MediaSource, body: SourceUpdate) -> MediaSource:
    data = body.model_dump(exclude_unset=True)
    if "domain" in data:
        _domain(data["domain"])
        principal.require(WRITE, unit_path_of(db, s.unit_id), data["domain"])
    url = data.get("url", s.url) or ""
    rules = data.get("rules", s.rules) or {}
    data["rules"] = check_source(s.kind, url, rules)
    if "url" in data and data["url"] != s.url:
        s.etag = s.last_modified = None  # another document: no conditional request
    for k, v in data.items():
        setattr(s, k, v)
    audit.record_by(
        db,
        principal,
        "media.source.update",
        entity_type="media_source",
        entity_id=s.id,
        unit_id=s.unit_id,
        changes={k: str(v)[:200] for k, v in data.items()},
    )
    return s


def delete_source(db: Session, principal: Principal, s: MediaSource) -> None:
    audit.record_by(
        db, principal, "media.source.delete", entity_type="media_source", entity_id=s.id, unit_id=s.unit_id
    )
    db.delete(s)


def ingest_stories(
    db: Session,
    source: MediaSource,
    stories: Sequence[Story],
    *,
    holder: Any,
    skipped: int = 0,
    now: datetime | None = None,
) -> pipeline.Ingested:
    out = pipeline.ingest(
        db,
        stories,
        unit_id=source.unit_id,
        domain=source.domain,
        source_id=source.id,
        source_kind=source.kind,
        holder=holder,
        now=now,
        skipped=skipped,
    )
    source.items_total = (source.items_total or 0) + len(out.new)
    return out


# ------------------------------------------------------------------------------------------ topics


def topic_summary(t: MediaTopic, items: int | None = None) -> dict[str, Any]:
    out = {
        "id": t.id,
        "code": t.code,
        "name": t.name,
        "expression": t.expression,
        "diacritic_insensitive": t.diacritic_insensitive,
        "unit_id": t.unit_id,
        "domain": t.domain,
        "enabled": t.enabled,
        "spike_min_count": t.spike_min_count,
    }
    if items is not None:
        out["items"] = items
    return out


def list_topics(db: Session, principal: Principal) -> list[MediaTopic]:
    return list(db.scalars(scoped(select(MediaTopic), principal, MediaTopic, READ).order_by(MediaTopic.code)))


def get_topic(db: Session, principal: Principal, topic_id: int, permission: str = READ) -> MediaTopic:
    t = db.scalar(scoped(select(MediaTopic), principal, MediaTopic, READ).where(MediaTopic.id == topic_id))
    if t is None:
        raise NotFound("Không tìm thấy chủ đề", "Topic not found")
    if permission != READ:
        principal.require(permission, unit_path_of(db, t.unit_id), t.domain)
    return t


def create_topic(db: Session, principal: Principal, body: TopicIn) -> MediaTopic:
    _domain(body.domain)
    _require_write(db, principal, body.unit_id, body.domain)
    compile_rule(body.expression, diacritic_insensitive=body.diacritic_insensitive)
    if db.scalar(select(MediaTopic.id).where(MediaTopic.code == body.code)) is not None:
        raise Conflict(f"Mã chủ đề '{body.code}' đã có", f"Topic code '{body.code}' already exists")
    t = MediaTopic(**body.model_dump())
    db.add(t)
    db.flush()
    audit.record_by(
        db, principal, "media.topic.create", entity_type="media_topic", entity_id=t.id, unit_id=t.unit_id
    )
    return t


def update_topic(db: Session, principal: Principal, t: MediaTopic, body: TopicUpdate) -> MediaTopic:
    data = body.model_dump(exclude_unset=True)
    if "domain" in data:
        _domain(data["domain"])
        principal.require(WRITE, unit_path_of(db, t.unit_id), data["domain"])
    compile_rule(
        data.get("expression", t.expression),
        diacritic_insensitive=data.get("diacritic_insensitive", t.diacritic_insensitive),
    )
    for k, v in data.items():
        setattr(t, k, v)
    audit.record_by(
        db,
        principal,
        "media.topic.update",
        entity_type="media_topic",
        entity_id=t.id,
        unit_id=t.unit_id,
        changes={k: str(v)[:200] for k, v in data.items()},
    )
    return t


def delete_topic(db: Session, principal: Principal, t: MediaTopic) -> None:
    db.execute(delete(MediaItemTopic).where(MediaItemTopic.topic_id == t.id))
    db.execute(delete(MediaSpike).where(MediaSpike.topic_id == t.id))
    audit.record_by(
        db, principal, "media.topic.delete", entity_type="media_topic", entity_id=t.id, unit_id=t.unit_id
    )
    db.delete(t)


# ------------------------------------------------------------------------------------------ items


def scoped_items(principal: Principal) -> Select[Any]:
    return scoped(select(MediaItem), principal, MediaItem, READ)


def list_items(
    db: Session,
    principal: Principal,
    *,
    topic_id: int | None = None,
    unit_id: int | None = None,
    sentiment: str | None = None,
    source_id: int | None = None,
    category: str | None = None,
    q: str | None = None,
    since: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[MediaItem], int]:
    stmt = scoped_items(principal)
    if topic_id is not None:
        stmt = stmt.where(
            MediaItem.id.in_(select(MediaItemTopic.item_id).where(MediaItemTopic.topic_id == topic_id))
        )
    if unit_id is not None:
        path = unit_path_of(db, unit_id)
        if path is None:
            raise BadRequest("Không có đơn vị này", "No such unit")
        stmt = stmt.where(MediaItem.unit_id.in_(select(Unit.id).where(Unit.path.startswith(path))))
    if sentiment is not None:
        stmt = stmt.where(MediaItem.sentiment == sentiment)
    if source_id is not None:
        stmt = stmt.where(MediaItem.source_id == source_id)
    if category is not None:
        stmt = stmt.where(MediaItem.category == category)
    if since is not None:
        stmt = stmt.where(MediaItem.ingested_at >= since)
    if q:
        # diacritic-less search on the title key (folded); the full text is for the watch rules
        stmt = stmt.where(MediaItem.title_key.contains(" ".join(text.syllables(q, folded=True))))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(
        stmt.order_by(MediaItem.ingested_at.desc(), MediaItem.id.desc()).limit(limit).offset(offset)
    )
    return list(rows), int(total)


def get_item(db: Session, principal: Principal, item_id: int, permission: str = READ) -> MediaItem:
    item = db.scalar(scoped_items(principal).where(MediaItem.id == item_id))
    if item is None:
        raise NotFound("Không tìm thấy tin", "Item not found")
    if permission != READ:
        principal.require(permission, unit_path_of(db, item.unit_id), item.domain)
    return item


def topics_of(db: Session, item_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {i: [] for i in item_ids}
    if not item_ids:
        return out
    rows = db.execute(
        select(MediaItemTopic.item_id, MediaTopic.id, MediaTopic.code, MediaTopic.name)
        .join(MediaTopic, MediaTopic.id == MediaItemTopic.topic_id)
        .where(MediaItemTopic.item_id.in_(list(item_ids)))
    ).all()
    for iid, tid, code, name in rows:
        out[iid].append({"id": tid, "code": code, "name": name})
    return out


def item_summary(
    item: MediaItem, topics: list[dict[str, Any]] | None = None, *, full: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": item.id,
        "title": item.title,
        "url": item.url,
        "source_id": item.source_id,
        "source_kind": item.source_kind,
        "unit_id": item.unit_id,
        "domain": item.domain,
        "author": item.author,
        "published_at": item.published_at.isoformat() if item.published_at else None,
        "ingested_at": item.ingested_at.isoformat(),
        "story_id": item.story_id,
        "repeat": item.story_id is not None and item.story_id != item.id,
        "lat": item.lat,
        "lon": item.lon,
        "places": item.places,
        "sentiment": {
            "label": item.sentiment,
            "score": item.sentiment_score,
            "confidence": item.sentiment_confidence,
            "method": item.sentiment_method,
        },
        "category": {"label": item.category, "confidence": item.category_confidence}
        if item.category
        else None,
        "labels": {"category": item.label_category, "sentiment": item.label_sentiment},
        "topics": topics or [],
    }
    if full:
        out["text"] = item.text
    else:
        out["excerpt"] = item.text[:300]
    return out


def add_manual(db: Session, principal: Principal, body: ItemIn, holder: Any) -> pipeline.Ingested:
    _domain(body.domain)
    unit = _require_write(db, principal, body.unit_id, body.domain)
    url = body.url.strip()
    if url and not url.lower().startswith(("http://", "https://")):
        raise BadRequest("Địa chỉ phải là http(s)", "The URL must be http(s)")
    if not url:
        import uuid

        url = f"manual:{uuid.uuid4().hex}"
    story = Story(
        url=url, title=body.title, text=body.text, author=body.author, published_at=body.published_at
    )
    out = pipeline.ingest(
        db, [story], unit_id=unit.id, domain=body.domain, source_id=None, source_kind="manual", holder=holder
    )
    if not out.new:
        raise Conflict("Tin với địa chỉ này đã có", "An item with this URL already exists")
    audit.record_by(
        db,
        principal,
        "media.item.create",
        entity_type="media_item",
        entity_id=out.new[0].id,
        unit_id=out.new[0].unit_id,
    )
    return out


def label_item(db: Session, principal: Principal, item: MediaItem, body: LabelIn) -> MediaItem:
    if body.clear:
        item.label_category = item.label_sentiment = None
    if body.category is not None:
        item.label_category = body.category.strip()
    if body.sentiment is not None:
        item.label_sentiment = body.sentiment
    if not body.clear and body.category is None and body.sentiment is None:
        raise BadRequest("Chưa chọn nhãn nào", "No label given")
    item.labelled_by = principal.user_id
    audit.record_by(
        db,
        principal,
        "media.item.label",
        entity_type="media_item",
        entity_id=item.id,
        unit_id=item.unit_id,
        changes={"category": item.label_category, "sentiment": item.label_sentiment},
    )
    return item


# ------------------------------------------------------------------------------------------ training


def classifier_summary(c: MediaClassifier) -> dict[str, Any]:
    return {
        "id": c.id,
        "kind": c.kind,
        "unit_id": c.unit_id,
        "trained_at": c.trained_at.isoformat(),
        "accuracy": round(c.accuracy, 4),
        "n_train": c.n_train,
        "n_test": c.n_test,
        "report": c.report,
        "classes": c.model.get("classes", []),
    }


def list_classifiers(db: Session, principal: Principal) -> list[MediaClassifier]:
    return list(
        db.scalars(
            scoped(select(MediaClassifier), principal, MediaClassifier, READ).order_by(MediaClassifier.id)
        )
    )


def train(
    db: Session, principal: Principal, kind: str, unit_id: int, holder: Any
) -> tuple[MediaClassifier, int]:
    """Train the unit's `kind` classifier from the labelled items of its subtree; re-read recent items."""
    unit = _require_write(db, principal, unit_id, None)
    label_col = MediaItem.label_category if kind == "category" else MediaItem.label_sentiment
    stmt = (
        scoped_items(principal)
        .where(
            label_col.is_not(None),
            MediaItem.unit_id.in_(select(Unit.id).where(Unit.path.startswith(unit.path))),
        )
        .order_by(MediaItem.id)
        .limit(MAX_TRAINING_ITEMS)
    )
    items = list(db.scalars(stmt))
    docs = [text.features(f"{i.title}. {i.text}"[: pipeline.CLASSIFY_CHARS]) for i in items]
    labels = [str(getattr(i, label_col.key)) for i in items]
    if not items:
        raise BadRequest("Chưa có tin nào được gán nhãn", "No labelled items yet")
    result = classify.train(docs, labels)
    c = db.scalar(
        select(MediaClassifier).where(MediaClassifier.unit_id == unit.id, MediaClassifier.kind == kind)
    )
    if c is None:
        c = MediaClassifier(unit_id=unit.id, kind=kind)
        db.add(c)
    c.trained_at = utcnow()
    c.trained_by = principal.user_id
    c.accuracy = result.accuracy
    c.n_train, c.n_test = result.n_train, result.n_test
    c.report = {"per_class": result.per_class}
    c.model = result.model.to_json()
    db.flush()
    audit.record_by(
        db,
        principal,
        "media.classifier.train",
        entity_type="media_classifier",
        entity_id=c.id,
        unit_id=unit.id,
        changes={"kind": kind, "accuracy": round(result.accuracy, 4), "n": len(items)},
    )
    n = reclassify(db, unit.path, kind, result.model)
    return c, n


def reclassify(db: Session, unit_path: str, kind: str, model: classify.NaiveBayes) -> int:
    """Apply a newly trained model to the unit's recent items."""
    rows = db.scalars(
        select(MediaItem)
        .where(MediaItem.unit_id.in_(select(Unit.id).where(Unit.path.startswith(unit_path))))
        .order_by(MediaItem.id.desc())
        .limit(RECLASSIFY_LIMIT)
    ).all()
    for item in rows:
        label, conf = model.predict(text.features(f"{item.title}. {item.text}"[: pipeline.CLASSIFY_CHARS]))
        if kind == "category":
            item.category, item.category_confidence = label, round(conf, 3)
        else:
            item.sentiment, item.sentiment_confidence, item.sentiment_method = label, round(conf, 3), "model"
            item.sentiment_score = {"positive": 1.0, "negative": -1.0}.get(label, 0.0) * round(conf, 3)
    return len(rows)


# ------------------------------------------------------------------------------------------ spikes


def spike_summary(s: MediaSpike, topic: MediaTopic | None = None) -> dict[str, Any]:
    return {
        "id": s.id,
        "kind": s.kind,
        "topic_id": s.topic_id,
        "topic": topic.name if topic else None,
        "unit_id": s.unit_id,
        "window_start": s.window_start.isoformat(),
        "count": s.count,
        "baseline": s.baseline,
        "negative_share": s.negative_share,
        "detected_at": s.detected_at.isoformat(),
        "text": s.text,
    }


def list_spikes(
    db: Session, principal: Principal, since: datetime | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    stmt = scoped(select(MediaSpike, MediaTopic), principal, MediaSpike, READ).join(
        MediaTopic, MediaTopic.id == MediaSpike.topic_id
    )
    if since is not None:
        stmt = stmt.where(MediaSpike.detected_at >= since)
    rows = db.execute(stmt.order_by(MediaSpike.detected_at.desc()).limit(limit)).all()
    return [spike_summary(s, t) for s, t in rows]
