"""rate buckets record what the last statement took (a lease of several tokens), not a flag

Revision ID: 5c2e7a9d1f30
Revises: 8e41c0d7a2b9
Create Date: 2026-12-08 12:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c2e7a9d1f30"
down_revision: str | None = "8e41c0d7a2b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "rate_buckets",
        sa.Column("taken", sa.Float(), nullable=False, server_default="0"),
        schema="gateway",
    )
    op.alter_column("rate_buckets", "taken", server_default=None, schema="gateway")
    op.drop_column("rate_buckets", "allowed", schema="gateway")


def downgrade() -> None:
    op.add_column(
        "rate_buckets",
        sa.Column("allowed", sa.Boolean(), nullable=False, server_default=sa.true()),
        schema="gateway",
    )
    op.alter_column("rate_buckets", "allowed", server_default=None, schema="gateway")
    op.drop_column("rate_buckets", "taken", schema="gateway")
