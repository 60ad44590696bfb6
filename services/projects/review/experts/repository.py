"""The SQL of the expert pool, experts' declarations and organization links."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.projects.models import DeclaredConflict, Expert, OrganizationLink, directory
from services.projects.review.experts.exceptions import OrganizationLinkExists
from shared.directory import display_names, find_user
from shared.pagination import MAX_CHILDREN


def _subject_matches(column: InstrumentedAttribute[list[str]], code: str) -> sa.ColumnElement[bool]:
    """An entry of the array is the code or a finer code under it (210 covers 210.20)."""
    entry = sa.func.unnest(column).table_valued("code").render_derived(name="entry")
    return sa.exists(
        sa.select(1).select_from(entry).where(entry.c.code.startswith(code, autoescape=True))
    )


@dataclass(frozen=True)
class ExpertFilter:
    subject: str | None = None
    keyword: str | None = None
    active: bool | None = None
    credit_code: str | None = None

    def clause(self) -> sa.ColumnElement[bool]:
        conditions: list[sa.ColumnElement[bool]] = []
        if self.subject is not None:
            conditions.append(
                sa.or_(
                    _subject_matches(Expert.primary_subjects, self.subject),
                    _subject_matches(Expert.secondary_subjects, self.subject),
                )
            )
        if self.keyword is not None:
            entry = (
                sa.func.unnest(Expert.keywords).table_valued("keyword").render_derived(name="kw")
            )
            conditions.append(
                sa.exists(
                    sa.select(1)
                    .select_from(entry)
                    .where(sa.func.lower(entry.c.keyword) == self.keyword.lower())
                )
            )
        if self.active is not None:
            conditions.append(Expert.active.is_(self.active))
        if self.credit_code is not None:
            conditions.append(Expert.org_credit_code == self.credit_code.upper())
        return sa.and_(sa.true(), *conditions)


class ExpertRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def directory_person(self, user_id: UUID) -> Mapping[str, Any] | None:
        """The person as the gateway's directory knows them, with their organization."""
        return await find_user(self.session, directory, user_id)

    async def lock_entry(self, user_id: UUID) -> None:
        """Until the transaction ends, nobody else adds or registers this person's entry (it may
        not exist yet, so no row can be locked)."""
        key = sa.func.hashtextextended(f"projects.expert:{user_id}", 0)
        await self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))

    async def expert(self, user_id: UUID, *, lock: bool = False) -> Expert | None:
        query = sa.select(Expert).where(Expert.user_id == user_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def add(self, row: Expert | DeclaredConflict) -> None:
        self.session.add(row)
        await self.session.flush()

    async def search(self, where: ExpertFilter, limit: int, offset: int) -> Sequence[Expert]:
        return (
            await self.session.scalars(
                sa.select(Expert)
                .where(where.clause())
                .order_by(Expert.name, Expert.user_id)
                .limit(limit)
                .offset(offset)
            )
        ).all()

    async def declarations(
        self, expert_id: UUID, *, offset: int = 0, limit: int = MAX_CHILDREN
    ) -> Sequence[DeclaredConflict]:
        return (
            await self.session.scalars(
                sa.select(DeclaredConflict)
                .where(DeclaredConflict.expert_id == expert_id)
                .order_by(DeclaredConflict.declared_at, DeclaredConflict.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()

    async def declaration_of(
        self, expert_id: UUID, person_id: UUID | None, credit_code: str | None
    ) -> DeclaredConflict | None:
        about = (
            DeclaredConflict.person_id == person_id
            if person_id is not None
            else DeclaredConflict.credit_code == credit_code
        )
        return await self.session.scalar(
            sa.select(DeclaredConflict).where(DeclaredConflict.expert_id == expert_id, about)
        )

    async def person_names(self, ids: Collection[UUID]) -> dict[UUID, str]:
        return await display_names(self.session, directory, ids)
        users = directory.users
        rows = await self.session.execute(
            sa.select(users.c.id, users.c.display_name).where(users.c.id.in_(ids))
        )
        return {r.id: r.display_name for r in rows}

    async def organization_names(self, codes: Collection[str]) -> dict[str, str]:
        if not codes:
            return {}
        orgs = directory.organizations
        rows = await self.session.execute(
            sa.select(orgs.c.credit_code, orgs.c.name).where(orgs.c.credit_code.in_(codes))
        )
        return {r.credit_code: r.name for r in rows}

    # --- organization links -------------------------------------------------------------

    async def link_between(self, first: str, second: str) -> OrganizationLink | None:
        return await self.session.scalar(
            sa.select(OrganizationLink).where(
                sa.or_(
                    sa.and_(
                        OrganizationLink.parent_code == first, OrganizationLink.child_code == second
                    ),
                    sa.and_(
                        OrganizationLink.parent_code == second, OrganizationLink.child_code == first
                    ),
                )
            )
        )

    async def add_link(self, link: OrganizationLink) -> None:
        self.session.add(link)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError as exc:  # the same link, declared at the same moment
            raise OrganizationLinkExists() from exc

    async def links(self, code: str | None, limit: int, offset: int) -> Sequence[OrganizationLink]:
        query = sa.select(OrganizationLink)
        if code is not None:
            query = query.where(
                sa.or_(OrganizationLink.parent_code == code, OrganizationLink.child_code == code)
            )
        return (
            await self.session.scalars(
                query.order_by(OrganizationLink.parent_code, OrganizationLink.child_code)
                .limit(limit)
                .offset(offset)
            )
        ).all()
