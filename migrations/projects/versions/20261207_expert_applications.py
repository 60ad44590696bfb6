"""Expert applications: researchers ask to join the expert pool; program managers decide

Revision ID: 5d0a8e3f21c4
Revises: 03c2389c0c53
Create Date: 2026-12-07 03:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5d0a8e3f21c4"
down_revision: str | None = "03c2389c0c53"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "expert_applications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("primary_subjects", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("secondary_subjects", postgresql.ARRAY(sa.String(length=20)), nullable=False),
        sa.Column("keywords", postgresql.ARRAY(sa.String(length=50)), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'declined')",
            name=op.f("ck_expert_applications_state"),
        ),
        sa.CheckConstraint(
            "(state = 'pending') = (decided_at IS NULL AND decided_by IS NULL AND reason IS NULL)",
            name=op.f("ck_expert_applications_decided"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_applications")),
        schema="projects",
    )
    op.create_index(
        op.f("ix_expert_applications_user_id"),
        "expert_applications",
        ["user_id"],
        unique=False,
        schema="projects",
    )
    op.create_index(
        op.f("ix_expert_applications_state_submitted_at_id"),
        "expert_applications",
        ["state", "submitted_at", "id"],
        unique=False,
        schema="projects",
    )
    op.create_index(
        "uq_expert_applications_pending_user_id",
        "expert_applications",
        ["user_id"],
        unique=True,
        schema="projects",
        postgresql_where=sa.text("state = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_expert_applications_pending_user_id",
        table_name="expert_applications",
        schema="projects",
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.drop_index(
        op.f("ix_expert_applications_state_submitted_at_id"),
        table_name="expert_applications",
        schema="projects",
    )
    op.drop_index(
        op.f("ix_expert_applications_user_id"), table_name="expert_applications", schema="projects"
    )
    op.drop_table("expert_applications", schema="projects")
