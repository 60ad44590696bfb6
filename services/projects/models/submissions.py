"""Applications, their saved versions and attachments, and the agency's formal checks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, deferred, mapped_column

from services.projects.models.base import NOW, Base, Money, Timestamp
from shared.ids import uuid7
from shared.states import StateType, one_of


# draft -> submitted -> endorsed (by the organization) -> in_review (formal check passed)
# -> reviewed -> approved | reserved | rejected; `returned` (by the organization or the agency,
# with reasons) goes back to the applicant, who may edit and submit again before the close;
# `withdrawn` is possible at any time before a decision.
class ApplicationStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    returned = "returned"
    endorsed = "endorsed"
    in_review = "in_review"
    reviewed = "reviewed"
    approved = "approved"
    reserved = "reserved"
    rejected = "rejected"
    withdrawn = "withdrawn"


# Never reached the agency, or taken back: not counted as submitted.
NOT_SUBMITTED = (ApplicationStatus.draft, ApplicationStatus.withdrawn)
# Passed the formal check and waiting for a decision: what a proposal round reviews.
UNDER_REVIEW = (ApplicationStatus.in_review, ApplicationStatus.reviewed)
# Decided (the reserve may still be approved later).
DECIDED = (ApplicationStatus.approved, ApplicationStatus.reserved, ApplicationStatus.rejected)


class Application(Base):
    __tablename__ = "applications"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", ApplicationStatus), name="status"),
        # One live application per person per call: a second one is a duplicate (重复申报).
        sa.Index(
            None,
            "call_id",
            "applicant_id",
            unique=True,
            postgresql_where=sa.text("status <> 'withdrawn'"),
        ),
        sa.Index(None, "call_id", "status"),
        sa.Index(None, "org_id", "status"),
        # The standing reserve, oldest first: what the program lists and the expiry job claims.
        sa.Index(
            "ix_applications_reserved",
            "decided_at",
            "id",
            postgresql_where=sa.text("status = 'reserved'"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    call_id: Mapped[UUID] = mapped_column(sa.ForeignKey("calls.id"))
    applicant_id: Mapped[UUID] = mapped_column(index=True)
    org_id: Mapped[UUID] = mapped_column()
    status: Mapped[ApplicationStatus] = mapped_column(
        StateType(ApplicationStatus, 12), default=ApplicationStatus.draft
    )
    version: Mapped[int] = mapped_column(default=1)  # the latest saved version
    title: Mapped[str] = mapped_column(sa.String(300))  # of the latest version, for lists
    requested_budget_fen: Mapped[int] = mapped_column(Money, default=0)
    submitted_version: Mapped[int | None] = mapped_column()
    submitted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)
    approved_budget_fen: Mapped[int | None] = mapped_column(Money)
    decided_by: Mapped[UUID | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)
    updated_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)


class ApplicationVersion(Base):
    """Every save of an application, kept as it was: old versions stay readable."""

    __tablename__ = "application_versions"
    application_id: Mapped[UUID] = mapped_column(sa.ForeignKey("applications.id"), primary_key=True)
    version: Mapped[int] = mapped_column(primary_key=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    saved_by: Mapped[UUID] = mapped_column()
    saved_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)


# Who is on whose team (`visibility.teams_of`): a lookup, not a scan of every version.
# `TEAM` inline (not a bound parameter), so that queries match the index's expression.
TEAM: sa.ColumnClause[str] = sa.literal_column("'team'")
sa.Index(
    "ix_application_versions_team",
    ApplicationVersion.content[TEAM].label("team"),
    postgresql_using="gin",
    postgresql_ops={"team": "jsonb_path_ops"},
)


class Attachment(Base):
    """A file attached to an application; versions refer to it by id. Never changed.

    Its bytes are in the object store under `object_key`; the row keeps what is needed to
    serve and check them (size, SHA-256, type). Rows from before the store held the bytes in
    `legacy_content` until `sciplan attachments move-to-store` (run by `sciplan migrate`)
    moved them out.
    """

    __tablename__ = "attachments"
    __table_args__ = (
        sa.CheckConstraint("size_bytes > 0", name="not_empty"),
        sa.CheckConstraint("object_key IS NOT NULL OR content IS NOT NULL", name="stored"),
        # What is left to move into the store: found without reading the table.
        sa.Index(None, "id", postgresql_where=sa.text("object_key IS NULL")),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    application_id: Mapped[UUID] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    filename: Mapped[str] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size_bytes: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    object_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    legacy_content: Mapped[bytes | None] = deferred(mapped_column("content", sa.LargeBinary))
    uploaded_by: Mapped[UUID] = mapped_column()
    uploaded_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)


class FormalCheck(Base):
    """The agency's formal check of one submitted version: automatic rules, then a person."""

    __tablename__ = "formal_checks"
    __table_args__ = (
        sa.CheckConstraint("outcome IS NULL OR outcome IN ('passed', 'returned')", name="outcome"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    application_id: Mapped[UUID] = mapped_column(sa.ForeignKey("applications.id"), index=True)
    version: Mapped[int] = mapped_column()
    # [{"rule": "budget.within_limits", "passed": true, "detail": "..."}, ...]
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    # The credit service's answer as of submission time (level, eligible, reasons).
    credit: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    automatic_passed: Mapped[bool] = mapped_column()
    outcome: Mapped[str | None] = mapped_column(sa.String(10))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_by: Mapped[UUID | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)
