"""outputs (成果) verified by the organization; science and technology reports (科技报告)

Revision ID: outputs_projects_1
Revises: reports_projects_1
Create Date: 2026-12-10 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "outputs_projects_1"
down_revision: str | None = "reports_projects_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outputs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("achieved_on", sa.Date(), nullable=False),
        sa.Column("identifier", sa.String(length=200), nullable=True),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("indicator", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("registered_by", sa.Uuid(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('paper', 'patent', 'standard', 'software', 'dataset', 'award', 'transfer')",
            name=op.f("ck_outputs_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'verified', 'rejected')", name=op.f("ck_outputs_status")
        ),
        sa.CheckConstraint(
            "(kind = 'transfer') = (amount_fen IS NOT NULL)",
            name=op.f("ck_outputs_transfer_amount"),
        ),
        sa.CheckConstraint(
            "amount_fen IS NULL OR amount_fen > 0", name=op.f("ck_outputs_amount_positive")
        ),
        sa.CheckConstraint(
            "(status = 'rejected') = (rejection_reason IS NOT NULL)",
            name=op.f("ck_outputs_rejection_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.projects.id"],
            name=op.f("fk_outputs_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outputs")),
        schema="projects",
    )
    op.create_index(
        op.f("ix_outputs_project_id"), "outputs", ["project_id"], unique=False, schema="projects"
    )
    op.create_index(
        op.f("ix_outputs_status_achieved_on"),
        "outputs",
        ["status", "achieved_on"],
        unique=False,
        schema="projects",
    )
    op.create_index(
        "uq_outputs_project_id_kind_identifier",
        "outputs",
        ["project_id", "kind", "identifier"],
        unique=True,
        schema="projects",
        postgresql_where=sa.text("status <> 'rejected'"),
    )
    op.create_table(
        "tech_reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("embargo_until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("filename", sa.String(length=200), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("object_key", sa.String(length=200), nullable=True),
        sa.Column("deposited_by", sa.Uuid(), nullable=True),
        sa.Column("deposited_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('annual', 'final')", name=op.f("ck_tech_reports_kind")),
        sa.CheckConstraint("status IN ('draft', 'deposited')", name=op.f("ck_tech_reports_status")),
        sa.CheckConstraint(
            "(kind = 'annual') = (year IS NOT NULL)", name=op.f("ck_tech_reports_annual_year")
        ),
        sa.CheckConstraint(
            "(status = 'deposited') = (object_key IS NOT NULL AND deposited_at IS NOT NULL)",
            name=op.f("ck_tech_reports_deposited_document"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.projects.id"],
            name=op.f("fk_tech_reports_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tech_reports")),
        sa.UniqueConstraint("object_key", name=op.f("uq_tech_reports_object_key")),
        schema="projects",
    )
    op.create_index(
        op.f("ix_tech_reports_project_id"),
        "tech_reports",
        ["project_id"],
        unique=False,
        schema="projects",
    )
    op.create_index(
        "uq_tech_reports_final",
        "tech_reports",
        ["project_id"],
        unique=True,
        schema="projects",
        postgresql_where=sa.text("kind = 'final' AND status = 'deposited'"),
    )
    op.create_index(
        "uq_tech_reports_annual",
        "tech_reports",
        ["project_id", "year"],
        unique=True,
        schema="projects",
        postgresql_where=sa.text("kind = 'annual' AND status = 'deposited'"),
    )


def downgrade() -> None:
    op.drop_table("tech_reports", schema="projects")
    op.drop_table("outputs", schema="projects")
