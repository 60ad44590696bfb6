from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.models import Subject, SubjectLink

# The caller's own subject and their organization's, read with the caller's directory row on
# every `GET /v1/me` (`shared.directory.caller_query`: one statement for the whole answer).
SUBJECTS_OF_CALLER = (
    sa.select(Subject.id)
    .where(Subject.gateway_user_id == sa.bindparam("user_id"))
    .scalar_subquery()
    .label("credit_subject_id"),
    sa.select(Subject.id)
    .where(Subject.gateway_org_id == sa.bindparam("org_id"))
    .scalar_subquery()
    .label("organization_credit_subject_id"),
)


class SubjectRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, subject_id: UUID) -> Subject | None:
        return await self.session.get(Subject, subject_id)

    async def add(self, subject: Subject) -> Subject:
        self.session.add(subject)
        await self.session.flush()
        await self.session.refresh(subject, ["created_at"])
        return subject

    async def flush(self) -> None:
        await self.session.flush()

    async def known_ids(self, subject_ids: Sequence[UUID]) -> set[UUID]:
        """Which of these ids name a subject."""
        found = await self.session.scalars(sa.select(Subject.id).where(Subject.id.in_(subject_ids)))
        return set(found.all())

    async def ids_by_gateway_keys(
        self, user_ids: Sequence[UUID], org_ids: Sequence[UUID]
    ) -> tuple[dict[UUID, UUID], dict[UUID, UUID]]:
        """The subjects of these gateway users and organizations: ({user: subject}, {org:
        subject}); those never named are absent."""
        found = (
            await self.session.execute(
                sa.select(Subject.id, Subject.gateway_user_id, Subject.gateway_org_id).where(
                    sa.or_(
                        Subject.gateway_user_id.in_(user_ids), Subject.gateway_org_id.in_(org_ids)
                    )
                )
            )
        ).all()
        by_user = {row.gateway_user_id: row.id for row in found if row.gateway_user_id is not None}
        by_org = {row.gateway_org_id: row.id for row in found if row.gateway_org_id is not None}
        return by_user, by_org

    async def find_one(self, **keys: object) -> Subject | None:
        conditions = [getattr(Subject, name) == value for name, value in keys.items()]
        return await self.session.scalar(sa.select(Subject).where(*conditions))

    async def by_keys(
        self,
        *,
        credit_code: str | None = None,
        gateway_user_id: UUID | None = None,
        gateway_org_id: UUID | None = None,
        national_id_hash: str | None = None,
    ) -> Sequence[Subject]:
        conditions = []
        if credit_code:
            conditions.append(Subject.credit_code == credit_code)
        if gateway_user_id:
            conditions.append(Subject.gateway_user_id == gateway_user_id)
        if gateway_org_id:
            conditions.append(Subject.gateway_org_id == gateway_org_id)
        if national_id_hash:
            conditions.append(Subject.national_id_hash == national_id_hash)
        if not conditions:
            return []
        return (await self.session.scalars(sa.select(Subject).where(sa.or_(*conditions)))).all()

    async def link(self, link: SubjectLink) -> None:
        """Adds the link unless it exists."""
        await self.session.execute(
            insert(SubjectLink)
            .values(person_id=link.person_id, unit_id=link.unit_id, relation=link.relation)
            .on_conflict_do_nothing()
        )

    async def links_of(self, subject_id: UUID) -> Sequence[SubjectLink]:
        return (
            await self.session.scalars(
                sa.select(SubjectLink).where(
                    sa.or_(SubjectLink.person_id == subject_id, SubjectLink.unit_id == subject_id)
                )
            )
        ).all()
