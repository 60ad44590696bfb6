"""Documents the agency issues as PDF (task book, approval notice, acceptance certificate,
public notice): each numbered, its bytes' SHA-256 recorded, so that any copy can be checked."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.projects.models.base import Base, Timestamp
from shared.ids import uuid7
from shared.states import one_of


class DocumentKind(StrEnum):
    task_book = "task_book"  # 任务书, once signed by both parties
    approval_notice = "approval_notice"  # 立项通知书, once the public notice is over
    acceptance_certificate = "acceptance_certificate"  # 验收证书, once accepted
    public_notice = "public_notice"  # 公示, of a call's approved projects (public)


# Of a project; the public notice is of a call.
PROJECT_DOCUMENTS = (
    DocumentKind.task_book,
    DocumentKind.approval_notice,
    DocumentKind.acceptance_certificate,
)


class DocumentNumberSequence(Base):
    """The last document number given per kind and year. Taken in the transaction that issues
    the document (the row stays locked until it commits), so numbers run without gaps."""

    __tablename__ = "document_number_sequences"
    __table_args__ = (sa.CheckConstraint(one_of("kind", DocumentKind), name="kind"),)

    kind: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class IssuedDocument(Base):
    """One version of an issued document. A document keeps its number through its versions;
    a new version is issued when what it states changed, and supersedes the one before."""

    __tablename__ = "issued_documents"
    __table_args__ = (
        sa.CheckConstraint(one_of("kind", DocumentKind), name="kind"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.UniqueConstraint("number", "version"),
        sa.UniqueConstraint("kind", "subject_id", "version"),
        sa.UniqueConstraint("sha256"),
        # One current version per document.
        sa.Index(
            "ix_issued_documents_current",
            "kind",
            "subject_id",
            unique=True,
            postgresql_where=sa.text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    kind: Mapped[str] = mapped_column(sa.String(30))
    number: Mapped[str] = mapped_column(sa.String(30))  # RWS-2026-00001
    year: Mapped[int] = mapped_column()  # of the number (the first version's issue)
    sequence: Mapped[int] = mapped_column()
    version: Mapped[int] = mapped_column(default=1)
    # What the document is about: the project's id, or for a public notice the call's.
    subject_id: Mapped[UUID] = mapped_column()
    project_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    call_id: Mapped[UUID] = mapped_column(sa.ForeignKey("calls.id"), index=True)
    program_id: Mapped[UUID] = mapped_column(sa.ForeignKey("programs.id"))
    # Everything printed, so the same bytes can be made again; its hash says whether a new
    # issue would state anything new.
    inputs: Mapped[dict[str, Any]] = mapped_column(JSONB)
    inputs_sha256: Mapped[str] = mapped_column(sa.String(64))
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    object_key: Mapped[str] = mapped_column(sa.String(200))
    issued_by: Mapped[UUID] = mapped_column()
    issued_at: Mapped[datetime] = mapped_column(Timestamp)
    superseded_at: Mapped[datetime | None] = mapped_column(Timestamp)
