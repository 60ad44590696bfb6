"""An approved project from public notice to closure: notice objections, task book, reports,
changes, acceptance and termination."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column

from services.projects.models.base import NOW, Base, Money, Timestamp
from shared.ids import uuid7
from shared.states import StateType, one_of


# in_notice -> awaiting_contract (notice over, no open objection) -> in_progress (task book
# signed by both) -> accepted | acceptance_failed; terminated from any state before the end;
# `cancelled` when an upheld objection ends the project before its task book.
class ProjectStatus(StrEnum):
    in_notice = "in_notice"
    awaiting_contract = "awaiting_contract"
    in_progress = "in_progress"
    accepted = "accepted"
    acceptance_failed = "acceptance_failed"
    terminated = "terminated"
    cancelled = "cancelled"


# Not yet under contract: its task book may be drafted, an upheld objection cancels it.
BEFORE_CONTRACT = (ProjectStatus.in_notice, ProjectStatus.awaiting_contract)
# Still running (counts toward a researcher's limit of projects; can be terminated).
RUNNING = (*BEFORE_CONTRACT, ProjectStatus.in_progress)
# Public from the notice on; a cancelled project (an upheld objection) never went ahead.
PUBLIC_PROJECT_STATES = tuple(s for s in ProjectStatus if s != ProjectStatus.cancelled)
# financial: the final financial statement (财务决算); progress: the semi-annual report of a
# project under enhanced supervision.
REPORT_KINDS = ("annual", "midterm", "final", "financial", "progress")


class ObjectionStatus(StrEnum):
    open = "open"
    upheld = "upheld"
    dismissed = "dismissed"


class ReportStatus(StrEnum):
    """Submitted, then the reviewer's verdict."""

    submitted = "submitted"
    passed = "passed"
    rectify = "rectify"
    terminate = "terminate"
    failed = "failed"
    conditional = "conditional"


class ChangeStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


CHANGE_KINDS = ("extension", "pi_change", "budget_reallocation")
TERMINATION_CAUSES = ("misconduct", "inability", "request")


class Project(Base):
    __tablename__ = "projects"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", ProjectStatus), name="status"),
        sa.CheckConstraint("approved_budget_fen > 0", name="budget_positive"),
        sa.CheckConstraint(
            "termination_cause IS NULL OR " + one_of("termination_cause", TERMINATION_CAUSES),
            name="termination_cause",
        ),
        sa.Index(None, "program_id", "year"),
        sa.Index(None, "pi_id", "status"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    application_id: Mapped[UUID] = mapped_column(sa.ForeignKey("applications.id"), unique=True)
    number: Mapped[str] = mapped_column(sa.String(30), unique=True)
    call_id: Mapped[UUID] = mapped_column(sa.ForeignKey("calls.id"), index=True)
    program_id: Mapped[UUID] = mapped_column(sa.ForeignKey("programs.id"))
    year: Mapped[int] = mapped_column()
    org_id: Mapped[UUID] = mapped_column(index=True)
    pi_id: Mapped[UUID] = mapped_column()
    pi_name: Mapped[str] = mapped_column(sa.String(200))  # the only personal data made public
    org_name: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[str] = mapped_column(sa.String(300))
    approved_budget_fen: Mapped[int] = mapped_column(Money)
    status: Mapped[ProjectStatus] = mapped_column(
        StateType(ProjectStatus, 20), default=ProjectStatus.in_notice
    )
    notice_starts_at: Mapped[datetime] = mapped_column(Timestamp)
    notice_ends_at: Mapped[datetime] = mapped_column(Timestamp)
    starts_on: Mapped[date | None] = mapped_column()
    ends_on: Mapped[date | None] = mapped_column()
    contracted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    acceptance_conditions: Mapped[str | None] = mapped_column(sa.Text)
    termination_cause: Mapped[str | None] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)

    @hybrid_method
    def notice_ran_out(self, now: datetime) -> bool:
        """Still in notice though the notice has ended: over unless an objection is open. One
        definition for Python and SQL (`&` joins both)."""
        return (self.status == ProjectStatus.in_notice) & (self.notice_ends_at <= now)


