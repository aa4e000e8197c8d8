"""health: epidemic monitoring (criteria tables, cases, contacts, tests, quarantine, lockdowns, zones,
vaccination, capacity, weekly levels)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05 21:20:10.387973
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "health_criteria",
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("disease", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_criteria")),
        sa.UniqueConstraint("code", name=op.f("uq_health_criteria_code")),
    )
    with op.batch_alter_table("health_criteria", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_health_criteria_disease"), ["disease"], unique=False)

    op.create_table(
        "health_capacity",
        sa.Column("disease", sa.String(length=40), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("met", sa.Boolean(), nullable=False),
        sa.Column("beds", sa.Integer(), nullable=True),
        sa.Column("icu_beds", sa.Integer(), nullable=True),
        sa.Column("notes", sa.String(length=500), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_health_capacity_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_capacity")),
        sa.UniqueConstraint("unit_id", "disease", "as_of", name="uq_health_capacity_unit_day"),
    )
    with op.batch_alter_table("health_capacity", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_health_capacity_domain"), ["domain"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_capacity_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "health_cases",
        sa.Column("disease", sa.String(length=40), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("sex", sa.String(length=8), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("onset_on", sa.Date(), nullable=True),
        sa.Column("confirmed_on", sa.Date(), nullable=False),
        sa.Column("detected_in", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("treatment_place_id", BIG, nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_health_cases_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_cases")),
        sa.UniqueConstraint("disease", "code", name="uq_health_cases_disease_code"),
    )
    with op.batch_alter_table("health_cases", schema=None) as batch_op:
        batch_op.create_index("ix_health_cases_confirmed", ["disease", "confirmed_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_cases_domain"), ["domain"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_cases_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "health_contacts",
        sa.Column("case_id", BIG, nullable=True),
        sa.Column("level", sa.String(length=4), nullable=False),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("last_contact_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_health_contacts_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_contacts")),
    )
    with op.batch_alter_table("health_contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_health_contacts_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_contacts_domain"), ["domain"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_contacts_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "health_levels",
        sa.Column("domain", sa.String(length=32), nullable=False),
        sa.Column("criteria_id", BIG, nullable=False),
        sa.Column("week", sa.String(length=8), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("previous_level", sa.Integer(), nullable=True),
        sa.Column("inputs", sa.JSON(), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_health_levels_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_levels")),
        sa.UniqueConstraint("criteria_id", "unit_id", "week", name="uq_health_levels_week"),
    )
    with op.batch_alter_table("health_levels", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_health_levels_criteria_id"), ["criteria_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_levels_unit_id"), ["unit_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_levels_week"), ["week"], unique=False)

    op.create_table(
        "health_lockdowns",
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("lifted_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_health_lockdowns_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_lockdowns")),
    )
    with op.batch_alter_table("health_lockdowns", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_health_lockdowns_domain"), ["domain"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_lockdowns_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "health_quarantines",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("facility_id", BIG, nullable=True),
        sa.Column("case_id", BIG, nullable=True),
        sa.Column("contact_id", BIG, nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("start_on", sa.Date(), nullable=False),
        sa.Column("end_on", sa.Date(), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.Column("domain", sa.String(length=32), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_health_quarantines_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_quarantines")),
    )
    with op.batch_alter_table("health_quarantines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_health_quarantines_domain"), ["domain"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_quarantines_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "health_tests",
        sa.Column("disease", sa.String(length=40), nullable=False),
        sa.Column("case_id", BIG, nullable=True),
        sa.Column("contact_id", BIG, nullable=True),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("sampled_on", sa.Date(), nullable=False),
        sa.Column("result", sa.String(length=12), nullable=False),
        sa.Column("result_on", sa.Date(), nullable=True),
        sa.Column("domain", sa.String(length=32), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_health_tests_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_tests")),
    )
    with op.batch_alter_table("health_tests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_health_tests_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_tests_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_tests_domain"), ["domain"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_tests_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "health_vaccination",
        sa.Column("disease", sa.String(length=40), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("domain", sa.String(length=32), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_health_vaccination_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_vaccination")),
        sa.UniqueConstraint("unit_id", "disease", "as_of", name="uq_health_vaccination_unit_day"),
    )
    with op.batch_alter_table("health_vaccination", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_health_vaccination_domain"), ["domain"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_vaccination_unit_id"), ["unit_id"], unique=False)

    op.create_table(
        "health_zones",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("lifted_on", sa.Date(), nullable=True),
        sa.Column("domain", sa.String(length=32), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit_id", BIG, nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_health_zones_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_health_zones")),
    )
    with op.batch_alter_table("health_zones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_health_zones_domain"), ["domain"], unique=False)
        batch_op.create_index(batch_op.f("ix_health_zones_unit_id"), ["unit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("health_zones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_zones_unit_id"))
        batch_op.drop_index(batch_op.f("ix_health_zones_domain"))

    op.drop_table("health_zones")
    with op.batch_alter_table("health_vaccination", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_vaccination_unit_id"))
        batch_op.drop_index(batch_op.f("ix_health_vaccination_domain"))

    op.drop_table("health_vaccination")
    with op.batch_alter_table("health_tests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_tests_unit_id"))
        batch_op.drop_index(batch_op.f("ix_health_tests_domain"))
        batch_op.drop_index(batch_op.f("ix_health_tests_contact_id"))
        batch_op.drop_index(batch_op.f("ix_health_tests_case_id"))

    op.drop_table("health_tests")
    with op.batch_alter_table("health_quarantines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_quarantines_unit_id"))
        batch_op.drop_index(batch_op.f("ix_health_quarantines_domain"))

    op.drop_table("health_quarantines")
    with op.batch_alter_table("health_lockdowns", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_lockdowns_unit_id"))
        batch_op.drop_index(batch_op.f("ix_health_lockdowns_domain"))

    op.drop_table("health_lockdowns")
    with op.batch_alter_table("health_levels", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_levels_week"))
        batch_op.drop_index(batch_op.f("ix_health_levels_unit_id"))
        batch_op.drop_index(batch_op.f("ix_health_levels_criteria_id"))

    op.drop_table("health_levels")
    with op.batch_alter_table("health_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_contacts_unit_id"))
        batch_op.drop_index(batch_op.f("ix_health_contacts_domain"))
        batch_op.drop_index(batch_op.f("ix_health_contacts_case_id"))

    op.drop_table("health_contacts")
    with op.batch_alter_table("health_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_cases_unit_id"))
        batch_op.drop_index(batch_op.f("ix_health_cases_domain"))
        batch_op.drop_index("ix_health_cases_confirmed")

    op.drop_table("health_cases")
    with op.batch_alter_table("health_capacity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_capacity_unit_id"))
        batch_op.drop_index(batch_op.f("ix_health_capacity_domain"))

    op.drop_table("health_capacity")
    with op.batch_alter_table("health_criteria", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_health_criteria_disease"))

    op.drop_table("health_criteria")
