"""Decisions racing each other on real connections: numbers never repeat, envelopes never
overflow. The data is committed for real (in a year and under codes no other test uses)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.projects.decisions.repository import DecisionRepository
from services.projects.decisions.schemas import DecisionBatch
from services.projects.decisions.service import DecisionService
from services.projects.exceptions import EnvelopeExceeded
from services.projects.models import (
    Application,
    ApplicationVersion,
    Call,
    NumberSequence,
    ProgramEnvelope,
    Project,
    directory,
    events,
)
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.ids import uuid7
from tests.conftest import org_code
from tests.projects.conftest import ZDYF

YEAR = 2090
NOW = datetime(2090, 6, 1, 2, 0, tzinfo=UTC)
ADMIN = Principal(subject=str(uuid7()), roles=frozenset({Role.admin.value}), token_id="race")


@dataclass
class Race:
    sessionmaker: async_sessionmaker[AsyncSession]
    call_id: UUID
    applications: list[UUID]


@pytest.fixture
async def race(engine: AsyncEngine) -> AsyncIterator[Race]:
    """A call of ZDYF in 2090 with an envelope of 100,000,000 fen and two applications.

    Removed afterwards (but for the append-only history), so other tests' lists stay theirs.
    """
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    async with sessionmaker() as session, session.begin():
        org_id = uuid7()
        await session.execute(
            sa.insert(directory.organizations).values(
                id=org_id,
                name="并发测试大学",
                credit_code=org_code(90),
                kind="university",
                updated_at=NOW,
            )
        )
        session.add(ProgramEnvelope(program_id=ZDYF, year=YEAR, amount_fen=100_000_000))
        call = Call(
            program_id=ZDYF,
            year=YEAR,
            title="并发测试指南",
            guideline="并发测试",
            opens_at=NOW - timedelta(days=60),
            closes_at=NOW - timedelta(days=30),
            eligible_org_kinds=["university"],
            budget_min_fen=1,
            budget_max_fen=100_000_000,
            max_active_projects_per_pi=1,
            min_credit_level="C",
            required_attachments=[],
            review_template={"criteria": []},
            experts_per_application=3,
            notice_days=7,
            state="published",
            created_by=uuid7(),
        )
        session.add(call)
        await session.flush()
        applications = []
        for n in range(2):
            person = uuid7()
            await session.execute(
                sa.insert(directory.users).values(
                    id=person,
                    username=f"race-{person.hex[:12]}",
                    display_name=f"并发{n}",
                    org_id=org_id,
                    roles=["applicant"],
                    is_active=True,
                    updated_at=NOW,
                )
            )
            application = Application(
                call_id=call.id,
                applicant_id=person,
                org_id=org_id,
                status="in_review",
                title=f"并发测试项目{n}",
                requested_budget_fen=60_000_000,
                submitted_version=1,
                submitted_at=NOW - timedelta(days=40),
            )
            session.add(application)
            await session.flush()
            session.add(
                ApplicationVersion(
                    application_id=application.id, version=1, content={}, saved_by=person
                )
            )
            applications.append(application.id)
    yield Race(sessionmaker, call.id, applications)
    async with sessionmaker() as session, session.begin():
        made = sa.select(Project.id).where(Project.call_id == call.id)
        ids = [str(i) for i in (await session.scalars(made)).all()]
        await session.execute(sa.delete(events.outbox).where(events.outbox.c.aggregate_id.in_(ids)))
        await session.execute(sa.delete(Project).where(Project.call_id == call.id))
        await session.execute(
            sa.delete(ApplicationVersion).where(ApplicationVersion.application_id.in_(applications))
        )
        await session.execute(sa.delete(Application).where(Application.call_id == call.id))
        await session.execute(sa.delete(Call).where(Call.id == call.id))
        await session.execute(
            sa.delete(ProgramEnvelope).where(
                ProgramEnvelope.program_id == ZDYF, ProgramEnvelope.year == YEAR
            )
        )
        await session.execute(sa.delete(NumberSequence).where(NumberSequence.year == YEAR))
        await session.execute(sa.delete(directory.users).where(directory.users.c.org_id == org_id))
        await session.execute(
            sa.delete(directory.organizations).where(directory.organizations.c.id == org_id)
        )


async def test_two_batches_cannot_both_spend_the_last_of_the_envelope(race: Race) -> None:
    async def approve(application_id: UUID) -> str:
        batch = DecisionBatch.model_validate(
            {
                "decisions": [
                    {
                        "application_id": str(application_id),
                        "decision": "approve",
                        "approved_budget_fen": 60_000_000,
                        "reason": "并发立项",
                    }
                ]
            }
        )
        async with race.sessionmaker() as session, session.begin():
            try:
                await DecisionService(session).decide(ADMIN, race.call_id, batch, NOW)
            except EnvelopeExceeded:
                return "refused"
            await asyncio.sleep(0.2)  # hold the envelope while the other batch tries
            return "approved"

    outcomes = await asyncio.gather(*(approve(a) for a in race.applications))
    assert sorted(outcomes) == ["approved", "refused"]
    async with race.sessionmaker() as session:
        numbers = (
            await session.scalars(sa.select(Project.number).where(Project.call_id == race.call_id))
        ).all()
        assert numbers == [f"{YEAR}-ZDYF-0001"]


async def test_concurrent_numbers_never_repeat(engine: AsyncEngine) -> None:
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    code = "ZR" + uuid7().hex[-6:].upper()

    async def take() -> int:
        async with sessionmaker() as session, session.begin():
            number = await DecisionRepository(session).next_number(code, YEAR)
            await asyncio.sleep(0.05)  # keep the row while the others queue behind it
            return number

    numbers = await asyncio.gather(*(take() for _ in range(4)))
    assert sorted(numbers) == [1, 2, 3, 4]
    async with sessionmaker() as session, session.begin():
        await session.execute(sa.delete(NumberSequence).where(NumberSequence.program_code == code))
