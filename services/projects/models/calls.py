"""Calls for applications (申报指南)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.projects.models.base import NOW, Base, Money, Timestamp, one_of
from shared.contracts.vocabulary import CreditLevel
from shared.ids import uuid7

# Stored states. Whether a published call is upcoming, open or closed follows from the clock
# and its opening and closing times, so it is computed, never stored.
CALL_STATES = ("draft", "published", "cancelled", "decided")
CREDIT_LEVELS = tuple(level.value for level in CreditLevel)


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        sa.CheckConstraint(one_of("state", CALL_STATES), name="state"),
        sa.CheckConstraint(one_of("min_credit_level", CREDIT_LEVELS), name="min_credit_level"),
        sa.CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
        sa.CheckConstraint(
            "budget_min_fen >= 0 AND budget_max_fen >= budget_min_fen", name="budget_range"
        ),
        sa.CheckConstraint("max_active_projects_per_pi >= 1", name="project_limit"),
        sa.CheckConstraint("experts_per_application BETWEEN 1 AND 15", name="experts"),
        sa.CheckConstraint("notice_days BETWEEN 1 AND 60", name="notice_days"),
        sa.Index(None, "state", "closes_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    program_id: Mapped[UUID] = mapped_column(sa.ForeignKey("programs.id"), index=True)
    year: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(sa.String(300))
    guideline: Mapped[str] = mapped_column(sa.Text)
    opens_at: Mapped[datetime] = mapped_column(Timestamp)
    closes_at: Mapped[datetime] = mapped_column(Timestamp)
    eligible_org_kinds: Mapped[list[str]] = mapped_column(ARRAY(sa.String(40)))
    budget_min_fen: Mapped[int] = mapped_column(Money)
    budget_max_fen: Mapped[int] = mapped_column(Money)
    max_active_projects_per_pi: Mapped[int] = mapped_column()  # 限项
    min_credit_level: Mapped[str] = mapped_column(sa.String(1))
    required_attachments: Mapped[list[str]] = mapped_column(ARRAY(sa.String(40)))
    review_template: Mapped[dict[str, Any]] = mapped_column(JSONB)
    experts_per_application: Mapped[int] = mapped_column()
    notice_days: Mapped[int] = mapped_column()  # length of the public notice (公示), in days
    state: Mapped[str] = mapped_column(sa.String(12), default="draft")
    published_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_by: Mapped[UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)
