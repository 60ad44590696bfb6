"""outbox rows keep the trace context they were published in

Revision ID: 26057c768756
Revises: bd814b1e476e
Create Date: 2026-12-08 18:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "26057c768756"
down_revision: str | None = "bd814b1e476e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox",
        sa.Column("trace_context", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema="funds",
    )


def downgrade() -> None:
    op.drop_column("outbox", "trace_context", schema="funds")
