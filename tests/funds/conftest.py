"""The funds service in-process, with a clock the tests move and people of every role.

After every test here the whole ledger is checked (`ledger_invariants`): per ledger the
debits equal the credits, every account's stored totals equal what its transfers add up to,
holds resolve once and the expiry queue matches the open holds.

`committed_funds` runs the app on its own connections, so its requests commit for real and
race each other like production requests; what it writes stays (transfers are append-only),
each test in a ledger of its own.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4, uuid5

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.funds.config import FundsSettings
from services.funds.main import create_app
from services.funds.models import ProgramCode, events, scope
from services.funds.reports.repository import ReportRepository
from shared.auth.roles import Role
from shared.ids import uuid7
from shared.testing.plugin import running_app
from tests.conftest import Clock, bearer

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Shanghai
MAX_FEN = 2**63 - 1

PEOPLE: dict[str, Role] = {
    "finance": Role.finance_officer,
    "finance2": Role.finance_officer,
    "admin": Role.admin,
    "auditor": Role.auditor,
    "evaluator": Role.evaluator,
    "manager": Role.program_manager,
    "manager2": Role.program_manager,  # of another program
    "evaluator2": Role.evaluator,  # engaged on nothing
    "applicant": Role.applicant,
    "service": Role.service,
}


@dataclass
class Caller:
    subject: str
    headers: dict[str, str]


@dataclass
class Funds:
    app: FastAPI
    client: httpx.AsyncClient
    clock: Clock
    callers: dict[str, Caller] = field(default_factory=dict)

    async def call(self, method: str, path: str, who: str | None, **kwargs: Any) -> httpx.Response:
        headers = dict(self.callers[who].headers) if who else {}
        headers.update(kwargs.pop("headers", {}))
        return await self.client.request(method, path, headers=headers, **kwargs)

    async def account(self, ledger: str = "2026", **fields: Any) -> dict[str, Any]:
        """An account opened through the API by a finance officer."""
        body = {
            "ledger": ledger,
            "code": "project_budget",
            "name": "测试账户",
            "owner_kind": "project",
            "owner_id": f"project-{uuid4().hex[:8]}",
            **fields,
        }
        response = await self.call("POST", "/v1/accounts", "finance", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def transfers(self, *items: dict[str, Any], who: str = "finance") -> dict[str, Any]:
        response = await self.call("POST", "/v1/transfers", who, json=list(items))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def manages(self, who: str, program_code: str) -> UUID:
        """`who` manages the program of this code, as the projects service's events say
        (`program.created`, `program.manager_assigned`); the program's id."""
        program_id = program_id_of(program_code)
        await self._scope(
            insert(ProgramCode)
            .values(program_id=program_id, code=program_code)
            .on_conflict_do_nothing(),
            insert(scope.managers)
            .values(program_id=program_id, user_id=UUID(self.callers[who].subject))
            .on_conflict_do_nothing(),
        )
        return program_id

    async def engaged(
        self, who: str, *, program_code: str | None = None, project_id: Any = None
    ) -> None:
        """`who` is engaged as an evaluator on a program (by code) or on one project."""
        program_id = program_id_of(program_code) if program_code else None
        statements: list[Any] = [
            insert(scope.engagements).values(
                id=uuid7(),
                evaluator_id=UUID(self.callers[who].subject),
                program_id=program_id,
                project_id=UUID(str(project_id)) if project_id else None,
            )
        ]
        if program_id is not None:
            statements.insert(
                0,
                insert(ProgramCode)
                .values(program_id=program_id, code=program_code)
                .on_conflict_do_nothing(),
            )
        await self._scope(*statements)

    async def _scope(self, *statements: Any) -> None:
        async with self.app.state.db.sessionmaker() as session:
            for statement in statements:
                await session.execute(statement)
            await session.commit()

    async def balances(self, account_id: str, **params: Any) -> dict[str, Any]:
        response = await self.call("GET", f"/v1/accounts/{account_id}", "auditor", params=params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body


_PROGRAMS = UUID("5a7c1e0f-3b2d-4c6a-9e8f-0d1c2b3a4f5e")


def program_id_of(program_code: str) -> UUID:
    """The same projects program id for the same code, in every test."""
    return uuid5(_PROGRAMS, program_code)


def transfer(
    debit: Any, credit: Any, amount: int, *, ledger: str = "2026", **fields: Any
) -> dict[str, Any]:
    """A transfer body with a fresh id; `debit`/`credit` are accounts (dicts) or ids."""
    body: dict[str, Any] = {
        "id": str(uuid4()),
        "debit_account_id": debit["id"] if isinstance(debit, dict) else debit,
        "credit_account_id": credit["id"] if isinstance(credit, dict) else credit,
        "amount": amount,
        "ledger": ledger,
        "code": "allocation",
    }
    body.update(fields)
    return {key: value for key, value in body.items() if value is not None}


def post(pending: dict[str, Any], amount: int = 0, **fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid4()),
        "pending_id": pending["id"],
        "amount": amount,
        "ledger": pending.get("ledger", "2026"),
        "code": "allocation",
        "post_pending": True,
        **fields,
    }


