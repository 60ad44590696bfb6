"""Subjects come into being the first time they are named, and are found by any of their keys."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.exceptions import SubjectMismatch, SubjectNotFound
from services.credit.models import Subject, SubjectLink
from services.credit.subjects.national_id import mask, national_id_key
from services.credit.subjects.repository import SubjectRepository
from services.credit.subjects.schemas import LinkCreate, SubjectRef
from shared.errors import Text


class SubjectService:
    def __init__(self, session: AsyncSession, id_hash_key: str) -> None:
        self.repo = SubjectRepository(session)
        self._key = id_hash_key

    async def get(self, subject_id: UUID) -> Subject:
        subject = await self.repo.get(subject_id)
        if subject is None:
            raise SubjectNotFound()
        return subject

    async def resolve(self, ref: SubjectRef) -> Subject:
        id_hash = national_id_key(ref.national_id, self._key) if ref.national_id else None
        matches = await self.repo.by_keys(
            credit_code=ref.credit_code,
            gateway_user_id=ref.gateway_user_id,
            gateway_org_id=ref.gateway_org_id,
            national_id_hash=id_hash,
        )
        if len(matches) > 1:
            raise SubjectMismatch(
                Text("这些标识属于不同的主体", "These identifiers belong to different subjects")
            )
        if matches:
            subject = matches[0]
            if subject.kind != ref.kind:
                raise SubjectMismatch(
                    Text("主体类型与已登记的不符", "The kind differs from the registered one")
                )
            # Fill in keys learnt now; never overwrite one already known.
            subject.gateway_user_id = subject.gateway_user_id or ref.gateway_user_id
            subject.gateway_org_id = subject.gateway_org_id or ref.gateway_org_id
            if id_hash and subject.national_id_hash is None and ref.national_id:
                subject.national_id_hash = id_hash
                subject.national_id_masked = mask(ref.national_id)
            await self.repo.flush()
            return subject
        return await self.repo.add(
            Subject(
                kind=ref.kind,
                name=ref.name,
                credit_code=ref.credit_code,
                gateway_org_id=ref.gateway_org_id,
                gateway_user_id=ref.gateway_user_id,
                national_id_hash=id_hash,
                national_id_masked=mask(ref.national_id) if ref.national_id else None,
            )
        )

    async def link(self, person_id: UUID, data: LinkCreate) -> SubjectLink:
        person, unit = await self.get(person_id), await self.get(data.unit_id)
        if person.kind != "person" or unit.kind == "person":
            raise SubjectMismatch(
                Text("只能把个人关联到单位", "Only a person can be linked to a unit")
            )
        link = SubjectLink(person_id=person.id, unit_id=unit.id, relation=data.relation)
        await self.repo.link(link)
        return link
