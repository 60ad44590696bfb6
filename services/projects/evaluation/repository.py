"""The SQL of third-party evaluation: engagements, evaluations, and who may see which."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Application, Engagement, Evaluation, Program, Project
from services.projects.models import directory as people
from shared.pagination import PageParams

ONE = PageParams(limit=1, offset=0, cursor=None)


@dataclass(frozen=True)
class EngagementFilter:
    active: bool | None = None
    evaluator_id: UUID | None = None
    program_id: UUID | None = None
    project_id: UUID | None = None

    def clause(self) -> sa.ColumnElement[bool]:
        conditions: list[sa.ColumnExpressionArgument[bool]] = []
        if self.active is not None:
            active = Engagement.is_active
            conditions.append(active if self.active else sa.not_(active))
        if self.evaluator_id is not None:
            conditions.append(Engagement.evaluator_id == self.evaluator_id)
        if self.program_id is not None:
            conditions.append(
                sa.or_(
                    Engagement.program_id == self.program_id,
                    Project.program_id == self.program_id,
                )
            )
        if self.project_id is not None:
            conditions.append(Engagement.project_id == self.project_id)
        return sa.and_(sa.true(), *conditions)


@dataclass(frozen=True)
class EvaluationFilter:
    engagement_id: UUID | None = None
    project_id: UUID | None = None
    kind: str | None = None

    def clause(self) -> sa.ColumnElement[bool]:
        conditions: list[sa.ColumnElement[bool]] = []
        if self.engagement_id is not None:
            conditions.append(Evaluation.engagement_id == self.engagement_id)
        if self.project_id is not None:
            conditions.append(Evaluation.project_id == self.project_id)
        if self.kind is not None:
            conditions.append(Evaluation.kind == self.kind)
        return sa.and_(sa.true(), *conditions)


def engagements_in(programs: set[UUID] | None) -> sa.ColumnElement[bool]:
    """Engagements on these programs or on their projects (None: all programs)."""
    if programs is None:
        return sa.true()
    if not programs:
        return sa.false()
    return sa.or_(
        Engagement.program_id.in_(programs),
        Engagement.project_id.in_(sa.select(Project.id).where(Project.program_id.in_(programs))),
    )


def engagements_of(evaluator_id: UUID) -> sa.ColumnElement[bool]:
    return Engagement.evaluator_id == evaluator_id


def evaluations_in(programs: set[UUID] | None) -> sa.ColumnElement[bool]:
    """Every evaluation carries its program, also those of one project."""
    return sa.true() if programs is None else Evaluation.program_id.in_(programs)


def evaluations_by(evaluator_id: UUID) -> sa.ColumnElement[bool]:
    return Evaluation.filed_by == evaluator_id


class EvaluationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def person(self, user_id: UUID) -> Any | None:
        """(roles, org_id, is_active) of someone in the directory, or None."""
        users = people.users
        return (
            await self.session.execute(
                sa.select(users.c.roles, users.c.org_id, users.c.is_active).where(
                    users.c.id == user_id
                )
            )
        ).first()

    async def program(self, program_id: UUID) -> Program | None:
        return await self.session.get(Program, program_id)

    async def project(self, project_id: UUID) -> Project | None:
        return await self.session.get(Project, project_id)

    async def application(self, application_id: UUID) -> Application | None:
        return await self.session.get(Application, application_id)

    async def hold_evaluator(self, evaluator_id: UUID) -> None:
        """Until the transaction ends, nobody else engages this evaluator (in any process)."""
        key = sa.func.hashtextextended(f"projects.engagement:{evaluator_id}", 0)
        await self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))

    async def active_engagement_id(
        self, evaluator_id: UUID, program_id: UUID | None, project_id: UUID | None
    ) -> UUID | None:
        on_scope = (
            Engagement.program_id == program_id
            if program_id is not None
            else Engagement.project_id == project_id
        )
        return await self.session.scalar(
            sa.select(Engagement.id).where(
                Engagement.evaluator_id == evaluator_id, Engagement.is_active, on_scope
            )
        )

    async def add(self, row: Engagement | Evaluation) -> None:
        self.session.add(row)
        await self.session.flush()

    async def locked_engagement(
        self, engagement_id: UUID, visible: sa.ColumnElement[bool]
    ) -> Engagement | None:
        return await self.session.scalar(
            sa.select(Engagement).where(Engagement.id == engagement_id, visible).with_for_update()
        )

    async def active_engagement(self, engagement_id: UUID, evaluator_id: UUID) -> Engagement | None:
        """The evaluator's engagement if still active, held (FOR SHARE) against being ended
        while an evaluation is filed under it."""
        return await self.session.scalar(
            sa.select(Engagement)
            .where(
                Engagement.id == engagement_id,
                Engagement.evaluator_id == evaluator_id,
                Engagement.is_active,
            )
            .with_for_update(read=True)
        )

    async def engagements(self, where: sa.ColumnElement[bool], page: PageParams) -> Sequence[Any]:
        """(engagement, project number, evaluator's name) rows, newest first."""
        return (
            await self.session.execute(
                sa.select(Engagement, Project.number, people.users.c.display_name)
                .outerjoin(Project, Project.id == Engagement.project_id)
                .outerjoin(people.users, people.users.c.id == Engagement.evaluator_id)
                .where(where)
                .order_by(Engagement.engaged_at.desc(), Engagement.id.desc())
                .limit(page.limit)
                .offset(page.offset)
            )
        ).all()

    async def evaluations(self, where: sa.ColumnElement[bool], page: PageParams) -> Sequence[Any]:
        """(evaluation, project number) rows, newest first."""
        return (
            await self.session.execute(
                sa.select(Evaluation, Project.number)
                .outerjoin(Project, Project.id == Evaluation.project_id)
                .where(where)
                .order_by(Evaluation.filed_at.desc(), Evaluation.id.desc())
                .limit(page.limit)
                .offset(page.offset)
            )
        ).all()
