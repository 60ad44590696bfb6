"""Assignment run jobs: a large dry run goes on after its request answers, and is polled

Revision ID: 4b7c2e91a0d5
Revises: 0e55c4a2aa36
Create Date: 2026-12-08 19:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "4b7c2e91a0d5"
down_revision: str | None = "0e55c4a2aa36"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assignment_run_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("problem", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'done', 'failed')", name=op.f("ck_assignment_run_jobs_status")
        ),
        sa.CheckConstraint(
            "(status = 'done') = (run_id IS NOT NULL)", name=op.f("ck_assignment_run_jobs_run")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["projects.review_rounds.id"],
            name=op.f("fk_assignment_run_jobs_round_id_review_rounds"),
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["projects.assignment_runs.id"],
            name=op.f("fk_assignment_run_jobs_run_id_assignment_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_run_jobs")),
        schema="projects",
    )
    op.create_index(
        op.f("ix_assignment_run_jobs_round_id"),
        "assignment_run_jobs",
        ["round_id"],
        unique=False,
        schema="projects",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_assignment_run_jobs_round_id"), table_name="assignment_run_jobs", schema="projects"
    )
    op.drop_table("assignment_run_jobs", schema="projects")
