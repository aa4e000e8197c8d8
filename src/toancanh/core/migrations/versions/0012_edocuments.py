"""direction: the e-documents register (văn bản điện tử đến/đi) imported from the document management system

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 11:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "edocuments",
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("document_date", sa.Date(), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=False),
        sa.Column("handler_agency_id", BIG, nullable=True),
        sa.Column("handler_user_id", BIG, nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("digitally_signed", sa.Boolean(), nullable=False),
        sa.Column("sent_electronically", sa.Boolean(), nullable=False),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("task_id", BIG, nullable=True),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(
            ["handler_agency_id"], ["agencies.id"], name=op.f("fk_edocuments_handler_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["handler_user_id"], ["users.id"], name=op.f("fk_edocuments_handler_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["direction_tasks.id"],
            name=op.f("fk_edocuments_task_id_direction_tasks"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_edocuments_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_edocuments")),
        sa.UniqueConstraint("unit_id", "external_id", name=op.f("uq_edocuments_unit_id")),
    )
    with op.batch_alter_table("edocuments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_edocuments_document_date"), ["document_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_edocuments_domain"), ["domain"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_edocuments_handler_agency_id"), ["handler_agency_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_edocuments_task_id"), ["task_id"], unique=False)
        batch_op.create_index(
            "ix_edocuments_unit_direction_state", ["unit_id", "direction", "state"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_edocuments_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("edocuments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_edocuments_unit_id"))
        batch_op.drop_index("ix_edocuments_unit_direction_state")
        batch_op.drop_index(batch_op.f("ix_edocuments_task_id"))
        batch_op.drop_index(batch_op.f("ix_edocuments_handler_agency_id"))
        batch_op.drop_index(batch_op.f("ix_edocuments_domain"))
        batch_op.drop_index(batch_op.f("ix_edocuments_document_date"))

    op.drop_table("edocuments")
