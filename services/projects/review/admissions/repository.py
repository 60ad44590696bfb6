"""The SQL of applications to join the expert pool."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import ExpertApplication, ExpertApplicationState, directory
from services.projects.review.admissions.exceptions import ApplicationPending


class ExpertApplicationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, application: ExpertApplication) -> None:
        self.session.add(application)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:  # the same person applied twice at the same moment
            raise ApplicationPending() from exc

    async def application(
        self, application_id: UUID, *, lock: bool = False
    ) -> ExpertApplication | None:
        query = sa.select(ExpertApplication).where(ExpertApplication.id == application_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def pending_of(self, user_id: UUID) -> ExpertApplication | None:
        return await self.session.scalar(
            sa.select(ExpertApplication).where(
                ExpertApplication.user_id == user_id,
                ExpertApplication.state == ExpertApplicationState.pending,
            )
        )

    async def of_person(
        self, user_id: UUID, *, offset: int, limit: int
    ) -> Sequence[ExpertApplication]:
        return (
            await self.session.scalars(
                sa.select(ExpertApplication)
                .where(ExpertApplication.user_id == user_id)
                .order_by(ExpertApplication.submitted_at.desc(), ExpertApplication.id.desc())
                .offset(offset)
                .limit(limit)
            )
        ).all()

    async def listing(
        self, state: ExpertApplicationState | None, *, offset: int, limit: int
    ) -> Sequence[ExpertApplication]:
        """Oldest first: the queue a program manager works through."""
        query = sa.select(ExpertApplication)
        if state is not None:
            query = query.where(ExpertApplication.state == state)
        return (
            await self.session.scalars(
                query.order_by(ExpertApplication.submitted_at, ExpertApplication.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()

    async def people(self, ids: Collection[UUID]) -> dict[UUID, tuple[str, str | None]]:
        """Each person's name and organization's name, as the directory knows them."""
        if not ids:
            return {}
        users, orgs = directory.users, directory.organizations
        rows = await self.session.execute(
            sa.select(users.c.id, users.c.display_name, orgs.c.name)
            .select_from(users.outerjoin(orgs, orgs.c.id == users.c.org_id))
            .where(users.c.id.in_(ids))
        )
        return {r.id: (r.display_name, r.name) for r in rows}
