"""direction: directives and their tasks (chỉ đạo điều hành)

`directives`: a leader's directive, conclusion or notice in a unit. `direction_tasks`: its tasks, cases on the
workflow engine (the lead agency is the case's assignee; `deadline_at` the task's own deadline, moved by an
approved extension). `direction_task_agencies`: co-operating agencies. `direction_extensions`: extension
requests and the leader's decision.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 09:26:50.523249
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "directives",
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("issued_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["issued_by_id"], ["users.id"], name=op.f("fk_directives_issued_by_id_users")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_directives_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_directives")),
    )
    with op.batch_alter_table("directives", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_directives_issued_by_id"), ["issued_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_directives_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "direction_tasks",
        sa.Column("directive_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("expected_output", sa.Text(), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("issued_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_days", sa.Integer(), nullable=True),
        sa.Column("source_kind", sa.String(length=24), nullable=False),
        sa.Column("source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("source_ref", sa.String(length=200), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("progress_note", sa.Text(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completion_text", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("on_time", sa.Boolean(), nullable=True),
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
            name=op.f("fk_direction_tasks_assignee_agency_id_agencies"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"], ["users.id"], name=op.f("fk_direction_tasks_assignee_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["directive_id"],
            ["directives.id"],
            name=op.f("fk_direction_tasks_directive_id_directives"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["issued_by_id"], ["users.id"], name=op.f("fk_direction_tasks_issued_by_id_users")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_direction_tasks_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direction_tasks")),
    )
    with op.batch_alter_table("direction_tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_direction_tasks_agency_state", ["assignee_agency_id", "state"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_direction_tasks_assignee_agency_id"), ["assignee_agency_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_direction_tasks_assignee_user_id"), ["assignee_user_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_direction_tasks_directive_id"), ["directive_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_direction_tasks_domain"), ["domain"], unique=False)
        batch_op.create_index(batch_op.f("ix_direction_tasks_due_at"), ["due_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_direction_tasks_issued_by_id"), ["issued_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_direction_tasks_source_kind"), ["source_kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_direction_tasks_state"), ["state"], unique=False)
        batch_op.create_index(batch_op.f("ix_direction_tasks_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(
            "ix_direction_tasks_unit_sla_due", ["unit_id", "sla_status", "due_at"], unique=False
        )

    op.create_table(
        "direction_extensions",
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("previous_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("requested_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("decided_by", sa.String(length=80), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["direction_tasks.id"],
            name=op.f("fk_direction_extensions_task_id_direction_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direction_extensions")),
    )
    with op.batch_alter_table("direction_extensions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_direction_extensions_task_id"), ["task_id"], unique=False)

    op.create_table(
        "direction_task_agencies",
        sa.Column("task_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agency_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_direction_task_agencies_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["direction_tasks.id"],
            name=op.f("fk_direction_task_agencies_task_id_direction_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_direction_task_agencies")),
        sa.UniqueConstraint("task_id", "agency_id", name=op.f("uq_direction_task_agencies_task_id")),
    )
    with op.batch_alter_table("direction_task_agencies", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_direction_task_agencies_agency_id"), ["agency_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("direction_task_agencies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_direction_task_agencies_agency_id"))

    op.drop_table("direction_task_agencies")
    with op.batch_alter_table("direction_extensions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_direction_extensions_task_id"))

    op.drop_table("direction_extensions")
    with op.batch_alter_table("direction_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_direction_tasks_unit_sla_due")
        batch_op.drop_index(batch_op.f("ix_direction_tasks_unit_id"))
        batch_op.drop_index(batch_op.f("ix_direction_tasks_state"))
        batch_op.drop_index(batch_op.f("ix_direction_tasks_source_kind"))
        batch_op.drop_index(batch_op.f("ix_direction_tasks_issued_by_id"))
        batch_op.drop_index(batch_op.f("ix_direction_tasks_due_at"))
        batch_op.drop_index(batch_op.f("ix_direction_tasks_domain"))
        batch_op.drop_index(batch_op.f("ix_direction_tasks_directive_id"))
        batch_op.drop_index(batch_op.f("ix_direction_tasks_assignee_user_id"))
        batch_op.drop_index(batch_op.f("ix_direction_tasks_assignee_agency_id"))
        batch_op.drop_index("ix_direction_tasks_agency_state")

    op.drop_table("direction_tasks")
    with op.batch_alter_table("directives", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_directives_unit_id"))
        batch_op.drop_index(batch_op.f("ix_directives_issued_by_id"))

    op.drop_table("directives")
