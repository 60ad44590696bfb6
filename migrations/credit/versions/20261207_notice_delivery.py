"""notice delivery: when and how a record's notice reached its subject

Revision ID: 7c2e4d9a1b05
Revises: 650df5998f4f
Create Date: 2026-12-07 03:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "7c2e4d9a1b05"
down_revision: str | None = "650df5998f4f"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNELS = "'mail', 'inbox', 'post', 'in_person', 'other', 'at_notice'"


def upgrade() -> None:
    op.add_column(
        "records",
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        schema="credit",
    )
    op.add_column(
        "records",
        sa.Column("delivery_channel", sa.String(length=20), nullable=True),
        schema="credit",
    )
    op.create_check_constraint(
        op.f("ck_records_delivery_channel"),
        "records",
        f"delivery_channel IS NULL OR delivery_channel IN ({CHANNELS})",
        schema="credit",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("ck_records_delivery_channel"), "records", schema="credit", type_="check"
    )
    op.drop_column("records", "delivery_channel", schema="credit")
    op.drop_column("records", "delivered_at", schema="credit")
