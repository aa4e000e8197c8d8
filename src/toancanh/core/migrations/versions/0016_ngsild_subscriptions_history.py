"""ngsild: subscriptions and the attribute history of stored entities (temporal API)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ngsild_subscriptions",
        sa.Column("sub_id", sa.String(length=512), nullable=False),
        sa.Column("user_id", BIG, nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=True),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("times_sent", sa.Integer(), nullable=False),
        sa.Column("last_notification", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failure", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_ngsild_subscriptions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ngsild_subscriptions")),
        sa.UniqueConstraint("sub_id", name=op.f("uq_ngsild_subscriptions_sub_id")),
    )
    with op.batch_alter_table("ngsild_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ngsild_subscriptions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "ngsild_attribute_history",
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("entity_pk", BIG, nullable=False),
        sa.Column("attr", sa.String(length=512), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("instance", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entity_pk"],
            ["ngsild_entities.id"],
            name=op.f("fk_ngsild_attribute_history_entity_pk_ngsild_entities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ngsild_attribute_history")),
    )
    with op.batch_alter_table("ngsild_attribute_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ngsild_attribute_history_entity_attr_ts", ["entity_pk", "attr", "ts"], unique=False
        )


def downgrade() -> None:
    op.drop_table("ngsild_attribute_history")
    op.drop_table("ngsild_subscriptions")
