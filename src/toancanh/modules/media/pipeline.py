"""The reading pipeline (đọc hiểu tin): one story in, one item out — or none, when its URL is known.

normalize -> same URL? skip -> same story (title key, MinHash) -> places (gazetteer) and the item's unit
-> topics (watch rules of that unit and above) -> sentiment (trained model, else lexicon) -> category
(trained model) -> row. Spike checks run after the batch (`spikes.py`), in the same transaction.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from toancanh.core.db import utcnow
from toancanh.core.units import Unit
from toancanh.modules.media import classify, dedup, gazetteer, sentiment, text
from toancanh.modules.media.feeds import Story
from toancanh.modules.media.models import (
    MediaClassifier,
    MediaItem,
    MediaItemBand,
    MediaItemTopic,
    MediaTopic,
)
from toancanh.modules.media.rules import Syllables, WatchRule, compile_rule

log = logging.getLogger("toancanh.media")
DEDUP_WINDOW = timedelta(days=14)
MAX_CANDIDATES = 200
CLASSIFY_CHARS = 3000


def url_key(url: str) -> str:
    """sha256 of the URL: host lower-cased; fragment, tracking parameters and trailing slash dropped."""
    parts = urlsplit(url.strip())
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith("utm_")
    ]
    path = parts.path.rstrip("/") or "/"
    norm = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(sorted(query)), ""))
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


@dataclass
class UnitInfo:
    id: int
    path: str
    level: int
    parent_id: int | None


@dataclass
class Context:
    """What the pipeline reads once per batch: units, topics, trained models, the gazetteer."""

    units: dict[int, UnitInfo]
    topics: list[tuple[MediaTopic, WatchRule, str]]  # topic, compiled rule, its unit's path
    models: dict[tuple[int, str], tuple[classify.NaiveBayes, str]]  # (unit_id, kind) -> model, unit path
    places: gazetteer.Gazetteer

    def model_for(self, unit_path: str, kind: str) -> classify.NaiveBayes | None:
        """The model trained for the nearest unit at or above `unit_path`."""
        best: tuple[int, classify.NaiveBayes] | None = None
        for (_, k), (model, path) in self.models.items():
            if k == kind and unit_path.startswith(path) and (best is None or len(path) > best[0]):
                best = (len(path), model)
        return best[1] if best else None


_compiled: dict[tuple[int, str, bool], WatchRule] = {}
_models: dict[tuple[int, str], classify.NaiveBayes] = {}
_cache_lock = threading.Lock()


def load_context(db: Session, holder: Any) -> Context:
    units = {
        u.id: UnitInfo(u.id, u.path, u.level, u.parent_id)
        for u in db.execute(select(Unit.id, Unit.path, Unit.level, Unit.parent_id)).all()
    }
    topics = []
    for t in db.scalars(select(MediaTopic).where(MediaTopic.enabled.is_(True)).order_by(MediaTopic.id)):
        key = (t.id, t.expression, t.diacritic_insensitive)
        with _cache_lock:
            rule = _compiled.get(key)
        if rule is None:
            try:
                rule = compile_rule(t.expression, diacritic_insensitive=t.diacritic_insensitive)
            except Exception:  # stored rules were validated; one broken by a grammar change is skipped
                log.warning("media topic %s: rule no longer compiles", t.code, exc_info=True)
                continue
            with _cache_lock:
                _compiled[key] = rule
        info = units.get(t.unit_id)
        topics.append((t, rule, info.path if info else "/"))
    models = {}
    for c in db.scalars(select(MediaClassifier)):
        mkey = (c.id, c.trained_at.isoformat())
        with _cache_lock:
            model = _models.get(mkey)  # type: ignore[arg-type]
        if model is None:
            model = classify.NaiveBayes.from_json(c.model)
            with _cache_lock:
                _models[mkey] = model  # type: ignore[index]
        info = units.get(c.unit_id)
        models[(c.unit_id, c.kind)] = (model, info.path if info else "/")
    return Context(units, topics, models, gazetteer.cached(db, holder))


@dataclass
class Ingested:
    new: list[MediaItem] = field(default_factory=list)
    known: int = 0  # URL already stored
    same_story: int = 0  # stored, as a repeat of an earlier story
    skipped: int = 0
    spikes: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "new": len(self.new),
            "known": self.known,
            "same_story": self.same_story,
            "skipped": self.skipped,
            "spikes": self.spikes,
            "ids": [i.id for i in self.new],
        }


def _story_of(db: Session, key: str, sig: list[int] | None, now: datetime) -> int | None:
    """The first item of the story this one repeats (same title key, or similar text), or None."""
    since = now - DEDUP_WINDOW
    if len(key) >= 12:
        found = db.execute(
            select(MediaItem.id, MediaItem.story_id)
            .where(MediaItem.title_key == key, MediaItem.ingested_at >= since)
            .order_by(MediaItem.id)
            .limit(1)
        ).first()
        if found is not None:
            return int(found[1] or found[0])
    if sig is None:
        return None
    candidates = (
        select(MediaItemBand.item_id)
        .where(MediaItemBand.band.in_(dedup.bands(sig)))
        .distinct()
        .scalar_subquery()
    )
    rows = db.execute(
        select(MediaItem.id, MediaItem.story_id, MediaItem.minhash)
        .where(MediaItem.id.in_(candidates), MediaItem.ingested_at >= since)
        .order_by(MediaItem.id)
        .limit(MAX_CANDIDATES)
    ).all()
    for rid, story, other in rows:
        if other and dedup.similarity(sig, other) >= dedup.MIN_SIMILARITY:
            return int(story or rid)
    return None


def _unit_for(ctx: Context, places: list[gazetteer.Place], home_unit: int) -> int:
    """The most specific named place inside the source's unit, else the source's unit."""
    home = ctx.units.get(home_unit)
    inside = [p for p in places if home is None or ctx.units.get(p.unit_id, home).path.startswith(home.path)]
    best = gazetteer.best_place(inside)
    return best.unit_id if best else home_unit


def read_story(
    db: Session,
    ctx: Context,
    story: Story,
    *,
    unit_id: int,
    domain: str | None,
    source_id: int | None,
    source_kind: str,
    now: datetime | None = None,
) -> tuple[MediaItem | None, bool]:
    """The item for one story (added to the session), or None when its URL is known; and whether it
    repeats an earlier story."""
    now = now or utcnow()
    key = url_key(story.url)
    if db.scalar(select(MediaItem.id).where(MediaItem.url_key == key)) is not None:
        return None, False
    title = text.normalize(story.title).strip()
    body = text.normalize(story.text).strip()
    full = f"{title}. {body}"
    tkey = dedup.title_key(title)
    sig = dedup.minhash(body) if body else None
    story_id = _story_of(db, tkey, sig, now)
    places = ctx.places.find(full)
    item_unit = _unit_for(ctx, places, unit_id)
    best = gazetteer.best_place([p for p in places if p.unit_id == item_unit] or places)
    upath = ctx.units[item_unit].path if item_unit in ctx.units else "/"
    syl = Syllables(full)
    matched = [
        (t, path) for t, rule, path in ctx.topics if upath.startswith(path) and rule.matches_syllables(syl)
    ]
    if domain is None:
        domain = next((t.domain for t, _ in matched if t.domain), None)
    sent_model = ctx.model_for(upath, "sentiment")
    cat_model = ctx.model_for(upath, "category")
    feats = text.features(full[:CLASSIFY_CHARS]) if (sent_model or cat_model) else []
    if sent_model is not None:
        label, conf = sent_model.predict(feats)
        s = sentiment.Sentiment(
            label, {"positive": 1.0, "negative": -1.0}.get(label, 0.0) * conf, conf, "model"
        )
    else:
        s = sentiment.score(full)
    category, cat_conf = cat_model.predict(feats) if cat_model is not None else (None, None)
    item = MediaItem(
        unit_id=item_unit,
        source_id=source_id,
        source_kind=source_kind,
        url=story.url[:1000],
        url_key=key,
        title=title[:500],
        text=body,
        author=story.author[:200],
        domain=domain,
        published_at=story.published_at,
        ingested_at=now,
        title_key=tkey,
        minhash=sig,
        story_id=story_id,
        places=[p.summary() for p in places[:20]],
        lat=best.lat if best else None,
        lon=best.lon if best else None,
        sentiment=s.label,
        sentiment_score=s.score,
        sentiment_confidence=s.confidence,
        sentiment_method=s.method,
        category=category,
        category_confidence=round(cat_conf, 3) if cat_conf is not None else None,
    )
    db.add(item)
    db.flush()
    if item.story_id is None:
        item.story_id = item.id
    for t, _ in matched:
        db.add(MediaItemTopic(item_id=item.id, topic_id=t.id, ingested_at=now))
    if sig is not None:
        db.add_all(MediaItemBand(band=b, item_id=item.id) for b in set(dedup.bands(sig)))
    return item, story_id is not None


def ingest(
    db: Session,
    stories: Sequence[Story],
    *,
    unit_id: int,
    domain: str | None,
    source_id: int | None,
    source_kind: str,
    holder: Any,
    now: datetime | None = None,
    skipped: int = 0,
) -> Ingested:
    """Read a batch of stories into items in the caller's transaction, then check for spikes."""
    from toancanh.modules.media import spikes

    now = now or utcnow()
    ctx = load_context(db, holder)
    out = Ingested(skipped=skipped)
    for story in stories:
        item, repeat = read_story(
            db,
            ctx,
            story,
            unit_id=unit_id,
            domain=domain,
            source_id=source_id,
            source_kind=source_kind,
            now=now,
        )
        if item is None:
            out.known += 1
            continue
        out.new.append(item)
        out.same_story += int(repeat)
    db.flush()
    if out.new:
        out.spikes = spikes.check(db, ctx, out.new, now)
    return out
