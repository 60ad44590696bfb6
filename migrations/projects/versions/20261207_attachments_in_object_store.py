"""Attachments in the object store: a key per row; the bytes column emptied, then dropped later

Schema only: `sciplan attachments move-to-store` (run by `sciplan migrate`) moves the bytes of
existing rows into the store and empties `content`, which a later release drops.

Revision ID: 3c1f5e8a9b20
Revises: fd280a3099b3
Create Date: 2026-12-07 13:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c1f5e8a9b20"
down_revision: str | None = "fd280a3099b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "attachments",
        sa.Column("object_key", sa.String(length=200), nullable=True),
        schema="projects",
    )
    op.create_unique_constraint(
        op.f("uq_attachments_object_key"), "attachments", ["object_key"], schema="projects"
    )
    op.alter_column("attachments", "content", nullable=True, schema="projects")
    op.create_check_constraint(
        op.f("ck_attachments_stored"),
        "attachments",
        "object_key IS NOT NULL OR content IS NOT NULL",
        schema="projects",
    )
    op.create_index(
        op.f("ix_attachments_id"),
        "attachments",
        ["id"],
        schema="projects",
        postgresql_where=sa.text("object_key IS NULL"),
    )


def downgrade() -> None:
    # Only while every row still has its bytes (before anything was moved out).
    op.drop_index(op.f("ix_attachments_id"), table_name="attachments", schema="projects")
    op.drop_constraint(
        op.f("ck_attachments_stored"), "attachments", type_="check", schema="projects"
    )
    op.alter_column("attachments", "content", nullable=False, schema="projects")
    op.drop_constraint(
        op.f("uq_attachments_object_key"), "attachments", type_="unique", schema="projects"
    )
    op.drop_column("attachments", "object_key", schema="projects")
