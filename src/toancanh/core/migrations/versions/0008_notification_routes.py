"""notification routes: who hears about which alerts on which channels (e-mail, SMS, Zalo)

`notification_routes`: a subject pattern, a unit subtree, a domain, alert categories and a minimum severity
choose the events; roles, users and extra addresses on a set of channels choose the recipients.
`notification_deliveries` gains `provider_id`, the gateway's message id of a sent SMS or Zalo message.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notification_routes",
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("pattern", sa.String(length=200), nullable=False),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("domain", sa.String(length=32), nullable=True),
        sa.Column("min_severity", sa.String(length=12), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("user_ids", sa.JSON(), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_notification_routes_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_routes")),
    )
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("provider_id", sa.String(length=120), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("notification_deliveries", schema=None) as batch_op:
        batch_op.drop_column("provider_id")
    op.drop_table("notification_routes")
