"""outbox rows keep the trace context they were published in

Revision ID: 0e55c4a2aa36
Revises: 3c1f5e8a9b20
Create Date: 2026-12-08 18:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0e55c4a2aa36"
down_revision: str | None = "3c1f5e8a9b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "outbox",
        sa.Column("trace_context", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema="projects",
    )


def downgrade() -> None:
    op.drop_column("outbox", "trace_context", schema="projects")
