"""Calls for applications (申报指南)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column

from services.projects.models.base import NOW, Base, Money, Timestamp
from shared.contracts.vocabulary import CreditLevel
from shared.ids import uuid7
from shared.states import StateType, one_of


class CallState(StrEnum):
    """Stored states. Whether a published call is upcoming, open or closed follows from the
    clock and its opening and closing times (`Call.is_open`), so it is computed, never stored."""

    draft = "draft"
    published = "published"
    cancelled = "cancelled"
    decided = "decided"


class CallPhase(StrEnum):
    """Where a published call stands by the clock (`Call.is_upcoming`, `is_open`, `has_closed`):
    computed, never stored."""

    upcoming = "upcoming"
    open = "open"
    closed = "closed"


# Once published a call stays public, also after its decisions.
PUBLIC_CALL_STATES = (CallState.published, CallState.decided)
CREDIT_LEVELS = tuple(level.value for level in CreditLevel)


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        sa.CheckConstraint(one_of("state", CallState), name="state"),
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
    state: Mapped[CallState] = mapped_column(StateType(CallState, 12), default=CallState.draft)
    published_at: Mapped[datetime | None] = mapped_column(Timestamp)
    created_by: Mapped[UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)

    # When a call takes applications, in one definition for Python (`call.is_open(now)`) and SQL
    # (`Call.is_open(now)`): `&` and `|` combine booleans and SQL conditions alike. Open means
    # published and opens_at <= now < closes_at: at closes_at exactly it is closed.

    @hybrid_method
    def is_upcoming(self, now: datetime) -> bool:
        return (self.state == CallState.published) & (now < self.opens_at)

    @hybrid_method
    def is_open(self, now: datetime) -> bool:
        return (self.state == CallState.published) & (self.opens_at <= now) & (now < self.closes_at)

    @hybrid_method
    def has_closed(self, now: datetime) -> bool:
        """Past its close (or decided, which comes only after the close)."""
        return (self.state == CallState.decided) | (
            (self.state == CallState.published) & (self.closes_at <= now)
        )
