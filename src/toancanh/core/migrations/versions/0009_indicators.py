"""indicators: the catalogue (data elements, indicators, datasets), targets, data values and submissions

`ind_data_elements`, `ind_indicators` and `ind_datasets` are the catalogue; `ind_targets` the targets per
unit and period; `ind_data_values` the reported numbers (one per element, unit and period, with the period's
first and last day for range queries); `ind_submissions` a unit's report of a dataset for a period (a case on
the workflow engine: draft, submitted, approved, returned).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 09:25:28.520857
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ind_data_elements",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("value_type", sa.String(length=16), nullable=False),
        sa.Column("unit_of_measure", sa.String(length=40), nullable=False),
        sa.Column("domain", sa.String(length=40), nullable=False),
        sa.Column("aggregation", sa.String(length=8), nullable=False),
        sa.Column("time_aggregation", sa.String(length=8), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ind_data_elements")),
        sa.UniqueConstraint("code", name=op.f("uq_ind_data_elements_code")),
    )
    with op.batch_alter_table("ind_data_elements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ind_data_elements_domain"), ["domain"], unique=False)

    op.create_table(
        "ind_datasets",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("domain", sa.String(length=40), nullable=False),
        sa.Column("period_type", sa.String(length=8), nullable=False),
        sa.Column("element_codes", sa.JSON(), nullable=False),
        sa.Column("deadline_days", sa.Integer(), nullable=False),
        sa.Column("deadline_time", sa.String(length=5), nullable=False),
        sa.Column("unit_levels", sa.JSON(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ind_datasets")),
        sa.UniqueConstraint("code", name=op.f("uq_ind_datasets_code")),
    )
    op.create_table(
        "ind_indicators",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=False),
        sa.Column("domain", sa.String(length=40), nullable=False),
        sa.Column("group", sa.String(length=60), nullable=False),
        sa.Column("unit_of_measure", sa.String(length=40), nullable=False),
        sa.Column("numerator", sa.String(length=500), nullable=False),
        sa.Column("denominator", sa.String(length=500), nullable=True),
        sa.Column("time_aggregation", sa.String(length=8), nullable=False),
        sa.Column("unit_aggregation", sa.String(length=8), nullable=True),
        sa.Column("period_type", sa.String(length=8), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=False),
        sa.Column("decimals", sa.Integer(), nullable=False),
        sa.Column("bands", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("sort", sa.Integer(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ind_indicators")),
        sa.UniqueConstraint("code", name=op.f("uq_ind_indicators_code")),
    )
    with op.batch_alter_table("ind_indicators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ind_indicators_domain"), ["domain"], unique=False)

    op.create_table(
        "ind_targets",
        sa.Column("indicator_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["indicator_id"],
            ["ind_indicators.id"],
            name=op.f("fk_ind_targets_indicator_id_ind_indicators"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_ind_targets_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ind_targets")),
        sa.UniqueConstraint("indicator_id", "unit_id", "period", name="uq_ind_targets_key"),
    )
    with op.batch_alter_table("ind_targets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ind_targets_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "ind_submissions",
        sa.Column("dataset_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("domain", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", sa.String(length=80), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_by", sa.String(length=80), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("values_count", sa.Integer(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sla_status", sa.String(length=16), nullable=False),
        sa.Column("escalation_level", sa.Integer(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assignee_agency_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("assignee_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_agency_id"],
            ["agencies.id"],
            name=op.f("fk_ind_submissions_assignee_agency_id_agencies"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"], ["users.id"], name=op.f("fk_ind_submissions_assignee_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["dataset_id"], ["ind_datasets.id"], name=op.f("fk_ind_submissions_dataset_id_ind_datasets")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_ind_submissions_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ind_submissions")),
        sa.UniqueConstraint("dataset_id", "unit_id", "period", name="uq_ind_submissions_key"),
    )
    with op.batch_alter_table("ind_submissions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ind_submissions_assignee_agency_id"), ["assignee_agency_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ind_submissions_assignee_user_id"), ["assignee_user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ind_submissions_dataset_id"), ["dataset_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ind_submissions_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_ind_submissions_period"), ["period"], unique=False)
        batch_op.create_index(batch_op.f("ix_ind_submissions_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_ind_submissions_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "ind_data_values",
        sa.Column("data_element_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("domain", sa.String(length=40), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("period_type", sa.String(length=8), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("submission_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["data_element_id"],
            ["ind_data_elements.id"],
            name=op.f("fk_ind_data_values_data_element_id_ind_data_elements"),
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["ind_submissions.id"],
            name=op.f("fk_ind_data_values_submission_id_ind_submissions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_ind_data_values_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ind_data_values")),
        sa.UniqueConstraint("data_element_id", "unit_id", "period", name="uq_ind_data_values_key"),
    )
    with op.batch_alter_table("ind_data_values", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ind_data_values_element_start", ["data_element_id", "period_start"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ind_data_values_submission_id"), ["submission_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ind_data_values_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ind_data_values", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ind_data_values_unit_id"))
        batch_op.drop_index(batch_op.f("ix_ind_data_values_submission_id"))
        batch_op.drop_index("ix_ind_data_values_element_start")

    op.drop_table("ind_data_values")
    with op.batch_alter_table("ind_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ind_submissions_unit_id"))
        batch_op.drop_index(batch_op.f("ix_ind_submissions_state"))
        batch_op.drop_index(batch_op.f("ix_ind_submissions_period"))
        batch_op.drop_index(batch_op.f("ix_ind_submissions_due_at"))
        batch_op.drop_index(batch_op.f("ix_ind_submissions_dataset_id"))
        batch_op.drop_index(batch_op.f("ix_ind_submissions_assignee_user_id"))
        batch_op.drop_index(batch_op.f("ix_ind_submissions_assignee_agency_id"))

    op.drop_table("ind_submissions")
    with op.batch_alter_table("ind_targets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ind_targets_unit_id"))

    op.drop_table("ind_targets")
    with op.batch_alter_table("ind_indicators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ind_indicators_domain"))

    op.drop_table("ind_indicators")
    op.drop_table("ind_datasets")
    with op.batch_alter_table("ind_data_elements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ind_data_elements_domain"))

    op.drop_table("ind_data_elements")
