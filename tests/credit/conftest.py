"""The credit service in-process, with a clock the tests can move and users of every role."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.credit.config import CreditSettings
from services.credit.main import create_app
from services.credit.models import scope
from services.gateway.identity.schemas import OrganizationCreate
from services.gateway.identity.service import IdentityService
from shared.auth.roles import Role
from shared.ids import uuid7
from shared.testing.plugin import running_app
from tests.conftest import Clock, bearer, org_code

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
# Programs of the projects service, as credit knows them from its events (shared.program_scope).
PROGRAM = UUID("0193a5c0-0000-7000-8000-00000000a001")
OTHER_PROGRAM = UUID("0193a5c0-0000-7000-8000-00000000a002")
PURPOSE = {"purpose": "核查信用记录，办理相关业务"}


@dataclass
class Caller:
    user_id: str
    headers: dict[str, str]
    org_id: str | None = None


@dataclass
class Credit:
    app: FastAPI
    client: httpx.AsyncClient
    clock: Clock
    callers: dict[str, Caller] = field(default_factory=dict)

    async def call(self, method: str, path: str, who: str | None, **kwargs: Any) -> httpx.Response:
        headers = self.callers[who].headers if who else {}
        return await self.client.request(method, path, headers=headers, **kwargs)


@pytest.fixture
def credit_settings(database_url: str) -> CreditSettings:
    """The settings of the credit app under test (a module may override this fixture)."""
    return CreditSettings(database_url=SecretStr(database_url), rating_sweep_seconds=3600)


@pytest.fixture
async def credit(
    credit_settings: CreditSettings,
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway: FastAPI,
    gateway_client: httpx.AsyncClient,
    session: AsyncSession,
) -> AsyncIterator[Credit]:
    async def jwks() -> dict[str, Any]:
        document: dict[str, Any] = (await gateway_client.get("/.well-known/jwks.json")).json()
        return document

    app = create_app(credit_settings, jwks_fetch=jwks)
    clock = Clock(START)
    async with running_app(app, sessionmaker):
        app.state.clock = clock
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://credit"
        ) as client:
            credit = Credit(app=app, client=client, clock=clock)
            org = await IdentityService(session).create_organization(
                OrganizationCreate(
                    name="兰州某研究所", credit_code=org_code(1), kind="research_institute"
                )
            )
            await session.commit()
            roles = {
                "manager": (Role.program_manager, None),  # manages PROGRAM
                "manager2": (Role.program_manager, None),  # manages PROGRAM too
                "manager3": (Role.program_manager, None),  # and a third, for appeals
                "other_manager": (Role.program_manager, None),  # manages OTHER_PROGRAM only
                "org_manager": (Role.program_manager, org.id),  # manages PROGRAM, works at org
                "credit_officer": (Role.credit_officer, None),
                "auditor": (Role.auditor, None),
                "evaluator": (Role.evaluator, None),  # engaged on PROGRAM
                "idle_evaluator": (Role.evaluator, None),  # engaged on nothing
                "finance": (Role.finance_officer, None),
                "service": (Role.service, None),
                "applicant": (Role.applicant, org.id),
                "stranger": (Role.applicant, None),
                "org_admin": (Role.org_admin, org.id),
            }
            issuer = gateway.state.token_issuer
            for name, (role, org_id) in roles.items():
                # Tokens from the gateway's own issuer and keys, for people it need not store.
                user_id = str(uuid7())
                token, _ = await issuer.access_token(
                    subject=user_id,
                    audience=issuer.settings.audiences,
                    roles=[role.value],
                    extra={"name": name, "org": str(org_id) if org_id else None},
                )
                credit.callers[name] = Caller(
                    user_id=user_id, headers=bearer(token), org_id=str(org_id) if org_id else None
                )
            credit.callers["org"] = Caller(user_id="", headers={}, org_id=str(org.id))
            await in_scope(session, credit)
            yield credit


async def in_scope(session: AsyncSession, credit: Credit) -> None:
    """Who manages and evaluates what, as projects' events would tell credit."""
    managers = {
        "manager": PROGRAM,
        "manager2": PROGRAM,
        "manager3": PROGRAM,
        "org_manager": PROGRAM,
    }
    managers["other_manager"] = OTHER_PROGRAM
    for who, program in managers.items():
        await session.execute(
            sa.insert(scope.managers).values(
                program_id=program, user_id=credit.callers[who].user_id
            )
        )
    await session.execute(
        sa.insert(scope.engagements).values(
            id=uuid7(), evaluator_id=credit.callers["evaluator"].user_id, program_id=PROGRAM
        )
    )
    await session.commit()


def person(credit: Credit, who: str = "applicant", **extra: Any) -> dict[str, Any]:
    return {
        "kind": "person",
        "name": "王芳",
        "gateway_user_id": credit.callers[who].user_id,
        **extra,
    }


def organization(credit: Credit) -> dict[str, Any]:
    return {
        "kind": "organization",
        "name": "兰州某研究所",
        "credit_code": org_code(1),
        "gateway_org_id": credit.callers["org"].org_id,
    }


async def propose(
    credit: Credit,
    rule_code: str,
    *,
    subject: dict[str, Any] | None = None,
    capacity: str = "researcher",
    effective_from: date | None = None,
    who: str = "manager",
    program_id: UUID | None = PROGRAM,
    unit: dict[str, Any] | None = None,
) -> dict[str, Any]:
    response = await credit.call(
        "POST",
        "/v1/records",
        who,
        json={
            "subject": subject or person(credit),
            "program_id": str(program_id) if program_id else None,
            "unit": unit,
            "capacity": capacity,
            "rule_code": rule_code,
            "facts": "经调查核实，项目申报材料中的合作单位证明系伪造。",
            "evidence": [{"reference": "case-2026-001.pdf", "description": "调查报告"}],
            "handling_unit": "省科技厅监督处",
            "effective_from": (effective_from or START.date()).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def step(
    credit: Credit, record_id: str, action: str, who: str, **body: Any
) -> httpx.Response:
    return await credit.call("POST", f"/v1/records/{record_id}/{action}", who, json=body)


async def notified(credit: Credit, rule_code: str, **kwargs: Any) -> dict[str, Any]:
    """A record proposed and notified by `manager`; one that bans or is listed is approved by
    `manager2` on the way (the second officer)."""
    record = await propose(credit, rule_code, **kwargs)
    sent = await step(credit, record["id"], "notify", "manager", reason="依规告知")
    assert sent.status_code == 200, sent.text
    if sent.json()["status"] == "awaiting_approval":
        sent = await step(
            credit, record["id"], "notice/approval", "manager2", decision="approve", reason="同意"
        )
        assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == "notified"
    body: dict[str, Any] = sent.json()
    return body


async def confirmed(credit: Credit, rule_code: str, **kwargs: Any) -> dict[str, Any]:
    """A record taken through notice and an unused objection window to confirmation."""
    record = await notified(credit, rule_code, **kwargs)
    credit.clock.advance(days=15)  # past 10 working days
    response = await step(credit, record["id"], "confirm", "manager", reason="异议期满无异议")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body
