"""report block list and blurred public photos

`report_blocks`: phone numbers, e-mails, devices and IP addresses refused as reporters in a unit and below.
`report_photos.public_sha256`: the version of a photo with faces and plates blurred, which the public sees
instead of the original (kept for staff).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "report_blocks",
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", _ID, nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("unit_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_report_blocks_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_blocks")),
        sa.UniqueConstraint("kind", "value", "unit_id", name=op.f("uq_report_blocks_kind")),
    )
    op.create_index(op.f("ix_report_blocks_unit_id"), "report_blocks", ["unit_id"], unique=False)
    # batch mode: SQLite cannot add a foreign key to an existing table without recreating it
    with op.batch_alter_table("report_photos") as batch:
        batch.add_column(sa.Column("public_sha256", sa.String(length=64), nullable=True))
        batch.create_foreign_key(
            op.f("fk_report_photos_public_sha256_blobs"), "blobs", ["public_sha256"], ["sha256"]
        )


def downgrade() -> None:
    with op.batch_alter_table("report_photos") as batch:
        batch.drop_constraint(op.f("fk_report_photos_public_sha256_blobs"), type_="foreignkey")
        batch.drop_column("public_sha256")
    op.drop_index(op.f("ix_report_blocks_unit_id"), table_name="report_blocks")
    op.drop_table("report_blocks")
