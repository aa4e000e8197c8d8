"""direction: the work calendar (lịch công tác) and meetings (cuộc họp: agenda, invitees, documents, speaking
requests, votes, minutes and conclusions)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22 10:34:40.125851
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "calendar_entries",
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("place", sa.String(length=300), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("owner_user_id", BIG, nullable=True),
        sa.Column("owner_agency_id", BIG, nullable=True),
        sa.Column("host", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", BIG, nullable=True),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_agency_id"], ["agencies.id"], name=op.f("fk_calendar_entries_owner_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_calendar_entries_owner_user_id_users")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_calendar_entries_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_entries")),
    )
    with op.batch_alter_table("calendar_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_calendar_entries_owner_agency", ["owner_agency_id", "starts_at"], unique=False
        )
        batch_op.create_index("ix_calendar_entries_owner_user", ["owner_user_id", "starts_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_calendar_entries_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index("ix_calendar_entries_unit_starts", ["unit_id", "starts_at"], unique=False)

    op.create_table(
        "calendar_participants",
        sa.Column("entry_id", BIG, nullable=False),
        sa.Column("user_id", BIG, nullable=True),
        sa.Column("agency_id", BIG, nullable=True),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_calendar_participants_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["calendar_entries.id"],
            name=op.f("fk_calendar_participants_entry_id_calendar_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_calendar_participants_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_participants")),
    )
    with op.batch_alter_table("calendar_participants", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_calendar_participants_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calendar_participants_entry_id"), ["entry_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_calendar_participants_user_id"), ["user_id"], unique=False)

    op.create_table(
        "meetings",
        sa.Column("entry_id", BIG, nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("chair_id", BIG, nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("current_item_id", BIG, nullable=True),
        sa.Column("minutes", sa.Text(), nullable=False),
        sa.Column("conclusions", sa.JSON(), nullable=False),
        sa.Column("directive_id", BIG, nullable=True),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["chair_id"], ["users.id"], name=op.f("fk_meetings_chair_id_users")),
        sa.ForeignKeyConstraint(
            ["directive_id"],
            ["directives.id"],
            name=op.f("fk_meetings_directive_id_directives"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["calendar_entries.id"],
            name=op.f("fk_meetings_entry_id_calendar_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_meetings_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_meetings_entry_id")),
    )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meetings_chair_id"), ["chair_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meetings_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "meeting_documents",
        sa.Column("meeting_id", BIG, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("item_id", BIG, nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_documents_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_documents")),
        sa.UniqueConstraint("meeting_id", "sha256", name=op.f("uq_meeting_documents_meeting_id")),
    )
    with op.batch_alter_table("meeting_documents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_documents_meeting_id"), ["meeting_id"], unique=False)

    op.create_table(
        "meeting_invitees",
        sa.Column("meeting_id", BIG, nullable=False),
        sa.Column("user_id", BIG, nullable=True),
        sa.Column("agency_id", BIG, nullable=True),
        sa.Column("attendance", sa.String(length=10), nullable=False),
        sa.Column("delegate", sa.String(length=200), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_meeting_invitees_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_invitees_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_meeting_invitees_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_invitees")),
    )
    with op.batch_alter_table("meeting_invitees", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_invitees_agency_id"), ["agency_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meeting_invitees_meeting_id"), ["meeting_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meeting_invitees_user_id"), ["user_id"], unique=False)

    op.create_table(
        "meeting_items",
        sa.Column("meeting_id", BIG, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("presenter", sa.String(length=200), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_items_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_items")),
    )
    with op.batch_alter_table("meeting_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_items_meeting_id"), ["meeting_id"], unique=False)

    op.create_table(
        "meeting_speaking",
        sa.Column("meeting_id", BIG, nullable=False),
        sa.Column("user_id", BIG, nullable=False),
        sa.Column("item_id", BIG, nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_speaking_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_meeting_speaking_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_speaking")),
    )
    with op.batch_alter_table("meeting_speaking", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_speaking_meeting_id"), ["meeting_id"], unique=False)

    op.create_table(
        "meeting_votes",
        sa.Column("meeting_id", BIG, nullable=False),
        sa.Column("question", sa.String(length=500), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_votes_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_votes")),
    )
    with op.batch_alter_table("meeting_votes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_votes_meeting_id"), ["meeting_id"], unique=False)

    op.create_table(
        "meeting_ballots",
        sa.Column("vote_id", BIG, nullable=False),
        sa.Column("user_id", BIG, nullable=False),
        sa.Column("choice", sa.String(length=8), nullable=False),
        sa.Column("cast_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_meeting_ballots_user_id_users")),
        sa.ForeignKeyConstraint(
            ["vote_id"],
            ["meeting_votes.id"],
            name=op.f("fk_meeting_ballots_vote_id_meeting_votes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_ballots")),
        sa.UniqueConstraint("vote_id", "user_id", name=op.f("uq_meeting_ballots_vote_id")),
    )
    with op.batch_alter_table("meeting_ballots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_meeting_ballots_vote_id"), ["vote_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("meeting_ballots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_ballots_vote_id"))

    op.drop_table("meeting_ballots")
    with op.batch_alter_table("meeting_votes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_votes_meeting_id"))

    op.drop_table("meeting_votes")
    with op.batch_alter_table("meeting_speaking", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_speaking_meeting_id"))

    op.drop_table("meeting_speaking")
    with op.batch_alter_table("meeting_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_items_meeting_id"))

    op.drop_table("meeting_items")
    with op.batch_alter_table("meeting_invitees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_invitees_user_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_invitees_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_meeting_invitees_agency_id"))

    op.drop_table("meeting_invitees")
    with op.batch_alter_table("meeting_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_documents_meeting_id"))

    op.drop_table("meeting_documents")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meetings_unit_id"))
        batch_op.drop_index(batch_op.f("ix_meetings_chair_id"))

    op.drop_table("meetings")
    with op.batch_alter_table("calendar_participants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calendar_participants_user_id"))
        batch_op.drop_index(batch_op.f("ix_calendar_participants_entry_id"))
        batch_op.drop_index(batch_op.f("ix_calendar_participants_agency_id"))

    op.drop_table("calendar_participants")
    with op.batch_alter_table("calendar_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_calendar_entries_unit_starts")
        batch_op.drop_index(batch_op.f("ix_calendar_entries_unit_id"))
        batch_op.drop_index("ix_calendar_entries_owner_user")
        batch_op.drop_index("ix_calendar_entries_owner_agency")

    op.drop_table("calendar_entries")
