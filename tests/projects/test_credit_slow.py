"""With the credit service slow, the projects service holds no lock and no transaction while it
waits, and other requests on the same call go through meanwhile; what changed during the wait is
checked again under the lock (refused with nothing written, or still valid as asked).

The projects and credit services run in-process on a database of these tests' own, each on
its own connection pool (every request commits), so PostgreSQL sees what a real deployment
does; the credit service answers after 5 seconds unless the test lets it answer earlier.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from services.credit.config import CreditSettings
from services.credit.main import create_app as credit_app
from services.projects.config import ProjectsSettings
from services.projects.main import create_app as projects_app
from services.projects.models import (
    Application,
    ApplicationVersion,
    Assignment,
    AssignmentRun,
    Call,
    Expert,
    FormalCheck,
    ProgramManager,
    ReviewRound,
)
from shared.auth.roles import Role
from shared.db import async_url
from shared.ids import uuid7
from shared.testing.plugin import migrated_database, running_app
from tests.conftest import bearer
from tests.credit_asgi import AsgiCreditClient
from tests.projects.conftest import ZDYF
from tests.slow_credit import SlowCredit, while_credit_thinks

SUBJECT = "210.2010"
REASON = {"reason": "测试：信用服务较慢时的并发操作"}


@pytest.fixture(scope="module")
def own_database(postgres_server_url: str) -> Iterator[str]:
    with migrated_database(postgres_server_url, f"sciplan_slow_credit_{os.getpid()}") as url:
        yield url


@dataclass
class Stage:
    client: httpx.AsyncClient
    credit: SlowCredit
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    issuer: Any
    manager: dict[str, str]

    async def headers(self, user_id: UUID, role: Role, org: UUID | None = None) -> dict[str, str]:
        token, _ = await self.issuer.access_token(
            subject=str(user_id),
            audience=self.issuer.settings.audiences,
            roles=[role.value],
            extra={"name": "测试用户", "org": str(org) if org else None},
        )
        return bearer(token)

    async def post(self, path: str, headers: dict[str, str], **body: Any) -> httpx.Response:
        return await self.client.post(path, json=body, headers=headers)

    async def count(self, statement: sa.Select[Any]) -> int:
        async with self.sessions() as session:
            return int(await session.scalar(statement) or 0)


@pytest.fixture
async def stage(
    own_database: str, gateway: FastAPI, gateway_client: httpx.AsyncClient
) -> AsyncIterator[Stage]:
    async def jwks() -> dict[str, Any]:
        document: dict[str, Any] = (await gateway_client.get("/.well-known/jwks.json")).json()
        return document

    url = SecretStr(own_database)
    projects = projects_app(ProjectsSettings(database_url=url), jwks_fetch=jwks)
    credit = credit_app(
        CreditSettings(database_url=url, rating_sweep_seconds=3600), jwks_fetch=jwks
    )
    engine = create_async_engine(async_url(own_database))
    issuer = gateway.state.token_issuer
    async with (
        running_app(credit),
        running_app(projects),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=credit), base_url="http://c") as c,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=projects), base_url="http://p") as p,
    ):
        token, _ = await issuer.access_token(
            subject="service:projects",
            audience=["sciplan-credit"],
            roles=[Role.service.value],
            extra={"name": "projects"},
        )
        slow = SlowCredit(AsgiCreditClient(c, token))
        projects.state.credit_client = slow
        manager = uuid7()
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        async with sessions() as session, session.begin():
            session.add(ProgramManager(program_id=ZDYF, user_id=manager))
        stage = Stage(p, slow, engine, sessions, issuer, {})
        stage.manager = await stage.headers(manager, Role.program_manager)
        yield stage
    await engine.dispose()


def now() -> datetime:
    return datetime.now(UTC)


async def add_call(session: AsyncSession) -> Call:
    call = Call(
        program_id=ZDYF,
        year=2026,
        title="信用服务较慢时的测试指南",
        guideline="测试",
        opens_at=now() - timedelta(days=60),
        closes_at=now() - timedelta(days=30),
        eligible_org_kinds=["university"],
        budget_min_fen=1,
        budget_max_fen=100_000_000,
        max_active_projects_per_pi=2,
        min_credit_level="C",
        required_attachments=[],
        review_template={"criteria": []},
        experts_per_application=2,
        notice_days=7,
        state="published",
        created_by=uuid7(),
    )
    session.add(call)
    await session.flush()
    return call


async def add_application(session: AsyncSession, call: Call, status: str) -> Application:
    applicant = uuid7()
    application = Application(
        call_id=call.id,
        applicant_id=applicant,
        org_id=uuid7(),
        status=status,
        title="旱区小麦节水栽培关键技术研究",
        requested_budget_fen=60_000_000,
        submitted_version=1,
        submitted_at=now() - timedelta(days=40),
    )
    session.add(application)
    await session.flush()
    content = {"subject_codes": [SUBJECT], "keywords": ["小麦"], "team": [], "avoid": []}
    session.add(
        ApplicationVersion(
            application_id=application.id, version=1, content=content, saved_by=applicant
        )
    )
    await session.flush()
    return application


# --- the formal check ------------------------------------------------------------------------


async def test_an_endorsement_waiting_for_credit_holds_nothing_and_sees_the_withdrawal(
    stage: Stage,
) -> None:
    async with stage.sessions() as session, session.begin():
        application = await add_application(session, await add_call(session), "submitted")
    org_admin = await stage.headers(uuid7(), Role.org_admin, application.org_id)
    applicant = await stage.headers(application.applicant_id, Role.applicant)
    path = f"/v1/applications/{application.id}"

    endorsed, withdrawn = await while_credit_thinks(
        stage.credit,
        stage.engine,
        "projects",
        stage.post(f"{path}/endorsement", org_admin, decision="endorse"),
        lambda: stage.post(f"{path}/withdraw", applicant, **REASON),
    )

    assert withdrawn.status_code == 200, withdrawn.text
    # Locked and checked again once credit answered: withdrawn meanwhile, nothing written.
    assert endorsed.status_code == 409, endorsed.text
    assert endorsed.json()["code"] == "state.invalid_transition"
    checks = sa.select(sa.func.count()).where(FormalCheck.application_id == application.id)
    assert await stage.count(checks) == 0


async def test_an_endorsement_is_refused_when_the_application_was_submitted_again_meanwhile(
    stage: Stage,
) -> None:
    async with stage.sessions() as session, session.begin():
        application = await add_application(session, await add_call(session), "submitted")
    org_admin = await stage.headers(uuid7(), Role.org_admin, application.org_id)

    async def submitted_again() -> None:
        # As a return by the organization and a new submission would leave it.
        async with stage.sessions() as session, session.begin():
            await session.execute(
                sa.update(Application)
                .where(Application.id == application.id)
                .values(submitted_at=now())
            )

    endorsed, _ = await while_credit_thinks(
        stage.credit,
        stage.engine,
        "projects",
        stage.post(f"/v1/applications/{application.id}/endorsement", org_admin, decision="endorse"),
        submitted_again,
    )

    # The answer was about the earlier submission: refused, nothing written.
    assert endorsed.status_code == 409, endorsed.text
    assert endorsed.json()["code"] == "state.changed_meanwhile"
    checks = sa.select(sa.func.count()).where(FormalCheck.application_id == application.id)
    assert await stage.count(checks) == 0
    status = sa.select(Application.status).where(Application.id == application.id)
    async with stage.sessions() as session:
        assert await session.scalar(status) == "submitted"


async def test_a_rerun_check_waiting_for_credit_lets_the_manager_decide_meanwhile(
    stage: Stage,
) -> None:
    async with stage.sessions() as session, session.begin():
        application = await add_application(session, await add_call(session), "endorsed")
        session.add(
            FormalCheck(
                application_id=application.id,
                version=1,
                results=[{"rule": "credit.eligible", "passed": False, "detail": "unavailable"}],
                credit=None,
                automatic_passed=False,
            )
        )
    path = f"/v1/applications/{application.id}/formal-check"

    rerun, decided = await while_credit_thinks(
        stage.credit,
        stage.engine,
        "projects",
        stage.post(f"{path}/rerun", stage.manager),
        lambda: stage.post(f"{path}/decision", stage.manager, decision="return", **REASON),
    )

    assert decided.status_code == 200, decided.text
    assert rerun.status_code == 409, rerun.text
    assert rerun.json()["code"] == "state.invalid_transition"
    async with stage.sessions() as session:
        check = await session.scalar(
            sa.select(FormalCheck).where(FormalCheck.application_id == application.id)
        )
        assert check is not None
        assert (check.outcome, check.credit) == ("returned", None)  # the rerun wrote nothing


# --- assigning experts -----------------------------------------------------------------------


@dataclass
class Round:
    id: UUID
    applications: list[UUID]
    experts: list[UUID]
    assignments: list[UUID]  # the first two experts, one on each application


async def add_round(stage: Stage) -> Round:
    """Two applications of one field, five experts of it; the round assigns two per
    application, and each has one expert already."""
    async with stage.sessions() as session, session.begin():
        call = await add_call(session)
        applications = [await add_application(session, call, "in_review") for _ in range(2)]
        experts = [await add_expert(session) for _ in range(5)]
        round_ = ReviewRound(
            call_id=call.id,
            kind="proposal",
            experts_per_item=2,
            review_template={"criteria": []},
            deadline=now() + timedelta(days=14),
            options={},
            created_by=uuid7(),
        )
        session.add(round_)
        await session.flush()
        assignments = [
            Assignment(
                round_id=round_.id,
                application_id=application.id,
                expert_id=expert,
                status="invited",
                match_score=100,
                explanation={},
                source="manual",
                assigned_by=uuid7(),
                assigned_at=now(),
            )
            for application, expert in zip(applications, experts, strict=False)
        ]
        session.add_all(assignments)
    return Round(round_.id, [a.id for a in applications], experts, [a.id for a in assignments])


async def add_expert(session: AsyncSession) -> UUID:
    expert = Expert(
        user_id=uuid7(),
        name="测试专家",
        title="研究员",
        region="甘肃",
        primary_subjects=[SUBJECT],
        secondary_subjects=[],
        keywords=[],
        max_load=10,
        availability=[],
    )
    session.add(expert)
    await session.flush()
    return expert.user_id


def removing(stage: Stage, assignment: UUID) -> Any:
    return lambda: stage.post(f"/v1/assignments/{assignment}/remove", stage.manager, **REASON)


async def test_a_dry_run_waiting_for_credit_does_not_hold_up_the_round(stage: Stage) -> None:
    round_ = await add_round(stage)

    run, removed = await while_credit_thinks(
        stage.credit,
        stage.engine,
        "projects",
        stage.post(f"/v1/review-rounds/{round_.id}/assignment-runs", stage.manager, seed=0),
        removing(stage, round_.assignments[0]),
    )

    assert removed.status_code == 200, removed.text
    assert run.status_code == 201, run.text
    # Proposed for what the round was once locked: the first application lacks two now.
    proposed = [p["application_id"] for p in run.json()["pairs"]]
    assert sorted(proposed) == sorted(
        [str(round_.applications[0])] * 2 + [str(round_.applications[1])]
    )


async def test_a_dry_run_is_refused_when_an_expert_joined_the_field_meanwhile(
    stage: Stage,
) -> None:
    round_ = await add_round(stage)
    joined: list[UUID] = []

    async def expert_joins() -> None:
        async with stage.sessions() as session, session.begin():
            joined.append(await add_expert(session))

    run, _ = await while_credit_thinks(
        stage.credit,
        stage.engine,
        "projects",
        stage.post(f"/v1/review-rounds/{round_.id}/assignment-runs", stage.manager, seed=0),
        expert_joins,
    )

    assert run.status_code == 409, run.text
    assert run.json()["code"] == "state.changed_meanwhile"
    assert run.json()["experts_not_asked"] == [str(joined[0])]
    runs = sa.select(sa.func.count()).where(AssignmentRun.round_id == round_.id)
    assert await stage.count(runs) == 0


async def test_applying_a_run_waiting_for_credit_sees_the_round_change(stage: Stage) -> None:
    round_ = await add_round(stage)
    run = await stage.post(f"/v1/review-rounds/{round_.id}/assignment-runs", stage.manager, seed=0)
    assert run.status_code == 201, run.text

    applied, removed = await while_credit_thinks(
        stage.credit,
        stage.engine,
        "projects",
        stage.post(f"/v1/assignment-runs/{run.json()['id']}/apply", stage.manager),
        removing(stage, round_.assignments[1]),
    )

    assert removed.status_code == 200, removed.text
    assert applied.status_code == 409, applied.text
    assert applied.json()["code"] == "assignment.run_stale"
    automatic = sa.select(sa.func.count()).where(
        Assignment.round_id == round_.id, Assignment.source.like("auto:%")
    )
    assert await stage.count(automatic) == 0


async def test_adding_an_expert_by_hand_waiting_for_credit_blocks_nobody(stage: Stage) -> None:
    round_ = await add_round(stage)

    added, removed = await while_credit_thinks(
        stage.credit,
        stage.engine,
        "projects",
        stage.post(
            f"/v1/review-rounds/{round_.id}/assignments",
            stage.manager,
            application_id=str(round_.applications[1]),
            expert_id=str(round_.experts[2]),
            **REASON,
        ),
        removing(stage, round_.assignments[0]),
    )

    assert removed.status_code == 200, removed.text
    assert added.status_code == 201, added.text


async def test_a_swap_waiting_for_credit_blocks_nobody(stage: Stage) -> None:
    round_ = await add_round(stage)

    swapped, removed = await while_credit_thinks(
        stage.credit,
        stage.engine,
        "projects",
        stage.post(
            f"/v1/assignments/{round_.assignments[0]}/swap",
            stage.manager,
            expert_id=str(round_.experts[2]),
            **REASON,
        ),
        removing(stage, round_.assignments[1]),
    )

    assert removed.status_code == 200, removed.text
    assert swapped.status_code == 200, swapped.text


async def test_a_decline_looking_for_a_replacement_blocks_nobody(stage: Stage) -> None:
    round_ = await add_round(stage)
    expert = await stage.headers(round_.experts[0], Role.expert)

    declined, removed = await while_credit_thinks(
        stage.credit,
        stage.engine,
        "projects",
        stage.post(f"/v1/assignments/{round_.assignments[0]}/decline", expert, **REASON),
        removing(stage, round_.assignments[1]),
    )

    assert removed.status_code == 200, removed.text
    assert declined.status_code == 200, declined.text
    assert declined.json()["replacement"] == {
        "needed": 2,
        "found": 2,
        "short_by": 0,
        "reason": None,
    }
