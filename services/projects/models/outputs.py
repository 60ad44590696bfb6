"""What projects produce: outputs (成果) verified by the organization, and the science and
technology reports (科技报告) they deposit, whose abstracts become public after an embargo."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.projects.models.base import NOW, Base, Money, Timestamp
from shared.ids import uuid7
from shared.states import StateType, one_of


class OutputKind(StrEnum):
    paper = "paper"
    patent = "patent"
    standard = "standard"
    software = "software"
    dataset = "dataset"
    award = "award"
    transfer = "transfer"  # 成果转化: a contract with a licensee, for an amount


# pending (registered by the team) -> verified | rejected (by the organization, with a reason)
class OutputStatus(StrEnum):
    pending = "pending"
    verified = "verified"
    rejected = "rejected"


class Output(Base):
    """One output of a project, as registered by its team and judged by its organization.

    `identifier` is what makes an output the same one twice (a paper's DOI, a patent's number,
    a standard's number, a transfer's contract number), normalized; a project holds each at
    most once, a rejected registration aside. `details` keeps the rest of what its kind has.
    """

    __tablename__ = "outputs"
    __table_args__ = (
        sa.CheckConstraint(one_of("kind", OutputKind), name="kind"),
        sa.CheckConstraint(one_of("status", OutputStatus), name="status"),
        sa.CheckConstraint(
            "(kind = 'transfer') = (amount_fen IS NOT NULL)", name="transfer_amount"
        ),
        sa.CheckConstraint("amount_fen IS NULL OR amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint(
            "(status = 'rejected') = (rejection_reason IS NOT NULL)", name="rejection_reason"
        ),
        sa.Index(
            "uq_outputs_project_id_kind_identifier",
            "project_id",
            "kind",
            "identifier",
            unique=True,
            postgresql_where=sa.text("status <> 'rejected'"),
        ),
        sa.Index(None, "status", "achieved_on"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    project_id: Mapped[UUID] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    kind: Mapped[OutputKind] = mapped_column(StateType(OutputKind, 10))
    title: Mapped[str] = mapped_column(sa.String(500))
    achieved_on: Mapped[date] = mapped_column()  # published, filed, issued, signed: its year counts
    identifier: Mapped[str | None] = mapped_column(sa.String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    amount_fen: Mapped[int | None] = mapped_column(Money)  # a transfer's contract amount
    indicator: Mapped[str | None] = mapped_column(sa.String(200))  # the task book's, if any
    status: Mapped[OutputStatus] = mapped_column(
        StateType(OutputStatus, 10), default=OutputStatus.pending
    )
    registered_by: Mapped[UUID] = mapped_column()
    registered_at: Mapped[datetime] = mapped_column(Timestamp)
    decided_by: Mapped[UUID | None] = mapped_column()
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    rejection_reason: Mapped[str | None] = mapped_column(sa.Text)


TECH_REPORT_KINDS = ("annual", "final")


# draft (what it is and its abstract) -> deposited (its document stored; never changed again)
class TechReportStatus(StrEnum):
    draft = "draft"
    deposited = "deposited"


class TechReport(Base):
    """A science and technology report (科技报告), annual or final: a document for staff and
    the project's team, and an abstract that is public from `embargo_until` (Asia/Shanghai
    dates; none: from the deposit)."""

    __tablename__ = "tech_reports"
    __table_args__ = (
        sa.CheckConstraint(one_of("kind", TECH_REPORT_KINDS), name="kind"),
        sa.CheckConstraint(one_of("status", TechReportStatus), name="status"),
        sa.CheckConstraint("(kind = 'annual') = (year IS NOT NULL)", name="annual_year"),
        sa.CheckConstraint(
            "(status = 'deposited') = (object_key IS NOT NULL AND deposited_at IS NOT NULL)",
            name="deposited_document",
        ),
        # One final report per project, one annual report per project and year, once deposited.
        sa.Index(
            "uq_tech_reports_final",
            "project_id",
            unique=True,
            postgresql_where=sa.text("kind = 'final' AND status = 'deposited'"),
        ),
        sa.Index(
            "uq_tech_reports_annual",
            "project_id",
            "year",
            unique=True,
            postgresql_where=sa.text("kind = 'annual' AND status = 'deposited'"),
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    project_id: Mapped[UUID] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))
    year: Mapped[int | None] = mapped_column()  # the year an annual report covers
    title: Mapped[str] = mapped_column(sa.String(300))
    abstract: Mapped[str] = mapped_column(sa.Text)
    embargo_until: Mapped[date | None] = mapped_column()
    status: Mapped[TechReportStatus] = mapped_column(
        StateType(TechReportStatus, 10), default=TechReportStatus.draft
    )
    created_by: Mapped[UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)
    filename: Mapped[str | None] = mapped_column(sa.String(200))
    content_type: Mapped[str | None] = mapped_column(sa.String(100))
    size_bytes: Mapped[int | None] = mapped_column()
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    object_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    deposited_by: Mapped[UUID | None] = mapped_column()
    deposited_at: Mapped[datetime | None] = mapped_column(Timestamp)
