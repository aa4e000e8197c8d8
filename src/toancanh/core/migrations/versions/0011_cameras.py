"""cameras: the camera registry (1:1 with assets of type camera) and zones, lines and masks

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("asset_id", BIG, nullable=False),
        sa.Column("source_kind", sa.String(length=16), nullable=False),
        sa.Column("substream_url", sa.String(length=1000), nullable=False),
        sa.Column("main_url", sa.String(length=1000), nullable=False),
        sa.Column("username_enc", sa.Text(), nullable=True),
        sa.Column("password_enc", sa.Text(), nullable=True),
        sa.Column("detect_fps", sa.Double(), nullable=False),
        sa.Column("direction_deg", sa.Double(), nullable=True),
        sa.Column("fov_deg", sa.Double(), nullable=False),
        sa.Column("range_m", sa.Double(), nullable=False),
        sa.Column("groups", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_cameras_asset_id_assets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cameras")),
    )
    op.create_index(op.f("ix_cameras_asset_id"), "cameras", ["asset_id"], unique=True)
    op.create_table(
        "camera_zones",
        sa.Column("camera_id", BIG, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("points", sa.JSON(), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=True),
        sa.Column("purposes", sa.JSON(), nullable=False),
        sa.Column("schedule", sa.JSON(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("id", BIG, autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"], ["cameras.id"], name=op.f("fk_camera_zones_camera_id_cameras"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_camera_zones")),
    )
    op.create_index(op.f("ix_camera_zones_camera_id"), "camera_zones", ["camera_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_camera_zones_camera_id"), table_name="camera_zones")
    op.drop_table("camera_zones")
    op.drop_index(op.f("ix_cameras_asset_id"), table_name="cameras")
    op.drop_table("cameras")
