"""Every projects replica runs the expiry job of the standing reserve: two at once expire each
entry once (one history line, one event), and leave the young ones alone.

Two apps on pools of their own stand for two processes; what they write is committed, in a
program of the test's own, and removed at the end.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from services.projects.models import Application, Call, Program, Transition, events
from services.projects.reserve.expiry import expire_once
from shared.ids import uuid7
from tests.projects.replicas import both_until_done, program_with_a_call

OLD, YOUNG = 13, 2
NOW = datetime(2027, 6, 10, 2, 0, tzinfo=UTC)
BATCH = 3


async def _world(sessions: async_sessionmaker[AsyncSession]) -> tuple[UUID, list[UUID]]:
    """A program of its own keeping its reserve 6 months, with OLD entries reserved 7 months
    ago and YOUNG ones a month ago; committed. The ids of all of them, old first."""
    entries: list[UUID] = []
    async with sessions() as session, session.begin():
        fund, call = await program_with_a_call(
            session, NOW, name_zh="储备期满测试专项", call_state="decided", reserve_months=6
        )
        program_id = fund.id
        for n in range(OLD + YOUNG):
            application = Application(
                call_id=call.id,
                applicant_id=uuid7(),
                org_id=uuid7(),
                status="reserved",
                version=1,
                title=f"储备项目{n}",
                requested_budget_fen=1_000_000,
                submitted_version=1,
                submitted_at=NOW - timedelta(days=395),
                decision_reason="列入储备",
                decided_at=NOW - timedelta(days=213 if n < OLD else 30),
            )
            session.add(application)
            await session.flush()
            entries.append(application.id)
    return program_id, entries


async def _remove(sessions: async_sessionmaker[AsyncSession], program_id: UUID) -> None:
    calls = sa.select(Call.id).where(Call.program_id == program_id).scalar_subquery()
    applications = sa.select(Application.id).where(Application.call_id.in_(calls))
    async with sessions() as session, session.begin():
        ids = (await session.execute(applications)).scalars().all()
        await session.execute(
            sa.delete(events.outbox).where(events.outbox.c.aggregate_id.in_([str(i) for i in ids]))
        )
        # The history is append-only (a trigger refuses DELETE): the test's own lines go with
        # its world, this transaction only, with the triggers off as for a replica's restore.
        await session.execute(sa.text("SET LOCAL session_replication_role = replica"))
        await session.execute(sa.delete(Transition).where(Transition.application_id.in_(ids)))
        await session.execute(sa.delete(Application).where(Application.id.in_(ids)))
        await session.execute(sa.delete(Call).where(Call.program_id == program_id))
        await session.execute(sa.delete(Program).where(Program.id == program_id))


async def test_two_replicas_expire_each_old_entry_once(database_url: str) -> None:
    engine = create_async_engine(database_url)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    program_id, entries = await _world(sessions)
    try:
        await both_until_done(
            database_url,
            expire_once,
            NOW,
            BATCH,
            reserve_expiry_seconds=3600,  # the test runs the passes itself
            reserve_expiry_batch=BATCH,  # several passes each, interleaved
        )

        async with sessions() as session:
            statuses = dict(
                (
                    await session.execute(
                        sa.select(Application.id, Application.status).where(
                            Application.id.in_(entries)
                        )
                    )
                ).all()
            )
            expired = Counter(
                (
                    await session.scalars(
                        sa.select(Transition.application_id).where(
                            Transition.application_id.in_(entries),
                            Transition.action == "reserve.expired",
                        )
                    )
                ).all()
            )
            told = Counter(
                (
                    await session.scalars(
                        sa.select(events.outbox.c.aggregate_id).where(
                            events.outbox.c.event_type == "application.decided",
                            events.outbox.c.aggregate_id.in_([str(e) for e in entries]),
                        )
                    )
                ).all()
            )
        old, young = entries[:OLD], entries[OLD:]
        assert [statuses[e] for e in old] == ["rejected"] * OLD
        assert [statuses[e] for e in young] == ["reserved"] * YOUNG
        assert expired == Counter(old)
        assert told == Counter(str(e) for e in old)
    finally:
        await _remove(sessions, program_id)
        await engine.dispose()