class NumberSequence(Base):
    """The last project number given per program and year (`2026-ZDYF-0001`, `-0002`, ...)."""

    __tablename__ = "number_sequences"

    program_code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class Objection(Base):
    """An objection to an approved project during its public notice (公示异议): filed by a
    logged-in person (`filed_by`), or lodged by a member of the public under their real name
    (实名异议) with a way to reach them. Nobody objects anonymously."""

    __tablename__ = "objections"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", ObjectionStatus), name="status"),
        sa.CheckConstraint(
            "filed_by IS NOT NULL OR (objector_name IS NOT NULL AND objector_contact IS NOT NULL)",
            name="real_name",
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    project_id: Mapped[UUID] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    filed_by: Mapped[UUID | None] = mapped_column()
    # The objector as they named themselves (for an account: its display name when filed).
    # Personal data: the program's managers read it, the public listing and the PI never do.
    objector_name: Mapped[str | None] = mapped_column(sa.String(200))
    objector_contact: Mapped[str | None] = mapped_column(sa.String(254))
    objector_organization: Mapped[str | None] = mapped_column(sa.String(200))
    reasons: Mapped[str] = mapped_column(sa.Text)
    filed_at: Mapped[datetime] = mapped_column(Timestamp)
    status: Mapped[ObjectionStatus] = mapped_column(
        StateType(ObjectionStatus, 10), default=ObjectionStatus.open
    )
    resolution: Mapped[str | None] = mapped_column(sa.Text)
    resolved_by: Mapped[UUID | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column(Timestamp)


class TaskBook(Base):
    """The task book (任务书): what was promised and paid, signed by organization and agency."""

    __tablename__ = "task_books"

    project_id: Mapped[UUID] = mapped_column(sa.ForeignKey("projects.id"), primary_key=True)
    # {"equipment": fen, "business": fen, "labour": fen, "indirect": fen}
    budget: Mapped[dict[str, int]] = mapped_column(JSONB)
    # [{"name": ..., "amount_fen": ..., "on": "signing" | "midterm" | "acceptance"}]
    tranches: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    milestones: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    indicators: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    # [{"kind": ..., "period": ..., "due_on": "YYYY-MM-DD"}]: the task book's own schedule of
    # reports; None: the program's default schedule is made at signing.
    reports: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date] = mapped_column()
    drafted_by: Mapped[UUID] = mapped_column()
    drafted_at: Mapped[datetime] = mapped_column(Timestamp)
    org_signed_by: Mapped[UUID | None] = mapped_column()
    org_signed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    agency_signed_by: Mapped[UUID | None] = mapped_column()
    agency_signed_at: Mapped[datetime | None] = mapped_column(Timestamp)


class Report(Base):
    """An annual, mid-term, progress, financial or final (acceptance) report and its review."""

    __tablename__ = "reports"
    __table_args__ = (
        sa.CheckConstraint(one_of("kind", REPORT_KINDS), name="kind"),
        sa.CheckConstraint(one_of("status", ReportStatus), name="status"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    project_id: Mapped[UUID] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    period: Mapped[str | None] = mapped_column(sa.String(20))  # e.g. the year of an annual one
    # {"summary": ..., "milestones": [{"name", "done", "note"}],
    #  "indicators": [{"name", "achieved"}]}
    content: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[ReportStatus] = mapped_column(
        StateType(ReportStatus, 12), default=ReportStatus.submitted
    )
    submitted_by: Mapped[UUID] = mapped_column()
    submitted_at: Mapped[datetime] = mapped_column(Timestamp)
    review_comment: Mapped[str | None] = mapped_column(sa.Text)
    reviewed_by: Mapped[UUID | None] = mapped_column()
    reviewed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    # A final report accepted with the grade excellent (优秀): credit is proposed a good record.
    excellent: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


class ChangeRequest(Base):
    """A requested change of a running project (extension, PI change, budget reallocation)."""

    __tablename__ = "change_requests"
    __table_args__ = (
        sa.CheckConstraint(one_of("kind", CHANGE_KINDS), name="kind"),
        sa.CheckConstraint(one_of("status", ChangeStatus), name="status"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    project_id: Mapped[UUID] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[ChangeStatus] = mapped_column(
        StateType(ChangeStatus, 10), default=ChangeStatus.pending
    )
    requested_by: Mapped[UUID] = mapped_column()
    requested_at: Mapped[datetime] = mapped_column(Timestamp)
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)
    decided_by: Mapped[UUID | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
