"""The SQL of searching the records and of the public disclosure list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.access.reader import Reader
from services.credit.access.repository import records_visible
from services.credit.models import CreditRecord, Rule, Subject
from services.credit.queries.schemas import RecordSearch
from services.credit.rating.model import stands_in_sql, unrepaired_in_sql
from services.credit.rules.schemas import DISCLOSED_TIERS


class QueryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def search(
        self, reader: Reader, search: RecordSearch, *, limit: int, offset: int
    ) -> Sequence[tuple[CreditRecord, Subject]]:
        query = (
            sa.select(CreditRecord, Subject)
            .join(Subject, Subject.id == CreditRecord.subject_id)
            .where(records_visible(reader))
        )
        if search.subject_kind:
            query = query.where(Subject.kind == search.subject_kind)
        if search.subject_id:
            query = query.where(Subject.id == search.subject_id)
        if search.program_id:
            query = query.where(CreditRecord.program_id == search.program_id)
        if search.name:
            query = query.where(Subject.name.contains(search.name, autoescape=True))
        if search.credit_code:
            query = query.where(Subject.credit_code == search.credit_code.upper())
        if search.rule_code:
            query = query.where(CreditRecord.rule_code == search.rule_code)
        if search.tier:
            query = query.where(CreditRecord.tier == search.tier)
        if search.status:
            query = query.where(CreditRecord.status == search.status)
        if search.handling_unit:
            query = query.where(
                CreditRecord.handling_unit.contains(search.handling_unit, autoescape=True)
            )
        if search.effective_from:
            query = query.where(CreditRecord.effective_from >= search.effective_from)
        if search.effective_to:
            query = query.where(CreditRecord.effective_from <= search.effective_to)
        rows = await self.session.execute(
            query.order_by(CreditRecord.effective_from.desc(), CreditRecord.id)
            .limit(limit)
            .offset(offset)
        )
        return [(record, subject) for record, subject in rows]

    async def disclosed(
        self, now: datetime, today: date, disclosure_years: int, *, limit: int, offset: int
    ) -> Sequence[tuple[CreditRecord, Subject, Rule]]:
        """Confirmed severe records in force, for the disclosure period or as long as their
        restriction runs if that is longer."""
        disclosure_end = sa.func.greatest(
            CreditRecord.effective_from + sa.func.make_interval(disclosure_years),
            CreditRecord.restriction_until,
        )
        rows = await self.session.execute(
            sa.select(CreditRecord, Subject, Rule)
            .join(Subject, Subject.id == CreditRecord.subject_id)
            .join(
                Rule,
                sa.and_(
                    Rule.code == CreditRecord.rule_code, Rule.version == CreditRecord.rule_version
                ),
            )
            .where(
                stands_in_sql(now),
                unrepaired_in_sql(now),
                CreditRecord.tier.in_(DISCLOSED_TIERS),
                CreditRecord.effective_from <= today,
                sa.or_(CreditRecord.restriction_permanent, disclosure_end > today),
            )
            .order_by(CreditRecord.effective_from.desc(), CreditRecord.id)
            .limit(limit)
            .offset(offset)
        )
        return [(record, subject, rule) for record, subject, rule in rows]
