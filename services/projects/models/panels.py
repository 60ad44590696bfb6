"""Review in stages: a panel meeting or defence (会评/答辩) after a call's written review, with
its shortlist, its members (chosen, or drawn at random from the qualified pool with a recorded
seed) and their scores."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.projects.models.base import Base, Timestamp
from shared.ids import uuid7
from shared.states import StateType, one_of


class PanelFormat(StrEnum):
    meeting = "meeting"  # 会评
    defence = "defence"  # 答辩


class PanelSelection(StrEnum):
    """How a call's panel members are found: named by the manager from the qualified pool, or
    only drawn at random from it (随机抽取)."""

    choice = "choice"
    draw = "draw"


class PanelState(StrEnum):
    forming = "forming"  # shortlist adjustable, members being drawn or chosen
    scoring = "scoring"  # shortlist and panel fixed, members enter scores
    closed = "closed"  # scores final: the combined ranking is what decisions draw on


class PanelMemberStatus(StrEnum):
    seated = "seated"
    reserve = "reserve"  # drawn after the seats, in order, for decliners
    declined = "declined"


class PanelSettings(Base):
    """A call's statement that its review has a panel stage, and how the two stages combine."""

    __tablename__ = "panel_settings"
    __table_args__ = (
        sa.CheckConstraint(one_of("format", PanelFormat), name="format"),
        sa.CheckConstraint(one_of("selection", PanelSelection), name="selection"),
        sa.CheckConstraint(
            "written_weight BETWEEN 0 AND 100 AND panel_weight BETWEEN 0 AND 100 "
            "AND written_weight + panel_weight = 100",
            name="weights",
        ),
    )

    call_id: Mapped[UUID] = mapped_column(sa.ForeignKey("calls.id"), primary_key=True)
    format: Mapped[PanelFormat] = mapped_column(StateType(PanelFormat, 10))
    selection: Mapped[PanelSelection] = mapped_column(StateType(PanelSelection, 10))
    written_weight: Mapped[int] = mapped_column()
    panel_weight: Mapped[int] = mapped_column()
    set_by: Mapped[UUID] = mapped_column()
    set_at: Mapped[datetime] = mapped_column(Timestamp)


