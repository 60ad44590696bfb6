"""SQL for decisions per call, project numbers and objections."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import (
    Application,
    Call,
    NumberSequence,
    Objection,
    ProgramEnvelope,
    Project,
    directory,
)
from services.projects.models.submissions import DECIDED, UNDER_REVIEW, ApplicationStatus

# Approved first (in number order), then the reserve, the undecided, and the rejected.
RANK = sa.case(
    {"approved": 0, "reserved": 1, "reviewed": 2, "in_review": 2, "rejected": 3},
    value=Application.status,
    else_=4,
)


class DecisionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def call_for_update(self, call_id: UUID) -> Call:
        """The call, locked FOR NO KEY UPDATE (the lock its state UPDATE takes anyway): decision
        batches and a cancellation take turns on it, while a submission's FOR KEY SHARE hold
        neither waits for nor deadlocks with it."""
        call = await self.session.scalar(
            sa.select(Call)
            .where(Call.id == call_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )
        assert call is not None  # found a moment ago; calls are never deleted
        return call

    async def decidable_for_update(
        self, call: Call, ids: Sequence[UUID]
    ) -> list[tuple[Application, Call]]:
        """Those of `ids` a round of `call` decides, with the calls they applied to: the call's
        own applications, and the standing reserve of the program's calls of that year or
        before. Locked in id order, so two batches touching the same applications cannot
        deadlock (the WHERE is checked again once a row's lock is had)."""
        of_program_reserve = sa.and_(
            Call.program_id == call.program_id,
            Call.year <= call.year,
            Application.status == ApplicationStatus.reserved,
        )
        rows = await self.session.execute(
            sa.select(Application, Call)
            .join(Call, Call.id == Application.call_id)
            .where(
                Application.id.in_(ids),
                sa.or_(Application.call_id == call.id, of_program_reserve),
            )
            .order_by(Application.id)
            .with_for_update(of=Application)
            .execution_options(populate_existing=True)
        )
        return [(application, of) for application, of in rows]

    async def envelope_for_update(self, program_id: UUID, year: int) -> ProgramEnvelope | None:
        """Locked: decisions on one program's year take turns, so two cannot both fit."""
        return await self.session.scalar(
            sa.select(ProgramEnvelope)
            .where(ProgramEnvelope.program_id == program_id, ProgramEnvelope.year == year)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def envelope(self, program_id: UUID, year: int) -> ProgramEnvelope | None:
        return await self.session.get(ProgramEnvelope, (program_id, year))

    async def next_number(self, program_code: str, year: int) -> int:
        """The next sequence number, safe under concurrency: one statement takes the row."""
        statement = (
            insert(NumberSequence)
            .values(program_code=program_code, year=year, last=1)
            .on_conflict_do_update(
                index_elements=["program_code", "year"],
                set_={"last": NumberSequence.last + 1},
            )
            .returning(NumberSequence.last)
        )
        return int((await self.session.execute(statement)).scalar_one())

    async def of_call(
        self,
        call_id: UUID,
        *,
        status: str | None,
        limit: int,
        offset: int,
        review_ranks: Mapping[UUID, int] | None = None,
    ) -> Sequence[tuple[Application, Project | None]]:
        """The call's applications: in review rank order when a review round ranked them
        (the unranked after), else approved, reserve, undecided, rejected."""
        query = (
            sa.select(Application, Project)
            .outerjoin(Project, Project.application_id == Application.id)
            .where(Application.call_id == call_id)
        )
        if status is not None:
            query = query.where(Application.status == status)
        else:
            # Waiting for a decision (the reserve waits too, but is listed with the decided).
            query = query.where(Application.status.in_(UNDER_REVIEW + DECIDED))
        if review_ranks:
            ranking = _ranking_table(review_ranks)
            query = query.outerjoin(ranking, ranking.c.application_id == Application.id)
            query = query.order_by(ranking.c.rank.nulls_last())
        query = query.order_by(
            RANK,
            Project.number,
            Application.approved_budget_fen.desc().nulls_last(),
            Application.submitted_at,
            Application.id,
        )
        rows = (await self.session.execute(query.limit(limit).offset(offset))).all()
        return [(application, project) for application, project in rows]


def _ranking_table(review_ranks: Mapping[UUID, int]) -> sa.TableValuedAlias:
    """The ranks as a derived table: two array parameters, however many applications."""
    ids, ranks = list(review_ranks), list(review_ranks.values())
    return (
        sa.func.unnest(
            sa.bindparam("ranked_ids", ids, type_=ARRAY(sa.Uuid())),
            sa.bindparam("ranks", ranks, type_=ARRAY(sa.Integer())),
        )
        .table_valued(sa.column("application_id", sa.Uuid()), sa.column("rank", sa.Integer()))
        .render_derived(name="review_ranking")
    )


class ObjectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_project(
        self, project_id: UUID, *, filed_by: UUID | None, offset: int, limit: int
    ) -> Sequence[Objection]:
        query = sa.select(Objection).where(Objection.project_id == project_id)
        if filed_by is not None:
            query = query.where(Objection.filed_by == filed_by)
        query = query.order_by(Objection.filed_at, Objection.id).offset(offset).limit(limit)
        return (await self.session.scalars(query)).all()

    async def filed_any(self, project_id: UUID, filed_by: UUID) -> bool:
        found = await self.session.scalar(
            sa.select(Objection.id)
            .where(Objection.project_id == project_id, Objection.filed_by == filed_by)
            .limit(1)
        )
        return found is not None

    async def person_name(self, user_id: UUID) -> str | None:
        """A person's display name in the directory (None while the gateway's event is due)."""
        users = directory.users
        return await self.session.scalar(
            sa.select(users.c.display_name).where(users.c.id == user_id)
        )

    async def get_for_update(self, project_id: UUID, objection_id: UUID) -> Objection | None:
        return await self.session.scalar(
            sa.select(Objection)
            .where(Objection.id == objection_id, Objection.project_id == project_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
