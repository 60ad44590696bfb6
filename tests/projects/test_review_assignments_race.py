"""Two dry runs of one round applied at the same moment on real connections: the round's lock
makes them take turns, and the second finds the first's assignments (stale). The data is
committed for real (in a year no other test uses) and removed afterwards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from services.credit.config import CreditSettings
from services.credit.main import create_app as credit_app
from services.projects.models import (
    Application,
    ApplicationVersion,
    Assignment,
    AssignmentRun,
    AssignmentRunJob,
    Call,
    Conflict,
    Expert,
    ReviewRound,
)
from services.projects.review.assignments.exceptions import RunStale
from services.projects.review.assignments.runs import RunService
from shared.auth.roles import Role
from shared.auth.tokens import Principal
from shared.ids import uuid7
from shared.testing.plugin import running_app
from tests.credit_asgi import AsgiCreditClient
from tests.projects.conftest import ZDYF

YEAR = 2091
NOW = datetime(2091, 6, 1, 2, 0, tzinfo=UTC)
ADMIN = Principal(subject=str(uuid7()), roles=frozenset({Role.admin.value}), token_id="race")
SUBJECT = "210.2010"


@pytest.fixture
async def credit(
    database_url: str, gateway: FastAPI, gateway_client: httpx.AsyncClient
) -> AsyncIterator[AsgiCreditClient]:
    """The real credit service on its own connections (it sees the race's committed data)."""

    async def jwks() -> dict[str, Any]:
        document: dict[str, Any] = (await gateway_client.get("/.well-known/jwks.json")).json()
        return document

    app = credit_app(
        CreditSettings(database_url=SecretStr(database_url), rating_sweep_seconds=3600),
        jwks_fetch=jwks,
    )
    issuer = gateway.state.token_issuer
    token, _ = await issuer.access_token(
        subject="service:projects",
        audience=["sciplan-credit"],
        roles=[Role.service.value],
        extra={"name": "projects"},
    )
    async with (
        running_app(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://credit") as c,
    ):
        app.state.clock = lambda: NOW
        yield AsgiCreditClient(c, token)


@dataclass
class Race:
    sessionmaker: async_sessionmaker[AsyncSession]
    round_id: UUID


@pytest.fixture
async def race(engine: AsyncEngine) -> AsyncIterator[Race]:
    """A round of two applications with three experts of their field for three seats each:
    every run leaves both applications one short, so the round stays `assigning`."""
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    experts = [uuid7() for _ in range(2)]
    async with sessionmaker() as session, session.begin():
        call = Call(
            program_id=ZDYF,
            year=YEAR,
            title="并发分配测试指南",
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
        for n in range(2):
            person = uuid7()
            application = Application(
                call_id=call.id,
                applicant_id=person,
                org_id=uuid7(),
                status="in_review",
                title=f"并发分配项目{n}",
                requested_budget_fen=60_000_000,
                submitted_version=1,
                submitted_at=NOW - timedelta(days=40),
            )
            session.add(application)
            await session.flush()
            content = {"subject_codes": [SUBJECT], "keywords": ["小麦"], "team": [], "avoid": []}
            session.add(
                ApplicationVersion(
                    application_id=application.id, version=1, content=content, saved_by=person
                )
            )
        for n, user_id in enumerate(experts):
            session.add(
                Expert(
                    user_id=user_id,
                    name=f"并发专家{n}",
                    title="研究员",
                    region="甘肃",
                    primary_subjects=[SUBJECT],
                    secondary_subjects=[],
                    keywords=[],
                    max_load=10,
                    availability=[],
                )
            )
        round_ = ReviewRound(
            call_id=call.id,
            kind="proposal",
            experts_per_item=3,
            review_template={"criteria": []},
            deadline=NOW + timedelta(days=14),
            options={},
            created_by=ADMIN.user_id,
        )
        session.add(round_)
    yield Race(sessionmaker, round_.id)
    async with sessionmaker() as session, session.begin():
        await session.execute(sa.delete(Assignment).where(Assignment.round_id == round_.id))
        await session.execute(
            sa.delete(AssignmentRunJob).where(AssignmentRunJob.round_id == round_.id)
        )
        await session.execute(sa.delete(AssignmentRun).where(AssignmentRun.round_id == round_.id))
        await session.execute(sa.delete(Conflict).where(Conflict.round_id == round_.id))
        await session.execute(sa.delete(ReviewRound).where(ReviewRound.id == round_.id))
        await session.execute(sa.delete(Expert).where(Expert.user_id.in_(experts)))
        applications = sa.select(Application.id).where(Application.call_id == call.id)
        await session.execute(
            sa.delete(ApplicationVersion).where(ApplicationVersion.application_id.in_(applications))
        )
        await session.execute(sa.delete(Application).where(Application.call_id == call.id))
        await session.execute(sa.delete(Call).where(Call.id == call.id))


async def test_two_runs_applied_at_once_give_one_set_of_assignments(
    race: Race, credit: AsgiCreditClient
) -> None:
    runs = []
    for seed in (0, 1):
        async with race.sessionmaker() as session, session.begin():
            started = await RunService(session).start_dry_run(
                ADMIN, race.round_id, seed, credit, NOW, race.sessionmaker
            )
            runs.append((await started.task).id)

    async def apply(run_id: UUID) -> str:
        async with race.sessionmaker() as session, session.begin():
            try:
                await RunService(session).apply(ADMIN, run_id, credit, NOW, race.sessionmaker)
            except RunStale:
                return "stale"
            return "applied"

    outcomes = await asyncio.gather(*(apply(r) for r in runs))
    assert sorted(outcomes) == ["applied", "stale"]
    async with race.sessionmaker() as session:
        made = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Assignment)
            .where(Assignment.round_id == race.round_id)
        )
        assert made == 4  # two experts on each of the two applications, once
        state = await session.scalar(
            sa.select(ReviewRound.state).where(ReviewRound.id == race.round_id)
        )
        assert state == "assigning"
