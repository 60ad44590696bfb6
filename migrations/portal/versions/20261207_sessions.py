"""portal sessions

Revision ID: 5a1d0c3e7b21
Revises:
Create Date: 2026-12-07 06:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5a1d0c3e7b21"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("subject", sa.Uuid(), nullable=False),
        sa.Column("tokens", sa.LargeBinary(), nullable=False),
        sa.Column("access_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_sessions")),
        schema="portal",
    )
    op.create_index(op.f("ix_sessions_subject"), "sessions", ["subject"], schema="portal")
    op.create_index(op.f("ix_sessions_last_seen_at"), "sessions", ["last_seen_at"], schema="portal")


def downgrade() -> None:
    op.drop_table("sessions", schema="portal")
