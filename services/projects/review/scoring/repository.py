"""SQL for score sheets, the reviews that count in a round, and closing it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import (
    Application,
    Assignment,
    Call,
    Conflict,
    Expert,
    Program,
    ReviewRound,
    ScoreSheet,
)
from services.projects.models.review import (
    LIVE_ASSIGNMENTS,
    AssignmentStatus,
    RoundState,
    SheetStatus,
)
from services.projects.models.submissions import ApplicationStatus


@dataclass(frozen=True)
class CountedReview:
    """A submitted sheet that counts: its assignment is accepted, its application not withdrawn."""

    assignment_id: UUID
    application_id: UUID
    expert_id: UUID
    expert_name: str
    weighted_total: Decimal
    recommendation: str | None
    submitted_at: datetime | None
    late: bool


@dataclass(frozen=True)
class RoundApplication:
    application: Application
    expected: int  # live assignments


@dataclass(frozen=True)
class MissingReview:
    assignment: Assignment
    expert_name: str
    reopened: bool  # submitted once, then reopened by a manager


class ScoringRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- one sheet --------------------------------------------------------------------------

    async def assignment(self, assignment_id: UUID, *, lock: bool = False) -> Assignment | None:
        query = sa.select(Assignment).where(Assignment.id == assignment_id)
        if lock:
            # NO KEY UPDATE: one sheet operation at a time per assignment, without blocking
            # rows that only reference it.
            query = query.with_for_update(key_share=True).execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def round(
        self, round_id: UUID, *, lock: Literal["share", "update"] | None = None
    ) -> ReviewRound | None:
        """The round; lock "share" (sheet writes, which closing must wait for) or "update"
        (closing, which must wait for them)."""
        query = sa.select(ReviewRound).where(ReviewRound.id == round_id)
        if lock == "share":
            query = query.with_for_update(read=True).execution_options(populate_existing=True)
        elif lock == "update":
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def call(self, call_id: UUID) -> Call:
        call = await self.session.get(Call, call_id)
        assert call is not None  # rounds reference calls, which are never deleted
        return call

    async def application(self, application_id: UUID) -> Application | None:
        return await self.session.get(Application, application_id)

    async def managing_agency(self, program_id: UUID) -> str:
        agency = await self.session.scalar(
            sa.select(Program.managing_agency).where(Program.id == program_id)
        )
        return agency or ""

    async def expert_name(self, expert_id: UUID) -> str:
        return (
            await self.session.scalar(sa.select(Expert.name).where(Expert.user_id == expert_id))
            or ""
        )

    async def sheet(self, assignment_id: UUID, *, lock: bool = False) -> ScoreSheet | None:
        query = sa.select(ScoreSheet).where(ScoreSheet.assignment_id == assignment_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def in_conflict(self, assignment: Assignment) -> bool:
        """Whether a conflict of interest stands between the expert and the application."""
        found = await self.session.scalar(
            sa.select(Conflict.kind)
            .where(
                Conflict.round_id == assignment.round_id,
                Conflict.application_id == assignment.application_id,
                Conflict.expert_id == assignment.expert_id,
                Conflict.overridden_at.is_(None),
            )
            .limit(1)
        )
        return found is not None

    # --- a whole round ----------------------------------------------------------------------

    async def counted_reviews(
        self, round_id: UUID, *, application_id: UUID | None = None
    ) -> list[CountedReview]:
        query = (
            sa.select(
                Assignment.id,
                Assignment.application_id,
                Assignment.expert_id,
                Expert.name,
                ScoreSheet.weighted_total,
                ScoreSheet.recommendation,
                ScoreSheet.submitted_at,
                ScoreSheet.late,
            )
            .join(ScoreSheet, ScoreSheet.assignment_id == Assignment.id)
            .join(Expert, Expert.user_id == Assignment.expert_id)
            .join(Application, Application.id == Assignment.application_id)
            .where(
                Assignment.round_id == round_id,
                Assignment.status == AssignmentStatus.accepted,
                ScoreSheet.status == SheetStatus.submitted,
                Application.status != ApplicationStatus.withdrawn,
            )
            .order_by(Assignment.application_id, Assignment.id)
        )
        if application_id is not None:
            query = query.where(Assignment.application_id == application_id)
        rows = (await self.session.execute(query)).all()
        return [
            CountedReview(
                assignment_id=row[0],
                application_id=row[1],
                expert_id=row[2],
                expert_name=row[3],
                weighted_total=row[4],
                recommendation=row[5],
                submitted_at=row[6],
                late=row[7],
            )
            for row in rows
            if row[4] is not None
        ]

    async def submitted_sheets(self, round_id: UUID, application_id: UUID) -> Sequence[ScoreSheet]:
        """The counted sheets of one application (what the applicant reads, anonymised)."""
        return (
            await self.session.scalars(
                sa.select(ScoreSheet)
                .join(Assignment, Assignment.id == ScoreSheet.assignment_id)
                .where(
                    Assignment.round_id == round_id,
                    Assignment.application_id == application_id,
                    Assignment.status == AssignmentStatus.accepted,
                    ScoreSheet.status == SheetStatus.submitted,
                )
            )
        ).all()

    async def round_applications(self, round_id: UUID) -> list[RoundApplication]:
        """Applications with a live assignment in the round (withdrawn ones left out)."""
        expected = (
            sa.select(Assignment.application_id, sa.func.count().label("expected"))
            .where(Assignment.round_id == round_id, Assignment.status.in_(LIVE_ASSIGNMENTS))
            .group_by(Assignment.application_id)
            .subquery()
        )
        rows = (
            await self.session.execute(
                sa.select(Application, expected.c.expected)
                .join(expected, expected.c.application_id == Application.id)
                .where(Application.status != ApplicationStatus.withdrawn)
                .order_by(Application.id)
            )
        ).all()
        return [RoundApplication(application, int(n)) for application, n in rows]

    async def missing_reviews(self, round_id: UUID) -> list[MissingReview]:
        """Live assignments of applications still in the round without a submitted sheet."""
        rows = (
            await self.session.execute(
                sa.select(Assignment, Expert.name, ScoreSheet.reopened_at)
                .join(Expert, Expert.user_id == Assignment.expert_id)
                .join(Application, Application.id == Assignment.application_id)
                .outerjoin(ScoreSheet, ScoreSheet.assignment_id == Assignment.id)
                .where(
                    Assignment.round_id == round_id,
                    Assignment.status.in_(LIVE_ASSIGNMENTS),
                    Application.status != ApplicationStatus.withdrawn,
                    sa.or_(ScoreSheet.status.is_(None), ScoreSheet.status != SheetStatus.submitted),
                )
                .order_by(Assignment.id)
            )
        ).all()
        return [MissingReview(a, name, reopened is not None) for a, name, reopened in rows]

    async def applications_for_update(self, ids: Sequence[UUID]) -> Sequence[Application]:
        # In id order, so two transactions moving the same applications cannot deadlock.
        return (
            await self.session.scalars(
                sa.select(Application)
                .where(Application.id.in_(ids))
                .order_by(Application.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).all()

    async def closed_proposal_round(self, call_id: UUID) -> ReviewRound | None:
        return await self.session.scalar(
            sa.select(ReviewRound).where(
                ReviewRound.call_id == call_id,
                ReviewRound.kind == "proposal",
                ReviewRound.state == RoundState.closed,
            )
        )
