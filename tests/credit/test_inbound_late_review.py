"""`review.late` from projects: a proposed EXPERT_LATE_REVIEW record for the expert, once."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.credit.config import CreditSettings
from services.credit.inbound import credit_handlers
from services.credit.models import CreditRecord, Subject
from shared.events.outbox import Event
from shared.ids import uuid7


def _late(submitted_at: str | None, expert_id: str) -> Event:
    return Event(
        event_id=uuid7(),
        event_type="review.late",
        aggregate_type="review_round",
        aggregate_id="r-1",
        payload={
            "expert_id": expert_id,
            "expert_name": "吴磊",
            "round_id": str(uuid7()),
            "call_id": str(uuid7()),
            "application_id": str(uuid7()),
            "deadline": "2026-03-31T10:00:00+08:00",
            "submitted_at": submitted_at,
            "managing_agency": "甘肃省科学技术厅",
        },
        occurred_at=datetime(2026, 4, 1, 2, 0, tzinfo=UTC),
        position="1:1",
    )


async def _records(session: AsyncSession, expert_id: str) -> list[CreditRecord]:
    """The expert's records (other tests may leave committed records of their own behind)."""
    query = (
        sa.select(CreditRecord)
        .join(Subject, Subject.id == CreditRecord.subject_id)
        .where(Subject.gateway_user_id == UUID(expert_id))
        .order_by(CreditRecord.id)
    )
    return list((await session.scalars(query)).all())


async def test_a_late_review_proposes_one_record_for_the_expert(session: AsyncSession) -> None:
    handler = credit_handlers(CreditSettings())["review.late"]
    expert_id = str(uuid7())
    # 2026-04-01 00:30 in Shanghai is still March 31 in UTC: the date is Shanghai's
    event = _late("2026-04-01T00:30:00+08:00", expert_id)
    await handler.handle(session, event)
    await handler.handle(session, event)  # redelivered
    [record] = await _records(session, expert_id)
    assert (record.rule_code, record.capacity, record.status, record.tier) == (
        "EXPERT_LATE_REVIEW",
        "expert",
        "proposed",
        "minor",
    )
    assert (record.source, record.source_event_id) == ("event:review.late", event.event_id)
    assert record.handling_unit == "甘肃省科学技术厅"
    assert str(record.effective_from) == "2026-04-01"
    assert "评审截止 2026-03-31 10:00，实际提交 2026-04-01 00:30" in record.facts
    subject = await session.get(Subject, record.subject_id)
    assert subject is not None
    assert (subject.kind, subject.name, str(subject.gateway_user_id)) == (
        "person",
        "吴磊",
        expert_id,
    )


async def test_a_review_never_submitted_is_recorded_as_of_the_deadline(
    session: AsyncSession,
) -> None:
    handler = credit_handlers(CreditSettings())["review.late"]
    expert_id = str(uuid7())
    await handler.handle(session, _late(None, expert_id))
    await handler.handle(session, _late("2026-04-02T09:00:00+08:00", expert_id))  # another round
    first, second = await _records(session, expert_id)
    assert first.subject_id == second.subject_id  # the same expert, two records
    assert str(first.effective_from) == "2026-03-31"
    assert "仍未提交评审意见" in first.facts
    assert str(second.effective_from) == "2026-04-02"
