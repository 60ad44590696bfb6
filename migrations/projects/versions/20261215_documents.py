"""Issued documents (task book, approval notice, acceptance certificate, public notice) as PDF,
numbered per kind and year, with the SHA-256 of their bytes

Revision ID: documents_projects_1
Revises: reserve_projects_1
Create Date: 2026-12-15 10:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "documents_projects_1"
down_revision: str | None = "reserve_projects_1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = "kind IN ('task_book', 'approval_notice', 'acceptance_certificate', 'public_notice')"


def upgrade() -> None:
    op.create_table(
        "document_number_sequences",
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.CheckConstraint(KINDS, name=op.f("ck_document_number_sequences_kind")),
        sa.PrimaryKeyConstraint("kind", "year", name=op.f("pk_document_number_sequences")),
        schema="projects",
    )
    op.create_table(
        "issued_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("call_id", sa.Uuid(), nullable=False),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("inputs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("inputs_sha256", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("object_key", sa.String(length=200), nullable=False),
        sa.Column("issued_by", sa.Uuid(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(KINDS, name=op.f("ck_issued_documents_kind")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_issued_documents_version_positive")),
        sa.ForeignKeyConstraint(
            ["call_id"], ["projects.calls.id"], name=op.f("fk_issued_documents_call_id_calls")
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["projects.programs.id"],
            name=op.f("fk_issued_documents_program_id_programs"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.projects.id"],
            name=op.f("fk_issued_documents_project_id_projects"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_issued_documents")),
        sa.UniqueConstraint("number", "version", name=op.f("uq_issued_documents_number_version")),
        sa.UniqueConstraint(
            "kind",
            "subject_id",
            "version",
            name=op.f("uq_issued_documents_kind_subject_id_version"),
        ),
        sa.UniqueConstraint("sha256", name=op.f("uq_issued_documents_sha256")),
        schema="projects",
    )
    op.create_index(
        op.f("ix_issued_documents_call_id"), "issued_documents", ["call_id"], schema="projects"
    )
    op.create_index(
        op.f("ix_issued_documents_project_id"),
        "issued_documents",
        ["project_id"],
        schema="projects",
    )
    op.create_index(
        "ix_issued_documents_current",
        "issued_documents",
        ["kind", "subject_id"],
        unique=True,
        schema="projects",
        postgresql_where=sa.text("superseded_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("issued_documents", schema="projects")
    op.drop_table("document_number_sequences", schema="projects")
