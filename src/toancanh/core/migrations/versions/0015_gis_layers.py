"""gis: the layer catalogue (gis_layers) and the layers' features (gis_features)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gis_layers",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("title_en", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=True),
        sa.Column("geometry_type", sa.String(length=32), nullable=False),
        sa.Column("style", sa.JSON(), nullable=False),
        sa.Column("legend", sa.JSON(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("time_enabled", sa.Boolean(), nullable=False),
        sa.Column("source_crs", sa.String(length=64), nullable=False),
        sa.Column("feature_count", sa.Integer(), nullable=False),
        sa.Column("min_x", sa.Float(), nullable=True),
        sa.Column("min_y", sa.Float(), nullable=True),
        sa.Column("max_x", sa.Float(), nullable=True),
        sa.Column("max_y", sa.Float(), nullable=True),
        sa.Column("min_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("max_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_gis_layers_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gis_layers")),
        sa.UniqueConstraint("code", name=op.f("uq_gis_layers_code")),
    )
    op.create_index(op.f("ix_gis_layers_unit_id"), "gis_layers", ["unit_id"], unique=False)
    op.create_table(
        "gis_features",
        sa.Column("layer_id", BIG, nullable=False),
        sa.Column("unit_id", BIG, nullable=True),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("wkb", sa.LargeBinary(), nullable=False),
        sa.Column("min_x", sa.Float(), nullable=False),
        sa.Column("min_y", sa.Float(), nullable=False),
        sa.Column("max_x", sa.Float(), nullable=False),
        sa.Column("max_y", sa.Float(), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["layer_id"],
            ["gis_layers.id"],
            name=op.f("fk_gis_features_layer_id_gis_layers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_gis_features_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gis_features")),
    )
    op.create_index(op.f("ix_gis_features_unit_id"), "gis_features", ["unit_id"], unique=False)
    op.create_index(
        "ix_gis_features_layer_bbox", "gis_features", ["layer_id", "min_x", "max_x", "min_y", "max_y"]
    )
    op.create_index("ix_gis_features_layer_time", "gis_features", ["layer_id", "time"])


def downgrade() -> None:
    op.drop_table("gis_features")
    op.drop_table("gis_layers")
