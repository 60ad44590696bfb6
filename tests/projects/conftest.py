"""The projects service in-process, with the real credit service beside it, a clock the tests
can move, and people of every role in two organizations.

People are written into the projects service's directory (its replica of the gateway's users
and organizations) the way the gateway's events would write them; tokens come from the
gateway's own issuer and keys.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.credit.config import CreditSettings
from services.credit.main import create_app as credit_app
from services.projects.config import ProjectsSettings
from services.projects.main import create_app
from services.projects.models import (
    Application,
    ApplicationVersion,
    Call,
    Program,
    ProgramManager,
    directory,
)
from shared.auth.roles import Role
from shared.clock import SHANGHAI
from shared.ids import uuid7
from shared.testing.plugin import running_app
from tests.conftest import Clock, bearer, org_code
from tests.credit_asgi import AsgiCreditClient

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
ZDYF = UUID("0193a5c0-0000-7000-8000-000000000002")  # 重点研发计划 (seeded)
ZDZX = UUID("0193a5c0-0000-7000-8000-000000000001")  # 科技重大专项计划 (seeded)

# name: (roles, organization (1, 2 or None), display name)
PEOPLE: dict[str, tuple[tuple[Role, ...], int | None, str]] = {
    "admin": ((Role.admin,), None, "系统管理员"),
    "manager": ((Role.program_manager,), None, "李明"),  # manages ZDYF
    "manager2": ((Role.program_manager,), None, "赵强"),  # manages ZDZX only
    "applicant": ((Role.applicant,), 1, "王芳"),
    "colleague": ((Role.applicant,), 1, "陈静"),  # same organization as `applicant`
    "applicant2": ((Role.applicant,), 2, "刘洋"),
    "org_admin": ((Role.org_admin,), 1, "张伟"),
    "org_admin2": ((Role.org_admin,), 2, "孙丽"),
    "evaluator": ((Role.evaluator,), None, "周评"),
    # credit officers keep the credit records the tests need (two: a ban needs a second)
    "credit_officer": ((Role.credit_officer,), None, "马信用"),
    "credit_officer2": ((Role.credit_officer,), None, "钱信用"),
    "expert": ((Role.expert,), 2, "吴磊"),
    "stranger": ((Role.applicant,), None, "路人"),
}
ORGS = {
    1: ("兰州大学", "university"),
    2: ("甘肃省农业科学院", "research_institute"),
}


@dataclass
class Caller:
    user_id: UUID
    headers: dict[str, str]
    name: str
    org_id: UUID | None = None


@dataclass
class Projects:
    app: FastAPI
    client: httpx.AsyncClient
    clock: Clock
    credit: httpx.AsyncClient  # the credit service itself, to set up credit records
    callers: dict[str, Caller] = field(default_factory=dict)
    orgs: dict[int, UUID] = field(default_factory=dict)
    issuer: Any = None  # the gateway's TokenIssuer, to mint tokens for people added later

    async def call(self, method: str, path: str, who: str | None, **kwargs: Any) -> httpx.Response:
        headers = {**(self.callers[who].headers if who else {}), **kwargs.pop("headers", {})}
        return await self.client.request(method, path, headers=headers, **kwargs)


@pytest.fixture
async def projects(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway: FastAPI,
    gateway_client: httpx.AsyncClient,
    session: AsyncSession,
    tmp_path: Path,
) -> AsyncIterator[Projects]:
    async def jwks() -> dict[str, Any]:
        document: dict[str, Any] = (await gateway_client.get("/.well-known/jwks.json")).json()
        return document

    url = SecretStr(database_url)
    # Attachments go to a folder of the test's own.
    settings = ProjectsSettings(database_url=url, objects_dir=str(tmp_path / "objects"))
    app = create_app(settings, jwks_fetch=jwks)
    credit = credit_app(
        CreditSettings(database_url=url, rating_sweep_seconds=3600), jwks_fetch=jwks
    )
    clock = Clock(START)
    issuer = gateway.state.token_issuer
    async with (
        running_app(credit, sessionmaker),
        running_app(app, sessionmaker),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=credit), base_url="http://credit"
        ) as credit_client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://projects"
        ) as client,
    ):
        app.state.clock = clock
        credit.state.clock = clock
        service_token, _ = await issuer.access_token(
            subject="service:projects",
            audience=["sciplan-credit"],
            roles=[Role.service.value],
            extra={"name": "projects"},
        )
        app.state.credit_client = AsgiCreditClient(credit_client, service_token)
        projects = Projects(app=app, client=client, clock=clock, credit=credit_client)
        for n, (name, kind) in ORGS.items():
            projects.orgs[n] = uuid7()
            await session.execute(
                sa.insert(directory.organizations).values(
                    id=projects.orgs[n],
                    name=name,
                    credit_code=org_code(n),
                    kind=kind,
                    updated_at=START,
                )
            )
        projects.issuer = issuer
        for username, (roles, org, display) in PEOPLE.items():
            await add_person(session, projects, username, roles, org, display)
        session.add_all(
            [
                ProgramManager(program_id=ZDYF, user_id=projects.callers["manager"].user_id),
                ProgramManager(program_id=ZDZX, user_id=projects.callers["manager2"].user_id),
            ]
        )
        await session.commit()
        yield projects


async def add_person(
    session: AsyncSession,
    projects: Projects,
    username: str,
    roles: tuple[Role, ...],
    org: int | None,
    display: str,
) -> Caller:
    """A person in the projects directory (as the gateway's events would put them) with a token;
    `org` is 1 or 2 (the fixture's organizations) or None. Also `projects.callers[username]`."""
    user_id = uuid7()
    member_of = projects.orgs[org] if org else None
    await session.execute(
        sa.insert(directory.users).values(
            id=user_id,
            username=f"{username}-{user_id.hex[:8]}",
            display_name=display,
            org_id=member_of,
            roles=[r.value for r in roles],
            is_active=True,
            updated_at=START,
        )
    )
    issuer = projects.issuer
    token, _ = await issuer.access_token(
        subject=str(user_id),
        audience=issuer.settings.audiences,
        roles=[r.value for r in roles],
        extra={"name": display, "org": str(member_of) if member_of else None},
    )
    caller = Caller(user_id, bearer(token), display, member_of)
    projects.callers[username] = caller
    return caller


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


TEMPLATE = {
    "criteria": [
        {"code": "innovation", "name": "创新性", "weight": 40, "min": 0, "max": 100},
        {"code": "feasibility", "name": "可行性", "weight": 35, "min": 0, "max": 100},
        {"code": "team", "name": "团队基础", "weight": 25, "min": 0, "max": 100},
    ]
}


async def insert_call(
    session: AsyncSession, projects: Projects, program_id: UUID = ZDYF, **overrides: Any
) -> Call:
    """A published call, open from a day before the clock to 30 days after it."""
    values: dict[str, Any] = {
        "program_id": program_id,
        "year": 2026,
        "title": "2026年度重点研发计划（第一批）",
        "guideline": "围绕现代农业、生物医药、新材料等领域组织申报。",
        "opens_at": projects.clock.now - timedelta(days=1),
        "closes_at": projects.clock.now + timedelta(days=30),
        "eligible_org_kinds": ["university", "research_institute", "enterprise"],
        "budget_min_fen": 10_000_000,
        "budget_max_fen": 300_000_000,
        "max_active_projects_per_pi": 2,
        "min_credit_level": "C",
        "required_attachments": ["feasibility_report"],
        "review_template": TEMPLATE,
        "experts_per_application": 3,
        "notice_days": 7,
        "state": "published",
        "published_at": projects.clock.now - timedelta(days=1),
        "created_by": projects.callers["manager"].user_id,
    }
    values.update(overrides)
    call = Call(**values)
    session.add(call)
    await session.commit()
    return call


async def closed_call(
    session: AsyncSession, projects: Projects, program_id: UUID = ZDYF, **overrides: Any
) -> Call:
    """A published call whose applications are in: it closed a minute before the clock."""
    now = projects.clock.now
    opened = now - timedelta(days=40)
    times = {"opens_at": opened, "published_at": opened, "closes_at": now - timedelta(minutes=1)}
    return await insert_call(session, projects, program_id, **(times | overrides))


def content(projects: Projects, who: str = "applicant", **overrides: Any) -> dict[str, Any]:
    """A complete application body (as the applications API takes it)."""
    body: dict[str, Any] = {
        "title": "旱区小麦节水栽培关键技术研究与示范",
        "abstract": "针对河西走廊灌区水资源短缺问题，研究小麦节水栽培技术体系。",
        "keywords": ["节水农业", "小麦", "栽培"],
        "subject_codes": ["210.2010"],
        "team": [
            {"user_id": str(projects.callers[who].user_id), "role": "负责人", "share": 60},
        ],
        "budget": {
            "equipment": 20_000_000,
            "business": 50_000_000,
            "labour": 20_000_000,
            "indirect": 10_000_000,
        },
        "milestones": [
            {"name": "完成田间试验设计", "due": "2027-06-30"},
            {"name": "示范推广1万亩", "due": "2028-12-31"},
        ],
        "indicators": [
            {"name": "发表论文", "target": 5, "unit": "篇"},
            {"name": "示范面积", "target": 10000, "unit": "亩"},
        ],
        "avoid": [],
    }
    body.update(overrides)
    return body


async def insert_application(
    session: AsyncSession,
    projects: Projects,
    call: Call,
    who: str = "applicant",
    status: str = "in_review",
    **overrides: Any,
) -> Application:
    """An application written straight into a given state (for tests of later stages)."""
    caller = projects.callers[who]
    body = content(projects, who)
    assert caller.org_id is not None
    application = Application(
        call_id=call.id,
        applicant_id=caller.user_id,
        org_id=caller.org_id,
        status=status,
        version=1,
        title=body["title"],
        requested_budget_fen=sum(body["budget"].values()),
        submitted_version=None if status == "draft" else 1,
        submitted_at=None if status == "draft" else projects.clock.now,
        **overrides,
    )
    session.add(application)
    await session.flush()
    session.add(
        ApplicationVersion(
            application_id=application.id, version=1, content=body, saved_by=caller.user_id
        )
    )
    await session.commit()
    return application


async def program(session: AsyncSession, program_id: UUID) -> Program:
    found = await session.get(Program, program_id)
    assert found is not None
    return found
