"""The SQL of credit records and their transitions."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.access.reader import Reader
from services.credit.access.repository import records_visible
from services.credit.models import CreditRecord, RecordStatus, RecordTransition, Rule, Subject


class RecordRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, record_id: UUID) -> CreditRecord | None:
        return await self.session.get(CreditRecord, record_id)

    async def lock(self, record_id: UUID) -> CreditRecord | None:
        """The record FOR UPDATE, as it is now (not as this session last saw it)."""
        return await self.session.scalar(
            sa.select(CreditRecord)
            .where(CreditRecord.id == record_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def of_subject(self, subject_id: UUID) -> Sequence[CreditRecord]:
        return (
            await self.session.scalars(
                sa.select(CreditRecord)
                .where(CreditRecord.subject_id == subject_id)
                .order_by(CreditRecord.effective_from.desc(), CreditRecord.id)
            )
        ).all()

    async def visible_of_subject(self, subject_id: UUID, reader: Reader) -> Sequence[CreditRecord]:
        """A subject's records as far as `reader` may see them."""
        return (
            await self.session.scalars(
                sa.select(CreditRecord)
                .join(Subject, Subject.id == CreditRecord.subject_id)
                .where(CreditRecord.subject_id == subject_id, records_visible(reader))
                .order_by(CreditRecord.effective_from.desc(), CreditRecord.id)
            )
        ).all()

    async def from_event(self, event_id: UUID, subject_id: UUID) -> CreditRecord | None:
        return await self.session.scalar(
            sa.select(CreditRecord).where(
                CreditRecord.source_event_id == event_id, CreditRecord.subject_id == subject_id
            )
        )

    async def add_once(self, record: CreditRecord) -> bool:
        """Adds the record; False (and nothing written) if one from the same event and for the
        same subject exists already."""
        self.session.add(record)
        try:
            async with self.session.begin_nested():
                await self.session.flush()
        except IntegrityError:
            if record.source_event_id is None:
                raise
            return False
        await self.session.refresh(record, ["created_at"])
        return True

    async def rule_of(self, record: CreditRecord) -> Rule | None:
        """The rule in the version the record was made under."""
        return await self.session.get(Rule, (record.rule_code, record.rule_version))

    async def notice_sent(self, record_id: UUID) -> RecordTransition | None:
        """The record's move to notified: when its notice was sent, and by whom."""
        return await self.session.scalar(
            sa.select(RecordTransition)
            .where(
                RecordTransition.record_id == record_id,
                RecordTransition.to_status == RecordStatus.notified,
                RecordTransition.from_status != RecordStatus.notified,
            )
            .order_by(RecordTransition.id.desc())
            .limit(1)
        )

    async def transitions(self, record_id: UUID) -> Sequence[RecordTransition]:
        return (
            await self.session.scalars(
                sa.select(RecordTransition)
                .where(RecordTransition.record_id == record_id)
                .order_by(RecordTransition.id)
            )
        ).all()

    async def add_transition(self, transition: RecordTransition) -> None:
        self.session.add(transition)
        await self.session.flush()