def void(pending: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "id": str(uuid4()),
        "pending_id": pending["id"],
        "amount": 0,
        "ledger": pending.get("ledger", "2026"),
        "code": "allocation",
        "void_pending": True,
        **fields,
    }


async def published(session: AsyncSession, event_type: str, **key: str) -> list[dict[str, Any]]:
    """The events of a type in the funds outbox whose payload has these values, oldest first."""
    rows = await session.scalars(
        sa.select(events.outbox.c.payload)
        .where(events.outbox.c.event_type == event_type)
        .order_by(events.outbox.c.id)
    )
    return [p for p in rows.all() if all(p[k] == v for k, v in key.items())]


def outcomes(body: dict[str, Any]) -> list[str]:
    """'created', 'exists' or the failure code of each transfer of a batch answer."""
    return [r["code"] if r["result"] == "failed" else r["result"] for r in body["results"]]


async def _tokens(gateway: FastAPI) -> dict[str, Caller]:
    issuer = gateway.state.token_issuer
    callers = {}
    for name, role in PEOPLE.items():
        subject = "svc:projects" if role is Role.service else str(uuid7())
        token, _ = await issuer.access_token(
            subject=subject,
            audience=issuer.settings.audiences,
            roles=[role.value],
            extra={"name": name},
        )
        callers[name] = Caller(subject=subject, headers=bearer(token))
    return callers


@contextlib.asynccontextmanager
async def _funds_app(
    database_url: str,
    gateway: FastAPI,
    gateway_client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession] | None,
) -> AsyncIterator[Funds]:
    async def jwks() -> dict[str, Any]:
        document: dict[str, Any] = (await gateway_client.get("/.well-known/jwks.json")).json()
        return document

    settings = FundsSettings(
        database_url=SecretStr(database_url), expiry_sweep_seconds=3600, db_pool_size=20
    )
    app = create_app(settings, jwks_fetch=jwks)
    clock = Clock(START)
    async with (
        running_app(app, sessionmaker),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://funds"
        ) as client,
    ):
        app.state.clock = clock
        funds = Funds(app=app, client=client, clock=clock, callers=await _tokens(gateway))
        # The first request fetches the gateway's keys; later ones may then run concurrently.
        assert (await funds.call("GET", "/v1/me", "finance")).status_code == 200
        yield funds


@pytest.fixture
async def funds(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway: FastAPI,
    gateway_client: httpx.AsyncClient,
) -> AsyncIterator[Funds]:
    async with _funds_app(database_url, gateway, gateway_client, sessionmaker) as app:
        yield app


@pytest.fixture
async def committed_funds(
    database_url: str, gateway: FastAPI, gateway_client: httpx.AsyncClient
) -> AsyncIterator[Funds]:
    """The app on its own connection pool: every request commits, requests really race."""
    async with _funds_app(database_url, gateway, gateway_client, None) as app:
        yield app


def fresh_ledger() -> str:
    return "T" + uuid4().hex[:12]


@pytest.fixture(autouse=True)
async def ledger_invariants(session: AsyncSession) -> AsyncIterator[None]:
    yield
    violations = await ReportRepository(session).integrity_violations()
    assert violations == [], violations
