"""The standing project reserve: how long a program keeps reserved applications, and an index
of the reserve

Revision ID: reserve_projects_1
Revises: outputs_projects_1
Create Date: 2026-12-11 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "reserve_projects_1"
down_revision: str | None = "outputs_projects_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "programs",
        sa.Column("reserve_months", sa.Integer(), server_default="24", nullable=False),
        schema="projects",
    )
    op.create_check_constraint(
        op.f("ck_programs_reserve_months"),
        "programs",
        "reserve_months BETWEEN 1 AND 120",
        schema="projects",
    )
    op.create_index(
        "ix_applications_reserved",
        "applications",
        ["decided_at", "id"],
        unique=False,
        schema="projects",
        postgresql_where=sa.text("status = 'reserved'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_applications_reserved",
        table_name="applications",
        schema="projects",
        postgresql_where=sa.text("status = 'reserved'"),
    )
    op.drop_constraint(
        op.f("ck_programs_reserve_months"), "programs", type_="check", schema="projects"
    )
    op.drop_column("programs", "reserve_months", schema="projects")
