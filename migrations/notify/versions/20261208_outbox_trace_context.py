"""outbox rows keep the trace context they were published in

Revision ID: a8e4ca0c120d
Revises: 7f3a9c2e41b8
Create Date: 2026-12-08 18:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "a8e4ca0c120d"
down_revision: str | None = "7f3a9c2e41b8"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox",
        sa.Column("trace_context", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema="notify",
    )


def downgrade() -> None:
    op.drop_column("outbox", "trace_context", schema="notify")
