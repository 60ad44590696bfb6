"""Reading credit files: one's own, and others' as far as role and programs allow (logged)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.access.reading import (
    log_read,
    may_read_record,
    may_read_subject,
    reader_for,
    stated,
)
from services.credit.exceptions import RecordNotFound, SubjectNotFound
from services.credit.files.schemas import MyCreditFiles, OwnFile, OwnRecord, SubjectFile
from services.credit.models import BEFORE_NOTICE, CreditRecord, RecordStatus, Subject
from services.credit.rating.schemas import RatingRead
from services.credit.rating.service import RatingService
from services.credit.records.schemas import RecordDetail
from services.credit.records.service import RecordService, is_subject_of
from services.credit.subjects.repository import SUBJECTS_OF_CALLER
from services.credit.subjects.schemas import LinkRead, SubjectRead
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.service_app import MeDetails


class FileService:
    def __init__(self, session: AsyncSession, records: RecordService) -> None:
        self.session = session
        self.records = records
        self.subjects = records.subjects
        self.ratings: RatingService = records.ratings

    # --- someone's data, by id ---------------------------------------------------------------

    async def record(
        self, principal: Principal, record_id: UUID, purpose: str | None
    ) -> RecordDetail:
        record = await self.records.get(record_id)
        if is_subject_of(principal, await self.subjects.get(record.subject_id)):
            if record.status in BEFORE_NOTICE:
                raise RecordNotFound()
            return await self.detail(record)
        reader = await reader_for(self.session, principal)
        if not await may_read_record(self.session, reader, record.id):
            raise RecordNotFound()
        what = {"read": "record", "record_id": str(record.id)}
        await log_read(self.session, principal, stated(purpose), what, [record.id])
        return await self.detail(record)

    async def subject(self, principal: Principal, subject_id: UUID, purpose: str | None) -> Subject:
        subject = await self._readable_subject(principal, subject_id)
        if not is_subject_of(principal, subject):
            what = {"read": "subject", "subject_id": str(subject.id)}
            await log_read(self.session, principal, stated(purpose), what, [])
        return subject

    async def file(
        self, principal: Principal, subject_id: UUID, purpose: str | None, now: datetime
    ) -> SubjectFile:
        subject = await self._readable_subject(principal, subject_id)
        shown: Sequence[CreditRecord]
        if is_subject_of(principal, subject):
            shown = await self._own_records(subject.id)
        else:
            reason = stated(purpose)
            reader = await reader_for(self.session, principal)
            shown = await self.records.repository.visible_of_subject(subject.id, reader)
            what = {"read": "subject_file", "subject_id": str(subject.id)}
            await log_read(self.session, principal, reason, what, [r.id for r in shown])
        return SubjectFile(
            subject=SubjectRead.model_validate(subject),
            links=[
                LinkRead.model_validate(link)
                for link in await self.subjects.repo.links_of(subject.id)
            ],
            rating=RatingRead.of(subject.id, await self.ratings.rating(subject.id, now)),
            records=[await self.detail(r) for r in shown],
        )

    async def _readable_subject(self, principal: Principal, subject_id: UUID) -> Subject:
        subject = await self.subjects.get(subject_id)
        if is_subject_of(principal, subject):
            return subject
        if not await may_read_subject(
            self.session, await reader_for(self.session, principal), subject.id
        ):
            raise SubjectNotFound()
        return subject

    # --- one's own -------------------------------------------------------------------------

    async def mine(self, principal: Principal, now: datetime) -> MyCreditFiles:
        person = (
            await self.subjects.repo.find_one(gateway_user_id=principal.user_id)
            if principal.user_id
            else None
        )
        organization = None
        if principal.org_id is not None and Role.org_admin in principal.roles:
            unit = await self.subjects.repo.find_one(gateway_org_id=principal.org_id)
            organization = await self._own_file(unit, now)
        return MyCreditFiles(person=await self._own_file(person, now), organization=organization)

    async def _own_file(self, subject: Subject | None, now: datetime) -> OwnFile:
        if subject is None:
            rating = RatingRead.of(None, await self.ratings.rating_of_nobody(now))
            return OwnFile(subject=None, rating=rating, records=[])
        records = [
            OwnRecord(
                **(await self.detail(record)).model_dump(),
                objection_open_until=_open_until(
                    record, RecordStatus.notified, record.objection_deadline, now
                ),
                appeal_open_until=_open_until(
                    record, RecordStatus.confirmed, record.appeal_deadline, now
                ),
            )
            for record in await self._own_records(subject.id)
        ]
        return OwnFile(
            subject=SubjectRead.model_validate(subject),
            rating=RatingRead.of(subject.id, await self.ratings.rating(subject.id, now)),
            records=records,
        )

    async def _own_records(self, subject_id: UUID) -> list[CreditRecord]:
        # Not yet notified: the subject learns of a record together with its facts and basis.
        return [
            r for r in await self.records.of_subject(subject_id) if r.status not in BEFORE_NOTICE
        ]

    async def detail(self, record: CreditRecord) -> RecordDetail:
        return await self.records.detail(record)


def _open_until(
    record: CreditRecord, status: RecordStatus, deadline: datetime | None, now: datetime
) -> datetime | None:
    if record.status != status or deadline is None or now > deadline:
        return None
    return deadline


def _me_details(row: Mapping[str, Any], principal: Principal) -> dict[str, Any]:
    person = row["credit_subject_id"]
    details: dict[str, Any] = {
        "credit_subject_id": str(person) if person else None,
        "credit_file": "/api/credit/v1/me/file",
    }
    if principal.org_id is not None and Role.org_admin in principal.roles:
        unit = row["organization_credit_subject_id"]
        details["organization_credit_subject_id"] = str(unit) if unit else None
    return details


# `GET /v1/me` of the credit service: where the caller's own credit file is, and their
# organization's for its administrator (read with the caller's directory row, in one statement).
ME_DETAILS = MeDetails(columns=SUBJECTS_OF_CALLER, describe=_me_details)
