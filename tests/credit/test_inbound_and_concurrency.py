"""Records proposed by other services' events (idempotent), and concurrent confirmations."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.credit.config import CreditSettings
from services.credit.exceptions import InvalidTransition
from services.credit.inbound import credit_handlers
from services.credit.models import CreditRecord, RecordStatus
from services.credit.rating.model import RatingPolicy
from services.credit.records.schemas import RecordCreate
from services.credit.records.service import Actor, RecordService
from services.credit.subjects.service import SubjectService
from shared.events.outbox import Event
from shared.ids import uuid7
from tests.conftest import org_code
from tests.credit.conftest import PROGRAM


def _event(event_type: str, payload: dict[str, object]) -> Event:
    return Event(
        event_id=uuid7(),
        event_type=event_type,
        aggregate_type="project",
        aggregate_id="p-1",
        payload=payload,
        occurred_at=datetime(2026, 5, 6, 3, 0, tzinfo=UTC),
        position="1:1",
    )


async def _records(session: AsyncSession) -> list[CreditRecord]:
    return list((await session.scalars(sa.select(CreditRecord).order_by(CreditRecord.id))).all())


async def test_a_terminated_project_proposes_one_record_however_often_it_arrives(
    session: AsyncSession,
) -> None:
    handlers = credit_handlers(CreditSettings())
    event = _event(
        "project.terminated",
        {
            "project_id": str(uuid7()),
            "project_number": "2026-ZDYF-0007",
            "program_id": str(PROGRAM),
            "cause": "misconduct",
            "at_fault": True,
            "reason": "项目负责人学术不端，经调查属实",
            "managing_agency": "省科技厅",
            "pi": {"name": "赵磊", "gateway_user_id": str(uuid7())},
            "organization": {
                "name": "某大学",
                "credit_code": org_code(7),
                "gateway_org_id": str(uuid7()),
            },
        },
    )
    await handlers["project.terminated"].handle(session, event)
    await handlers["project.terminated"].handle(session, event)  # redelivered
    records = await _records(session)
    assert len(records) == 1
    record = records[0]
    assert (record.rule_code, record.status, record.capacity) == (
        "TERMINATED_AT_FAULT",
        "proposed",
        "researcher",
    )
    assert record.source == "event:project.terminated"
    assert record.source_event_id == event.event_id
    assert record.unit_id is not None  # the PI's organization is named with the record
    assert record.program_id == PROGRAM  # its managers handle it
    assert str(record.effective_from) == "2026-05-06"

    not_at_fault = _event(
        "project.terminated", dict(event.payload, at_fault=False, cause="inability")
    )
    await handlers["project.terminated"].handle(session, not_at_fault)
    assert len(await _records(session)) == 1


async def test_a_voucher_fraud_names_both_parties_once_each(session: AsyncSession) -> None:
    handlers = credit_handlers(CreditSettings())
    event = _event(
        "voucher.fraud_confirmed",
        {
            "voucher_number": "CXQ-2026-000123",
            "facts": "虚构检测服务合同，套取创新券资金",
            "managing_agency": "省科技厅",
            "enterprise": {
                "name": "某科技公司",
                "credit_code": org_code(8),
                "gateway_org_id": str(uuid7()),
            },
            "provider": {
                "name": "某检测中心",
                "credit_code": org_code(9),
                "gateway_org_id": str(uuid7()),
            },
        },
    )
    for _ in range(2):
        await handlers["voucher.fraud_confirmed"].handle(session, event)
    records = await _records(session)
    assert [(r.rule_code, r.capacity) for r in records] == [("VOUCHER_FRAUD", "organization")] * 2
    assert len({r.subject_id for r in records}) == 2


@pytest.fixture
async def committed_record(engine: AsyncEngine) -> UUID:
    """A notified record committed for real, so two connections can race for it."""
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    async with sessionmaker() as session, session.begin():
        service = _service(session)
        record = await service.create(
            RecordCreate.model_validate(
                {
                    "subject": {
                        "kind": "organization",
                        "name": "并发测试单位",
                        "credit_code": org_code(99),
                    },
                    "capacity": "organization",
                    "rule_code": "LATE_REPORT",
                    "facts": "并发确认测试用记录。",
                    "handling_unit": "并发测试",
                    "effective_from": "2026-03-02",
                }
            ),
            Actor("tester"),
        )
        await service.notify(record.id, Actor("tester"), "告知", datetime(2026, 3, 2, tzinfo=UTC))
    return record.id


def _service(session: AsyncSession) -> RecordService:
    return RecordService(
        session,
        subjects=SubjectService(session, "test-key"),
        policy=RatingPolicy(),
        objection_days=10,
        appeal_days=15,
    )


async def test_two_concurrent_confirmations_exactly_one_wins(
    engine: AsyncEngine, committed_record: UUID
) -> None:
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    later = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(days=30)

    async def confirm(actor: str) -> str:
        async with sessionmaker() as session, session.begin():
            try:
                await _service(session).confirm(committed_record, Actor(actor), "确认", later)
            except InvalidTransition:
                return "refused"
            await asyncio.sleep(0.2)  # hold the lock while the other one tries
            return "confirmed"

    outcomes = await asyncio.gather(confirm("manager-a"), confirm("manager-b"))
    assert sorted(outcomes) == ["confirmed", "refused"]
    async with sessionmaker() as session:
        record = await session.get(CreditRecord, committed_record)
        assert record is not None
        assert record.status == "confirmed"
        transitions = await _service(session).transitions(committed_record)
        assert [t.to_status for t in transitions].count(RecordStatus.confirmed) == 1
