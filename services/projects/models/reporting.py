"""Reports on schedule: a program's reporting policy, each project's schedule of reports due,
and what the reminder job has told about each due report."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.projects.models.base import NOW, Base, Timestamp
from services.projects.models.lifecycle import REPORT_KINDS
from shared.ids import uuid7
from shared.states import StateType, one_of


class Supervision(StrEnum):
    """分类管理: how closely a project is followed, from its PI's and organization's credit."""

    simplified = "simplified"  # no mid-term report
    standard = "standard"
    enhanced = "enhanced"  # semi-annual progress reports and a spot check


class ScheduleSource(StrEnum):
    program = "program"  # the program's default schedule
    task_book = "task_book"  # the task book's own list


class ReportPolicy(Base):
    """A program's reporting rules; a program without a row follows the defaults
    (`services.projects.reporting.policy.DEFAULT_POLICY`). Applied when a schedule is made:
    a change does not move the schedules of projects already signed."""

    __tablename__ = "report_policies"

    program_id: Mapped[UUID] = mapped_column(sa.ForeignKey("programs.id"), primary_key=True)
    # {"reminder_days": [30, 7], "final_overdue_days": 30, "annual": true, ...}: the validated
    # `ReportPolicyWrite` as the manager last wrote it.
    terms: Mapped[dict[str, Any]] = mapped_column(JSONB)
    updated_by: Mapped[UUID] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class ReportSchedule(Base):
    """A project's schedule as made when its task book was signed."""

    __tablename__ = "report_schedules"
    __table_args__ = (
        sa.CheckConstraint(one_of("supervision", Supervision), name="supervision"),
        sa.CheckConstraint(one_of("source", ScheduleSource), name="source"),
    )

    project_id: Mapped[UUID] = mapped_column(sa.ForeignKey("projects.id"), primary_key=True)
    program_id: Mapped[UUID] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    source: Mapped[ScheduleSource] = mapped_column(StateType(ScheduleSource, 10))
    supervision: Mapped[Supervision] = mapped_column(StateType(Supervision, 10))
    # The worse of the PI's and the organization's levels when it was made; None when the
    # credit service could not be asked (standard supervision then).
    credit_level: Mapped[str | None] = mapped_column(sa.String(1))
    spot_check: Mapped[bool] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)


class ReportDue(Base):
    """One report a project owes: its kind, period and due date, the report that met it, and
    what the reminder job has told so far (`next_notice_at`: when it has something to tell
    next; None once nothing is left)."""

    __tablename__ = "report_dues"
    __table_args__ = (
        sa.CheckConstraint(one_of("kind", REPORT_KINDS), name="kind"),
        sa.Index(
            "ix_report_dues_next_notice_at",
            "next_notice_at",
            postgresql_where=sa.text("next_notice_at IS NOT NULL"),
        ),
        sa.Index(None, "program_id", "due_on"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    project_id: Mapped[UUID] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    program_id: Mapped[UUID] = mapped_column(sa.ForeignKey("programs.id"))
    kind: Mapped[str] = mapped_column(sa.String(10))
    period: Mapped[str | None] = mapped_column(sa.String(20))
    due_on: Mapped[date] = mapped_column()
    # Days before the due date to remind the PI, and (final reports) days past it after which
    # a credit record is proposed: the program's policy when the schedule was made.
    reminder_days: Mapped[list[int]] = mapped_column(ARRAY(sa.Integer))
    escalate_after_days: Mapped[int | None] = mapped_column()
    report_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("reports.id"), unique=True)
    submitted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    reminded: Mapped[list[int]] = mapped_column(ARRAY(sa.Integer))
    overdue_told_at: Mapped[datetime | None] = mapped_column(Timestamp)
    escalated_at: Mapped[datetime | None] = mapped_column(Timestamp)
    next_notice_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)
