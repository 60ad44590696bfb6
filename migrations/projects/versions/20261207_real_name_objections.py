"""Real-name objections (实名异议) from the public: no account, a name and a contact instead

Revision ID: fd280a3099b3
Revises: 5d0a8e3f21c4
Create Date: 2026-12-07 06:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "fd280a3099b3"
down_revision: str | None = "5d0a8e3f21c4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "objections",
        sa.Column("objector_name", sa.String(length=200), nullable=True),
        schema="projects",
    )
    op.add_column(
        "objections",
        sa.Column("objector_contact", sa.String(length=254), nullable=True),
        schema="projects",
    )
    op.add_column(
        "objections",
        sa.Column("objector_organization", sa.String(length=200), nullable=True),
        schema="projects",
    )
    op.alter_column("objections", "filed_by", nullable=True, schema="projects")
    op.create_check_constraint(
        op.f("ck_objections_real_name"),
        "objections",
        "filed_by IS NOT NULL OR (objector_name IS NOT NULL AND objector_contact IS NOT NULL)",
        schema="projects",
    )


def downgrade() -> None:
    # Refused (NOT NULL fails) while objections lodged without an account exist: they are
    # records of the notice and are not deleted to go back.
    op.drop_constraint(
        op.f("ck_objections_real_name"), "objections", type_="check", schema="projects"
    )
    op.alter_column("objections", "filed_by", nullable=False, schema="projects")
    op.drop_column("objections", "objector_organization", schema="projects")
    op.drop_column("objections", "objector_contact", schema="projects")
    op.drop_column("objections", "objector_name", schema="projects")
