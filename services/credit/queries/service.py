"""Searching the records (staff, each within what they may read, every search logged with its
purpose) and the public disclosure list."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.access.reading import log_read, reader_for
from services.credit.queries.repository import QueryRepository
from services.credit.queries.schemas import FoundRecord, PublicRecord, RecordSearch
from services.credit.records.schemas import RecordRead
from shared.auth.tokens import Principal
from shared.clock import in_shanghai
from shared.pagination import PageParams


class QueryService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repository = QueryRepository(session)

    async def search(
        self, investigator: Principal, purpose: str, search: RecordSearch, page: PageParams
    ) -> list[FoundRecord]:
        reader = await reader_for(self.session, investigator)
        rows = await self.repository.search(reader, search, limit=page.limit, offset=page.offset)
        found = [
            FoundRecord.model_validate(
                {
                    **RecordRead.model_validate(record).model_dump(),
                    "subject_kind": subject.kind,
                    "subject_name": subject.name,
                    "subject_credit_code": subject.credit_code,
                }
            )
            for record, subject in rows
        ]
        criteria = {**search.logged(), "limit": page.limit, "offset": page.offset}
        await log_read(self.session, investigator, purpose, criteria, [r.id for r in found])
        return found

    async def disclosed(
        self, now: datetime, disclosure_years: int, page: PageParams
    ) -> list[PublicRecord]:
        rows = await self.repository.disclosed(
            now, in_shanghai(now).date(), disclosure_years, limit=page.limit, offset=page.offset
        )
        return [
            PublicRecord(
                subject_name=subject.name,
                subject_kind=subject.kind,
                subject_credit_code=subject.credit_code,
                rule_code=record.rule_code,
                behaviour_zh=rule.description_zh,
                behaviour_en=rule.description_en,
                tier=record.tier,
                legal_basis=record.legal_basis,
                handling_unit=record.handling_unit,
                effective_from=record.effective_from,
                restrictions=record.restrictions,
                restriction_until=record.restriction_until,
                restriction_permanent=record.restriction_permanent,
            )
            for record, subject, rule in rows
        ]