class PanelStage(Base):
    """The panel stage of a call (one per call), after its written (proposal) round closed.
    The settings are copied in when it opens, so they cannot change under it."""

    __tablename__ = "panel_stages"
    __table_args__ = (
        sa.CheckConstraint(one_of("state", PanelState), name="state"),
        sa.CheckConstraint(one_of("format", PanelFormat), name="format"),
        sa.CheckConstraint(one_of("selection", PanelSelection), name="selection"),
        sa.CheckConstraint("written_weight + panel_weight = 100", name="weights"),
        sa.CheckConstraint("panel_size BETWEEN 1 AND 25", name="panel_size"),
        sa.CheckConstraint("reserves BETWEEN 0 AND 25", name="reserves"),
        sa.CheckConstraint("(top_n IS NULL) <> (min_score IS NULL)", name="shortlist_rule"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    call_id: Mapped[UUID] = mapped_column(sa.ForeignKey("calls.id"), unique=True)
    round_id: Mapped[UUID] = mapped_column(sa.ForeignKey("review_rounds.id"))
    state: Mapped[PanelState] = mapped_column(StateType(PanelState, 10))
    format: Mapped[PanelFormat] = mapped_column(StateType(PanelFormat, 10))
    selection: Mapped[PanelSelection] = mapped_column(StateType(PanelSelection, 10))
    written_weight: Mapped[int] = mapped_column()
    panel_weight: Mapped[int] = mapped_column()
    # The shortlist rule: the top N of the written ranking, or a written score at least this.
    top_n: Mapped[int | None] = mapped_column()
    min_score: Mapped[Decimal | None] = mapped_column(sa.Numeric(7, 3))
    panel_size: Mapped[int] = mapped_column()
    reserves: Mapped[int] = mapped_column()
    meeting_at: Mapped[datetime] = mapped_column(Timestamp)
    opened_by: Mapped[UUID] = mapped_column()
    opened_at: Mapped[datetime] = mapped_column(Timestamp)
    scoring_at: Mapped[datetime | None] = mapped_column(Timestamp)
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)


class PanelShortlistEntry(Base):
    """Every application the written round ranked, in or out of the shortlist: by the rule,
    or as a manager adjusted it with a reason."""

    __tablename__ = "panel_shortlist"

    stage_id: Mapped[UUID] = mapped_column(sa.ForeignKey("panel_stages.id"), primary_key=True)
    application_id: Mapped[UUID] = mapped_column(sa.ForeignKey("applications.id"), primary_key=True)
    written_rank: Mapped[int] = mapped_column()
    written_score: Mapped[Decimal] = mapped_column(sa.Numeric(7, 3))  # trimmed mean, 0..100
    by_rule: Mapped[bool] = mapped_column()
    shortlisted: Mapped[bool] = mapped_column()
    adjusted_by: Mapped[UUID | None] = mapped_column()
    adjusted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    adjustment_reason: Mapped[str | None] = mapped_column(sa.Text)


class PanelDraw(Base):
    """A random draw from the qualified pool: anyone with the same pool and seed gets the same
    order (`algorithm` says how), so the draw can be re-run and confirmed."""

    __tablename__ = "panel_draws"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    stage_id: Mapped[UUID] = mapped_column(sa.ForeignKey("panel_stages.id"), index=True)
    algorithm: Mapped[str] = mapped_column(sa.String(40))
    seed: Mapped[int] = mapped_column(sa.BigInteger)
    pool: Mapped[list[str]] = mapped_column(JSONB)  # the qualified experts' ids, sorted
    pool_hash: Mapped[str] = mapped_column(sa.String(64))
    # who was left out of the pool and why: [{"expert_id", "reasons": [...]}]
    excluded: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    seats: Mapped[int] = mapped_column()
    reserves: Mapped[int] = mapped_column()
    drawn: Mapped[list[str]] = mapped_column(JSONB)  # seats first, then reserves, in order
    drawn_by: Mapped[UUID] = mapped_column()
    drawn_at: Mapped[datetime] = mapped_column(Timestamp)


class PanelMember(Base):
    __tablename__ = "panel_members"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", PanelMemberStatus), name="status"),
        sa.UniqueConstraint("stage_id", "expert_id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid7)
    stage_id: Mapped[UUID] = mapped_column(sa.ForeignKey("panel_stages.id"))
    expert_id: Mapped[UUID] = mapped_column(sa.ForeignKey("experts.user_id"), index=True)
    status: Mapped[PanelMemberStatus] = mapped_column(StateType(PanelMemberStatus, 10))
    draw_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("panel_draws.id"))
    position: Mapped[int | None] = mapped_column()  # place in its draw, 1 first
    added_by: Mapped[UUID] = mapped_column()
    added_at: Mapped[datetime] = mapped_column(Timestamp)
    seated_at: Mapped[datetime | None] = mapped_column(Timestamp)
    declined_at: Mapped[datetime | None] = mapped_column(Timestamp)
    decline_reason: Mapped[str | None] = mapped_column(sa.Text)


class PanelScore(Base):
    """A seated member's score (0..100, the panel rubric) of a shortlisted application."""

    __tablename__ = "panel_scores"
    __table_args__ = (sa.CheckConstraint("score BETWEEN 0 AND 100", name="score"),)

    member_id: Mapped[UUID] = mapped_column(sa.ForeignKey("panel_members.id"), primary_key=True)
    application_id: Mapped[UUID] = mapped_column(sa.ForeignKey("applications.id"), primary_key=True)
    stage_id: Mapped[UUID] = mapped_column(sa.ForeignKey("panel_stages.id"), index=True)
    score: Mapped[int] = mapped_column(sa.SmallInteger)
    comment: Mapped[str] = mapped_column(sa.Text)
    saved_at: Mapped[datetime] = mapped_column(Timestamp)
