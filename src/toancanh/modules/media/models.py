"""Press and social monitoring tables (giám sát báo chí, mạng xã hội).

- `MediaSource` (nguồn tin): a news site's feed or page, a social account's export or API, or manual entry;
  its extraction rules and the conditional-request state of its last fetch.
- `MediaItem` (tin, bài): one story as read: normalized text, places found, topics matched, sentiment and
  category, labels operators gave it, and the story it repeats (`story_id`, itself when it is the first).
- `MediaTopic` (chủ đề theo dõi): an operator's watch rule; `MediaItemTopic` links items to the topics
  they match (an index for filters and spike counts).
- `MediaClassifier` (mô hình phân loại): a model trained from labels, with its measured accuracy.
- `MediaSpike` (đột biến): a volume or negative-share anomaly raised once per topic, unit and window.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from toancanh.core.db import Base, BigId, IdMixin, TimestampMixin, UnitScopedMixin, utcnow

SOURCE_KINDS = ("rss", "page", "social", "manual")
SENTIMENTS = ("positive", "neutral", "negative")
CLASSIFIER_KINDS = ("category", "sentiment")
SPIKE_KINDS = ("volume", "negative")


class MediaSource(IdMixin, TimestampMixin, UnitScopedMixin, Base):
    __tablename__ = "media_sources"

    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # SOURCE_KINDS
    url: Mapped[str] = mapped_column(String(1000), default="")
    domain: Mapped[str | None] = mapped_column(String(32))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # extraction rules / field mapping
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    poll_minutes: Mapped[int] = mapped_column(Integer, default=30)
    etag: Mapped[str | None] = mapped_column(String(300))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_fetched_at: Mapped[datetime | None]
    last_status: Mapped[str] = mapped_column(String(32), default="")  # ok, not_modified, disallowed, error
    last_error: Mapped[str] = mapped_column(String(500), default="")
    items_total: Mapped[int] = mapped_column(Integer, default=0)


class MediaItem(IdMixin, UnitScopedMixin, Base):
    __tablename__ = "media_items"
    __table_args__ = (
        Index("ix_media_items_unit_ingested", "unit_id", "ingested_at"),
        Index("ix_media_items_title_key", "title_key"),
    )

    source_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("media_sources.id", ondelete="SET NULL"))
    source_kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(String(1000))
    url_key: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 of the normalized URL
    title: Mapped[str] = mapped_column(String(500))
    text: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(200), default="")
    domain: Mapped[str | None] = mapped_column(String(32))
    published_at: Mapped[datetime | None]
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    title_key: Mapped[str] = mapped_column(String(300))
    minhash: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))  # dedup.PERMUTATIONS values
    story_id: Mapped[int | None] = mapped_column(BigId, index=True)  # the first item of the same story
    places: Mapped[list[Any]] = mapped_column(JSON, default=list)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    sentiment: Mapped[str] = mapped_column(String(16), default="neutral")
    sentiment_score: Mapped[float] = mapped_column(Float, default=0.0)
    sentiment_confidence: Mapped[float] = mapped_column(Float, default=0.0)
    sentiment_method: Mapped[str] = mapped_column(String(16), default="lexicon")
    category: Mapped[str | None] = mapped_column(String(64))
    category_confidence: Mapped[float | None] = mapped_column(Float)
    label_category: Mapped[str | None] = mapped_column(String(64))
    label_sentiment: Mapped[str | None] = mapped_column(String(16))
    labelled_by: Mapped[int | None] = mapped_column(BigId)


class MediaItemBand(Base):
    """The locality-sensitive hash bands of an item's MinHash signature (see dedup.py)."""

    __tablename__ = "media_item_bands"

    band: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    item_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True
    )


class MediaTopic(IdMixin, TimestampMixin, UnitScopedMixin, Base):
    __tablename__ = "media_topics"

    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    expression: Mapped[str] = mapped_column(Text)
    diacritic_insensitive: Mapped[bool] = mapped_column(Boolean, default=True)
    domain: Mapped[str | None] = mapped_column(String(32))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    spike_min_count: Mapped[int] = mapped_column(Integer, default=5)


class MediaItemTopic(Base):
    __tablename__ = "media_item_topics"
    __table_args__ = (Index("ix_media_item_topics_topic_at", "topic_id", "ingested_at"),)

    item_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("media_items.id", ondelete="CASCADE"), primary_key=True
    )
    topic_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("media_topics.id", ondelete="CASCADE"), primary_key=True
    )
    ingested_at: Mapped[datetime] = mapped_column(default=utcnow)


class MediaClassifier(IdMixin, UnitScopedMixin, Base):
    __tablename__ = "media_classifiers"
    __table_args__ = (UniqueConstraint("unit_id", "kind", name="uq_media_classifiers_unit_kind"),)

    kind: Mapped[str] = mapped_column(String(16))  # CLASSIFIER_KINDS
    trained_at: Mapped[datetime] = mapped_column(default=utcnow)
    trained_by: Mapped[int | None] = mapped_column(BigId)
    accuracy: Mapped[float] = mapped_column(Float)
    n_train: Mapped[int] = mapped_column(Integer)
    n_test: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    model: Mapped[dict[str, Any]] = mapped_column(JSON)


class MediaSpike(IdMixin, UnitScopedMixin, Base):
    __tablename__ = "media_spikes"
    __table_args__ = (
        UniqueConstraint("topic_id", "unit_id", "kind", "window_start", name="uq_media_spikes_window"),
    )

    topic_id: Mapped[int] = mapped_column(BigId, ForeignKey("media_topics.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # SPIKE_KINDS
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer)
    baseline: Mapped[float] = mapped_column(Float)
    negative_share: Mapped[float] = mapped_column(Float)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    domain: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text, default="")
