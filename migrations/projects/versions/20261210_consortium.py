"""Consortium applications (each organization's part, budget share, co-PIs and endorsement)
and the PI's delegates who may draft

Revision ID: consortium_projects_1
Revises: panel_projects_1
Create Date: 2026-12-10 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "consortium_projects_1"
down_revision: str | None = "panel_projects_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consortium_parts",
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("org_id", sa.Uuid(), nullable=False),
        sa.Column("is_lead", sa.Boolean(), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=False),
        sa.Column("work", sa.Text(), nullable=False),
        sa.Column("co_pi_ids", postgresql.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("endorsement", sa.String(length=10), nullable=True),
        sa.Column("endorsed_by", sa.Uuid(), nullable=True),
        sa.Column("endorsed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("endorsed_version", sa.Integer(), nullable=True),
        sa.Column("endorsement_reason", sa.Text(), nullable=True),
        sa.Column("set_by", sa.Uuid(), nullable=False),
        sa.Column(
            "set_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint("budget_fen >= 0", name=op.f("ck_consortium_parts_budget_not_negative")),
        sa.CheckConstraint(
            "endorsement IS NULL OR endorsement IN ('pending', 'endorsed', 'declined')",
            name=op.f("ck_consortium_parts_endorsement"),
        ),
        sa.CheckConstraint(
            "is_lead = (endorsement IS NULL)",
            name=op.f("ck_consortium_parts_lead_has_no_endorsement"),
        ),
        sa.CheckConstraint(
            "(endorsement IS NULL OR endorsement = 'pending') = (endorsed_by IS NULL)",
            name=op.f("ck_consortium_parts_endorsed_by_someone"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["projects.applications.id"],
            name=op.f("fk_consortium_parts_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("application_id", "org_id", name=op.f("pk_consortium_parts")),
        schema="projects",
    )
    op.create_index(
        op.f("ix_consortium_parts_org_id"),
        "consortium_parts",
        ["org_id"],
        unique=False,
        schema="projects",
    )
    op.create_table(
        "application_delegations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("application_id", sa.Uuid(), nullable=False),
        sa.Column("delegate_id", sa.Uuid(), nullable=False),
        sa.Column("granted_by", sa.Uuid(), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_by", sa.Uuid(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(revoked_at IS NULL) = (revoked_by IS NULL)",
            name=op.f("ck_application_delegations_revoked_by_someone"),
        ),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["projects.applications.id"],
            name=op.f("fk_application_delegations_application_id_applications"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application_delegations")),
        schema="projects",
    )
    op.create_index(
        op.f("ix_application_delegations_application_id"),
        "application_delegations",
        ["application_id"],
        unique=False,
        schema="projects",
    )
    op.create_index(
        op.f("ix_application_delegations_application_id_delegate_id"),
        "application_delegations",
        ["application_id", "delegate_id"],
        unique=True,
        schema="projects",
        postgresql_where=sa.text("revoked_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("application_delegations", schema="projects")
    op.drop_table("consortium_parts", schema="projects")
