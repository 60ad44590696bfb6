"""The written review's assignment method per call (optimal or random draw) and the recorded
random draws of a round's experts

Revision ID: draws_projects_1
Revises: documents_projects_1
Create Date: 2026-12-16 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "draws_projects_1"
down_revision: str | None = "documents_projects_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

S = "projects"


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    name = target.split(".")[0]
    return sa.ForeignKeyConstraint(
        [column], [f"{S}.{target}"], name=op.f(f"fk_{table}_{column}_{name}")
    )


def upgrade() -> None:
    op.create_table(
        "review_settings",
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("assignment_method", sa.String(length=12), nullable=False),
        sa.Column("set_by", sa.Uuid(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "assignment_method IN ('optimal', 'random_draw')",
            name=op.f("ck_review_settings_assignment_method"),
        ),
        _fk("review_settings", "call_id", "calls.id"),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_review_settings")),
        schema=S,
    )
    op.create_table(
        "assignment_draws",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("algorithm", sa.String(length=40), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("reserves", sa.Integer(), nullable=False),
        sa.Column("inputs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("applications", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("drawn_by", sa.Uuid(), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        _fk("assignment_draws", "round_id", "review_rounds.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment_draws")),
        schema=S,
    )
    op.create_index(
        op.f("ix_assignment_draws_round_id"),
        "assignment_draws",
        ["round_id"],
        unique=False,
        schema=S,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_assignment_draws_round_id"), table_name="assignment_draws", schema=S)
    op.drop_table("assignment_draws", schema=S)
    op.drop_table("review_settings", schema=S)
