"""field report indexes for province scale (queue, nearby, statistics, rate limit)

Measured with `python -m bench reports` at 1,000,000 reports (see bench/reports.py): the duplicate lookup
scanned a whole category without (category_id, lat, lon), the per-address rate limit scanned the table on
every submission, the queue filtered by state and the statistics of a window read every report of the unit.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_field_reports_category_lat_lon": ["category_id", "lat", "lon"],  # service.nearby
    "ix_field_reports_unit_state": ["unit_id", "state"],  # the queue by state
    "ix_field_reports_unit_opened_at": ["unit_id", "opened_at"],  # statistics and export of a window
    "ix_field_reports_client_ip_created_at": ["client_ip", "created_at"],  # submissions per address
    "ix_field_reports_device_id_created_at": ["device_id", "created_at"],  # submissions per device
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "field_reports", columns, unique=False)


def downgrade() -> None:
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="field_reports")
