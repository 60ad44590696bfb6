"""account self-service: e-mail and phone of users, one-time account tokens, organizations'
requests to be registered

Revision ID: 3b7c2d9e41a5
Revises: fabc19294d3c
Create Date: 2026-12-07 03:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3b7c2d9e41a5"
down_revision: str | None = "fabc19294d3c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "users", sa.Column("email", sa.String(length=254), nullable=True), schema="gateway"
    )
    op.add_column(
        "users",
        sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True),
        schema="gateway",
    )
    op.add_column(
        "users", sa.Column("phone", sa.String(length=32), nullable=True), schema="gateway"
    )
    op.create_unique_constraint(op.f("uq_users_email"), "users", ["email"], schema="gateway")
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("spent_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["gateway.users.id"], name=op.f("fk_account_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
        schema="gateway",
    )
    op.create_index(
        op.f("ix_account_tokens_user_id"),
        "account_tokens",
        ["user_id"],
        unique=False,
        schema="gateway",
    )
    op.create_table(
        "organization_requests",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("contact_phone", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=True),
        sa.Column("decided_by", sa.UUID(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("organization_id", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["gateway.organizations.id"],
            name=op.f("fk_organization_requests_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organization_requests")),
        schema="gateway",
    )
    op.create_index(
        op.f("ix_organization_requests_credit_code"),
        "organization_requests",
        ["credit_code"],
        unique=False,
        schema="gateway",
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_organization_requests_credit_code"),
        table_name="organization_requests",
        schema="gateway",
    )
    op.drop_table("organization_requests", schema="gateway")
    op.drop_index(op.f("ix_account_tokens_user_id"), table_name="account_tokens", schema="gateway")
    op.drop_table("account_tokens", schema="gateway")
    op.drop_constraint(op.f("uq_users_email"), "users", schema="gateway", type_="unique")
    op.drop_column("users", "phone", schema="gateway")
    op.drop_column("users", "email_verified_at", schema="gateway")
    op.drop_column("users", "email", schema="gateway")
