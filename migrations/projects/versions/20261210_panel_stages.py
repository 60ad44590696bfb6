"""Review in stages: panel settings of a call, panel stages with their shortlist, members,
random draws and scores

Revision ID: panel_projects_1
Revises: 4b7c2e91a0d5
Create Date: 2026-12-10 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "panel_projects_1"
down_revision: str | None = "4b7c2e91a0d5"
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
        "panel_settings",
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("selection", sa.String(length=10), nullable=False),
        sa.Column("written_weight", sa.Integer(), nullable=False),
        sa.Column("panel_weight", sa.Integer(), nullable=False),
        sa.Column("set_by", sa.Uuid(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "format IN ('meeting', 'defence')", name=op.f("ck_panel_settings_format")
        ),
        sa.CheckConstraint(
            "selection IN ('choice', 'draw')", name=op.f("ck_panel_settings_selection")
        ),
        sa.CheckConstraint(
            "written_weight BETWEEN 0 AND 100 AND panel_weight BETWEEN 0 AND 100 "
            "AND written_weight + panel_weight = 100",
            name=op.f("ck_panel_settings_weights"),
        ),
        _fk("panel_settings", "call_id", "calls.id"),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_panel_settings")),
        schema=S,
    )
    op.create_table(
        "panel_stages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("round_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("format", sa.String(length=10), nullable=False),
        sa.Column("selection", sa.String(length=10), nullable=False),
        sa.Column("written_weight", sa.Integer(), nullable=False),
        sa.Column("panel_weight", sa.Integer(), nullable=False),
        sa.Column("top_n", sa.Integer(), nullable=True),
        sa.Column("min_score", sa.Numeric(precision=7, scale=3), nullable=True),
        sa.Column("panel_size", sa.Integer(), nullable=False),
        sa.Column("reserves", sa.Integer(), nullable=False),
        sa.Column("meeting_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_by", sa.Uuid(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scoring_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('forming', 'scoring', 'closed')", name=op.f("ck_panel_stages_state")
        ),
        sa.CheckConstraint("format IN ('meeting', 'defence')", name=op.f("ck_panel_stages_format")),
        sa.CheckConstraint(
            "selection IN ('choice', 'draw')", name=op.f("ck_panel_stages_selection")
        ),
        sa.CheckConstraint(
            "written_weight + panel_weight = 100", name=op.f("ck_panel_stages_weights")
        ),
        sa.CheckConstraint("panel_size BETWEEN 1 AND 25", name=op.f("ck_panel_stages_panel_size")),
        sa.CheckConstraint("reserves BETWEEN 0 AND 25", name=op.f("ck_panel_stages_reserves")),
        sa.CheckConstraint(
            "(top_n IS NULL) <> (min_score IS NULL)", name=op.f("ck_panel_stages_shortlist_rule")
        ),
        _fk("panel_stages", "call_id", "calls.id"),
        _fk("panel_stages", "round_id", "review_rounds.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_stages")),
        sa.UniqueConstraint("call_id", name=op.f("uq_panel_stages_call_id")),
        schema=S,
    )
    op.create_table(
        "panel_shortlist",
        sa.Column("stage_id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("written_rank", sa.Integer(), nullable=False),
        sa.Column("written_score", sa.Numeric(precision=7, scale=3), nullable=False),
        sa.Column("by_rule", sa.Boolean(), nullable=False),
        sa.Column("shortlisted", sa.Boolean(), nullable=False),
        sa.Column("adjusted_by", sa.Uuid(), nullable=True),
        sa.Column("adjusted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("adjustment_reason", sa.Text(), nullable=True),
        _fk("panel_shortlist", "stage_id", "panel_stages.id"),
        _fk("panel_shortlist", "application_id", "applications.id"),
        sa.PrimaryKeyConstraint("stage_id", "application_id", name=op.f("pk_panel_shortlist")),
        schema=S,
    )
    op.create_table(
        "panel_draws",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("stage_id", sa.Uuid(), nullable=False),
        sa.Column("algorithm", sa.String(length=40), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("pool", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("pool_hash", sa.String(length=64), nullable=False),
        sa.Column("excluded", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("reserves", sa.Integer(), nullable=False),
        sa.Column("drawn", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("drawn_by", sa.Uuid(), nullable=False),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        _fk("panel_draws", "stage_id", "panel_stages.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_draws")),
        schema=S,
    )
    op.create_index(
        op.f("ix_panel_draws_stage_id"), "panel_draws", ["stage_id"], unique=False, schema=S
    )
    op.create_table(
        "panel_members",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("stage_id", sa.Uuid(), nullable=False),
        sa.Column("expert_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("draw_id", sa.Uuid(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("added_by", sa.Uuid(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('seated', 'reserve', 'declined')", name=op.f("ck_panel_members_status")
        ),
        _fk("panel_members", "stage_id", "panel_stages.id"),
        _fk("panel_members", "expert_id", "experts.user_id"),
        _fk("panel_members", "draw_id", "panel_draws.id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_panel_members")),
        sa.UniqueConstraint(
            "stage_id", "expert_id", name=op.f("uq_panel_members_stage_id_expert_id")
        ),
        schema=S,
    )
    op.create_index(
        op.f("ix_panel_members_expert_id"), "panel_members", ["expert_id"], unique=False, schema=S
    )
    op.create_table(
        "panel_scores",
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("stage_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("score BETWEEN 0 AND 100", name=op.f("ck_panel_scores_score")),
        _fk("panel_scores", "member_id", "panel_members.id"),
        _fk("panel_scores", "application_id", "applications.id"),
        _fk("panel_scores", "stage_id", "panel_stages.id"),
        sa.PrimaryKeyConstraint("member_id", "application_id", name=op.f("pk_panel_scores")),
        schema=S,
    )
    op.create_index(
        op.f("ix_panel_scores_stage_id"), "panel_scores", ["stage_id"], unique=False, schema=S
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_panel_scores_stage_id"), table_name="panel_scores", schema=S)
    op.drop_table("panel_scores", schema=S)
    op.drop_index(op.f("ix_panel_members_expert_id"), table_name="panel_members", schema=S)
    op.drop_table("panel_members", schema=S)
    op.drop_index(op.f("ix_panel_draws_stage_id"), table_name="panel_draws", schema=S)
    op.drop_table("panel_draws", schema=S)
    op.drop_table("panel_shortlist", schema=S)
    op.drop_table("panel_stages", schema=S)
    op.drop_table("panel_settings", schema=S)
