"""The SQL of the managers' overview: grouped counts, never a query per row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import (
    Application,
    Assignment,
    Call,
    Conflict,
    Expert,
    FormalCheck,
    ReviewRound,
    ScoreSheet,
    directory,
)
from services.projects.models.review import (
    LIVE_ASSIGNMENTS,
    AssignmentStatus,
    RoundState,
    SheetStatus,
)
from services.projects.models.submissions import ApplicationStatus


@dataclass(frozen=True)
class PendingRow:
    application: Application
    check: FormalCheck
    applicant_name: str | None
    org_name: str | None


@dataclass(frozen=True)
class ExpertRow:
    round_id: UUID
    expert_id: UUID
    expert_name: str
    assigned: int
    accepted: int
    declined: int
    submitted: int
    overdue: int


class OverviewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def calls(
        self, programs: Collection[UUID] | None, *, limit: int, offset: int
    ) -> Sequence[Call]:
        """Calls of these programs (None: all), newest first, drafts and cancelled included."""
        query = sa.select(Call)
        if programs is not None:
            query = query.where(Call.program_id.in_(list(programs)))
        query = query.order_by(Call.created_at.desc(), Call.id.desc()).limit(limit).offset(offset)
        return (await self.session.scalars(query)).all()

    async def status_counts(self, call_ids: Collection[UUID]) -> dict[UUID, dict[str, int]]:
        """Per call, how many applications are in each status among those that reached the
        agency (submitted at least once): staff never count anyone's drafts."""
        counts: dict[UUID, dict[str, int]] = defaultdict(dict)
        if not call_ids:
            return counts
        rows = await self.session.execute(
            sa.select(Application.call_id, Application.status, sa.func.count())
            .where(
                Application.call_id.in_(list(call_ids)),
                Application.submitted_version.is_not(None),
            )
            .group_by(Application.call_id, Application.status)
        )
        for call_id, status, n in rows:
            counts[call_id][str(status)] = int(n)
        return counts

    async def pending_checks(self, call_id: UUID, *, limit: int) -> list[PendingRow]:
        """Endorsed applications with the check of their submitted version undecided (at most
        one per application: a re-run updates it)."""
        people, units = directory.users, directory.organizations
        rows = await self.session.execute(
            sa.select(Application, FormalCheck, people.c.display_name, units.c.name)
            .join(
                FormalCheck,
                sa.and_(
                    FormalCheck.application_id == Application.id,
                    FormalCheck.version == Application.submitted_version,
                    FormalCheck.outcome.is_(None),
                ),
            )
            .outerjoin(people, people.c.id == Application.applicant_id)
            .outerjoin(units, units.c.id == Application.org_id)
            .where(
                Application.call_id == call_id,
                Application.status == ApplicationStatus.endorsed,
            )
            .order_by(Application.submitted_at, Application.id)
            .limit(limit)
        )
        return [PendingRow(a, c, person, unit) for a, c, person, unit in rows]

    async def rounds(self, call_id: UUID, *, limit: int) -> Sequence[ReviewRound]:
        return (
            await self.session.scalars(
                sa.select(ReviewRound)
                .where(ReviewRound.call_id == call_id)
                .order_by(ReviewRound.created_at.desc(), ReviewRound.id.desc())
                .limit(limit)
            )
        ).all()

    async def expert_progress(self, round_ids: Collection[UUID], now: datetime) -> list[ExpertRow]:
        """Per round and expert: assignments by status, sheets submitted, and those overdue
        (live, no sheet submitted, the deadline of a round still open passed)."""
        if not round_ids:
            return []
        live = Assignment.status.in_(LIVE_ASSIGNMENTS)
        # A sheet sent back to its expert (reopened) is a draft again: not submitted.
        submitted = sa.func.coalesce(ScoreSheet.status, SheetStatus.draft) == SheetStatus.submitted
        overdue = sa.and_(
            live,
            sa.not_(submitted),
            ReviewRound.state != RoundState.closed,
            ReviewRound.deadline < now,
        )

        def counted(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
            return sa.func.count().filter(condition)

        rows = await self.session.execute(
            sa.select(
                Assignment.round_id,
                Assignment.expert_id,
                Expert.name,
                counted(live),
                counted(Assignment.status == AssignmentStatus.accepted),
                counted(Assignment.status == AssignmentStatus.declined),
                counted(sa.and_(live, submitted)),
                counted(overdue),
            )
            .join(Expert, Expert.user_id == Assignment.expert_id)
            .join(ReviewRound, ReviewRound.id == Assignment.round_id)
            .outerjoin(ScoreSheet, ScoreSheet.assignment_id == Assignment.id)
            .where(Assignment.round_id.in_(list(round_ids)))
            .group_by(Assignment.round_id, Assignment.expert_id, Expert.name)
            .order_by(Expert.name, Assignment.expert_id)
        )
        return [ExpertRow(*row) for row in rows]

    async def conflict_counts(
        self, round_ids: Collection[UUID]
    ) -> dict[UUID, dict[str, tuple[int, int]]]:
        """Per round and kind: (conflicts stored, of which overridden)."""
        counts: dict[UUID, dict[str, tuple[int, int]]] = defaultdict(dict)
        if not round_ids:
            return counts
        rows = await self.session.execute(
            sa.select(
                Conflict.round_id,
                Conflict.kind,
                sa.func.count(),
                sa.func.count(Conflict.overridden_at),
            )
            .where(Conflict.round_id.in_(list(round_ids)))
            .group_by(Conflict.round_id, Conflict.kind)
        )
        for round_id, kind, total, overridden in rows:
            counts[round_id][kind] = (int(total), int(overridden))
        return counts
