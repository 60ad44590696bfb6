"""Reports on schedule: program reporting policies, project schedules and the reports they owe

Revision ID: reports_projects_1
Revises: consortium_projects_1
Create Date: 2026-12-10 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "reports_projects_1"
down_revision: str | None = "consortium_projects_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "kind IN ('annual', 'midterm', 'final', 'financial', 'progress')"


def upgrade() -> None:
    op.drop_constraint(op.f("ck_reports_kind"), "reports", type_="check", schema="projects")
    op.create_check_constraint(op.f("ck_reports_kind"), "reports", KINDS, schema="projects")
    op.add_column(
        "reports",
        sa.Column("excellent", sa.Boolean(), server_default=sa.false(), nullable=False),
        schema="projects",
    )
    op.add_column(
        "task_books",
        sa.Column("reports", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema="projects",
    )
    op.create_table(
        "report_policies",
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("terms", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["projects.programs.id"],
            name=op.f("fk_report_policies_program_id_programs"),
        ),
        sa.PrimaryKeyConstraint("program_id", name=op.f("pk_report_policies")),
        schema="projects",
    )
    op.create_table(
        "report_schedules",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("supervision", sa.String(length=10), nullable=False),
        sa.Column("credit_level", sa.String(length=1), nullable=True),
        sa.Column("spot_check", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "supervision IN ('simplified', 'standard', 'enhanced')",
            name=op.f("ck_report_schedules_supervision"),
        ),
        sa.CheckConstraint(
            "source IN ('program', 'task_book')", name=op.f("ck_report_schedules_source")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["projects.programs.id"],
            name=op.f("fk_report_schedules_program_id_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.projects.id"],
            name=op.f("fk_report_schedules_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_report_schedules")),
        schema="projects",
    )
    op.create_index(
        op.f("ix_report_schedules_program_id"),
        "report_schedules",
        ["program_id"],
        unique=False,
        schema="projects",
    )
    op.create_table(
        "report_dues",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("reminder_days", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("escalate_after_days", sa.Integer(), nullable=True),
        sa.Column("report_id", sa.Uuid(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded", postgresql.ARRAY(sa.Integer()), nullable=False),
        sa.Column("overdue_told_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_notice_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(KINDS, name=op.f("ck_report_dues_kind")),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["projects.programs.id"],
            name=op.f("fk_report_dues_program_id_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.projects.id"],
            name=op.f("fk_report_dues_project_id_projects"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["projects.reports.id"],
            name=op.f("fk_report_dues_report_id_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_dues")),
        sa.UniqueConstraint("report_id", name=op.f("uq_report_dues_report_id")),
        schema="projects",
    )
    op.create_index(
        op.f("ix_report_dues_project_id"),
        "report_dues",
        ["project_id"],
        unique=False,
        schema="projects",
    )
    op.create_index(
        op.f("ix_report_dues_program_id_due_on"),
        "report_dues",
        ["program_id", "due_on"],
        unique=False,
        schema="projects",
    )
    op.create_index(
        "ix_report_dues_next_notice_at",
        "report_dues",
        ["next_notice_at"],
        unique=False,
        schema="projects",
        postgresql_where=sa.text("next_notice_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_report_dues_next_notice_at",
        table_name="report_dues",
        schema="projects",
        postgresql_where=sa.text("next_notice_at IS NOT NULL"),
    )
    op.drop_index(
        op.f("ix_report_dues_program_id_due_on"), table_name="report_dues", schema="projects"
    )
    op.drop_index(op.f("ix_report_dues_project_id"), table_name="report_dues", schema="projects")
    op.drop_table("report_dues", schema="projects")
    op.drop_index(
        op.f("ix_report_schedules_program_id"), table_name="report_schedules", schema="projects"
    )
    op.drop_table("report_schedules", schema="projects")
    op.drop_table("report_policies", schema="projects")
    op.drop_column("task_books", "reports", schema="projects")
    op.drop_column("reports", "excellent", schema="projects")
    op.drop_constraint(op.f("ck_reports_kind"), "reports", type_="check", schema="projects")
    op.create_check_constraint(
        op.f("ck_reports_kind"),
        "reports",
        "kind IN ('annual', 'midterm', 'final')",
        schema="projects",
    )
