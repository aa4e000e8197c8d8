"""media: press and social monitoring (sources, items, topics, classifiers, spikes)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 21:18:27.986639
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "media_classifiers",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("trained_by", BIG, nullable=True),
        sa.Column("accuracy", sa.Float(), nullable=False),
        sa.Column("n_train", sa.Integer(), nullable=False),
        sa.Column("n_test", sa.Integer(), nullable=False),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.Column("model", sa.JSON(), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_media_classifiers_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_classifiers")),
        sa.UniqueConstraint("unit_id", "kind", name="uq_media_classifiers_unit_kind"),
    )
    op.create_index(op.f("ix_media_classifiers_unit_id"), "media_classifiers", ["unit_id"], unique=False)

    op.create_table(
        "media_sources",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=True),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("poll_minutes", sa.Integer(), nullable=False),
        sa.Column("etag", sa.String(length=300), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("last_fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=32), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("items_total", sa.Integer(), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_media_sources_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_sources")),
    )
    op.create_index(op.f("ix_media_sources_unit_id"), "media_sources", ["unit_id"], unique=False)

    op.create_table(
        "media_topics",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("expression", sa.Text(), nullable=False),
        sa.Column("diacritic_insensitive", sa.Boolean(), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("spike_min_count", sa.Integer(), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_media_topics_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_topics")),
        sa.UniqueConstraint("code", name=op.f("uq_media_topics_code")),
    )
    op.create_index(op.f("ix_media_topics_unit_id"), "media_topics", ["unit_id"], unique=False)

    op.create_table(
        "media_items",
        sa.Column("source_id", BIG, nullable=True),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("url_key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title_key", sa.String(length=300), nullable=False),
        sa.Column("minhash", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("story_id", BIG, nullable=True),
        sa.Column("places", sa.JSON(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("sentiment", sa.String(length=16), nullable=False),
        sa.Column("sentiment_score", sa.Float(), nullable=False),
        sa.Column("sentiment_confidence", sa.Float(), nullable=False),
        sa.Column("sentiment_method", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("category_confidence", sa.Float(), nullable=True),
        sa.Column("label_category", sa.String(length=64), nullable=True),
        sa.Column("label_sentiment", sa.String(length=16), nullable=True),
        sa.Column("labelled_by", BIG, nullable=True),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["media_sources.id"],
            name=op.f("fk_media_items_source_id_media_sources"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_media_items_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_items")),
        sa.UniqueConstraint("url_key", name=op.f("uq_media_items_url_key")),
    )
    op.create_index(op.f("ix_media_items_ingested_at"), "media_items", ["ingested_at"], unique=False)
    op.create_index(op.f("ix_media_items_story_id"), "media_items", ["story_id"], unique=False)
    op.create_index("ix_media_items_title_key", "media_items", ["title_key"], unique=False)
    op.create_index(op.f("ix_media_items_unit_id"), "media_items", ["unit_id"], unique=False)
    op.create_index("ix_media_items_unit_ingested", "media_items", ["unit_id", "ingested_at"], unique=False)

    op.create_table(
        "media_spikes",
        sa.Column("topic_id", BIG, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("negative_share", sa.Float(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["media_topics.id"],
            name=op.f("fk_media_spikes_topic_id_media_topics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_media_spikes_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media_spikes")),
        sa.UniqueConstraint("topic_id", "unit_id", "kind", "window_start", name="uq_media_spikes_window"),
    )
    op.create_index(op.f("ix_media_spikes_unit_id"), "media_spikes", ["unit_id"], unique=False)

    op.create_table(
        "media_item_bands",
        sa.Column("band", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("item_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["media_items.id"],
            name=op.f("fk_media_item_bands_item_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("band", "item_id", name=op.f("pk_media_item_bands")),
    )
    op.create_table(
        "media_item_topics",
        sa.Column("item_id", BIG, nullable=False),
        sa.Column("topic_id", BIG, nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["media_items.id"],
            name=op.f("fk_media_item_topics_item_id_media_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["media_topics.id"],
            name=op.f("fk_media_item_topics_topic_id_media_topics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("item_id", "topic_id", name=op.f("pk_media_item_topics")),
    )
    op.create_index(
        "ix_media_item_topics_topic_at", "media_item_topics", ["topic_id", "ingested_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_media_item_topics_topic_at", table_name="media_item_topics")

    op.drop_table("media_item_topics")
    op.drop_table("media_item_bands")
    op.drop_index(op.f("ix_media_spikes_unit_id"), table_name="media_spikes")

    op.drop_table("media_spikes")
    op.drop_index("ix_media_items_unit_ingested", table_name="media_items")
    op.drop_index(op.f("ix_media_items_unit_id"), table_name="media_items")
    op.drop_index("ix_media_items_title_key", table_name="media_items")
    op.drop_index(op.f("ix_media_items_story_id"), table_name="media_items")
    op.drop_index(op.f("ix_media_items_ingested_at"), table_name="media_items")

    op.drop_table("media_items")
    op.drop_index(op.f("ix_media_topics_unit_id"), table_name="media_topics")

    op.drop_table("media_topics")
    op.drop_index(op.f("ix_media_sources_unit_id"), table_name="media_sources")

    op.drop_table("media_sources")
    op.drop_index(op.f("ix_media_classifiers_unit_id"), table_name="media_classifiers")

    op.drop_table("media_classifiers")
