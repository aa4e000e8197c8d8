"""ngsild: the entities the NGSI-LD context broker stores

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ngsild_entities",
        sa.Column("entity_id", sa.String(length=512), nullable=False),
        sa.Column("type", sa.String(length=512), nullable=False),
        sa.Column("types", sa.JSON(), nullable=False),
        sa.Column("multi_typed", sa.Boolean(), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=True),
        sa.Column("attrs", sa.JSON(), nullable=False),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.Column("geo_large", sa.Boolean(), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_ngsild_entities_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ngsild_entities")),
        sa.UniqueConstraint("entity_id", name=op.f("uq_ngsild_entities_entity_id")),
    )
    with op.batch_alter_table("ngsild_entities", schema=None) as batch_op:
        batch_op.create_index("ix_ngsild_entities_bbox", ["min_lon", "min_lat"], unique=False)
        batch_op.create_index(batch_op.f("ix_ngsild_entities_type"), ["type"], unique=False)
        batch_op.create_index(batch_op.f("ix_ngsild_entities_multi_typed"), ["multi_typed"], unique=False)
        batch_op.create_index(batch_op.f("ix_ngsild_entities_domain"), ["domain"], unique=False)
        batch_op.create_index(batch_op.f("ix_ngsild_entities_geo_large"), ["geo_large"], unique=False)
        batch_op.create_index(batch_op.f("ix_ngsild_entities_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    op.drop_table("ngsild_entities")
