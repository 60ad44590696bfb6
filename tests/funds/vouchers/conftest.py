"""Vouchers end to end through the funds API, with the real credit service beside it.

`world` runs on the test's rolled-back transaction; `committed_world` on real connections
for races (each race test makes its own program, organizations and ledger).
Organizations are written into the funds directory (as the gateway's events would) and
people get tokens from the gateway's own issuer, with their organization in the token.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.credit.config import CreditSettings
from services.credit.main import create_app as credit_app
from services.funds.models import directory, events
from services.funds.vouchers.sweep import expire_vouchers_once
from shared.auth.roles import Role
from shared.ids import uuid7
from shared.testing.plugin import running_app
from tests.conftest import bearer, org_code
from tests.credit_asgi import AsgiCreditClient
from tests.funds.conftest import START, Caller, Funds

# The program that runs the schemes of these tests (技术创新引导计划): `manager` manages it
# (so admits providers), `evaluator` is engaged on it; `manager2` and `evaluator2` are not.
RUN_BY = "JSCX"
SERVICES = [
    {"name": "材料成分检测", "category": "testing", "price_fen": 500_000},
    {"name": "大型仪器共享", "category": "instruments", "price_fen": 200_000},
    {"name": "技术咨询", "category": "consulting", "price_fen": 100_000},
]


@dataclass
class Org:
    id: UUID
    name: str
    credit_code: str


@dataclass
class World:
    funds: Funds
    credit: httpx.AsyncClient
    issuer: Any

    async def call(self, method: str, path: str, who: str | None, **kwargs: Any) -> httpx.Response:
        return await self.funds.call(method, path, who, **kwargs)

    async def ok(
        self, method: str, path: str, who: str | None, status: int = 200, **kwargs: Any
    ) -> dict[str, Any]:
        response = await self.call(method, path, who, **kwargs)
        assert response.status_code == status, response.text
        body: dict[str, Any] = response.json()
        return body

    async def history(self, order: dict[str, Any]) -> list[str]:
        """The actions of an order's history, oldest first (as an auditor reads them)."""
        response = await self.call("GET", f"/v1/voucher-orders/{order['id']}/history", "auditor")
        assert response.status_code == 200, response.text
        return [entry["action"] for entry in response.json()["items"]]

    @contextlib.asynccontextmanager
    async def db(self) -> AsyncIterator[AsyncSession]:
        """A session of the funds app (the test's transaction, or a committing one)."""
        async with self.funds.app.state.db.sessionmaker() as session:
            yield session
            await session.commit()

    async def organization(self, name: str, kind: str = "enterprise") -> Org:
        # Not `random`: property tests seed it, and a repeated code meets a provider of an earlier
        # test (committed) registered with other details.
        code = org_code(10**9 + secrets.randbelow(9 * 10**9))
        org = Org(uuid7(), f"{name}-{uuid4().hex[:6]}", code)
        async with self.db() as session:
            await session.execute(
                sa.insert(directory.organizations).values(
                    id=org.id,
                    name=org.name,
                    credit_code=org.credit_code,
                    kind=kind,
                    updated_at=START,
                )
            )
        return org

    async def person(self, who: str, role: Role, org: Org | None) -> Caller:
        subject = str(uuid7())
        token, _ = await self.issuer.access_token(
            subject=subject,
            audience=self.issuer.settings.audiences,
            roles=[role.value],
            extra={"name": who, "org": str(org.id) if org else None},
        )
        caller = Caller(subject=subject, headers=bearer(token))
        self.funds.callers[who] = caller
        return caller

    async def program(self, who: str = "finance", **overrides: Any) -> dict[str, Any]:
        body = program_body(**overrides)
        return await self.ok("POST", "/v1/voucher-programs", who, 201, json=body)

    async def enterprise(
        self,
        who: str,
        *,
        controller: str | None = None,
        related: list[dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        org = await self.organization(f"企业{who}")
        await self.person(who, Role.enterprise, org)
        body: dict[str, Any] = {"id": str(uuid4()), "related_parties": related or []}
        if controller is not None:
            body["actual_controller"] = controller
        return await self.ok("POST", "/v1/voucher-enterprises", who, 201, json=body)

    async def provider(
        self,
        who: str,
        *,
        controller: str | None = None,
        related: list[dict[str, str]] | None = None,
        approve: bool = True,
    ) -> dict[str, Any]:
        """A registered provider; approved (its publicity starts now) unless told not to."""
        org = await self.organization(f"服务机构{who}", kind="research_institute")
        await self.person(who, Role.provider, org)
        body: dict[str, Any] = {
            "id": str(uuid4()),
            "services": SERVICES,
            "related_parties": related or [],
        }
        if controller is not None:
            body["actual_controller"] = controller
        provider = await self.ok("POST", "/v1/voucher-providers", who, 201, json=body)
        if approve:
            provider = await self.ok(
                "POST", f"/v1/voucher-providers/{provider['id']}/approve", "manager", json={}
            )
        return provider

    async def voucher(
        self, program: dict[str, Any], who: str, amount: int, **body: Any
    ) -> httpx.Response:
        return await self.call(
            "POST",
            f"/v1/voucher-programs/{program['id']}/vouchers",
            who,
            json={"id": str(uuid4()), "amount_fen": amount, **body},
        )

    async def order(
        self,
        voucher: dict[str, Any],
        provider: dict[str, Any],
        who: str,
        *,
        contract: int = 200_000,
        part: int = 100_000,
        service: dict[str, Any] | None = None,
        **extra: Any,
    ) -> httpx.Response:
        chosen = service or SERVICES[0]
        body = {
            "id": str(uuid4()),
            "voucher_id": voucher["id"],
            "provider_id": provider["id"],
            "service_name": chosen["name"],
            "service_category": chosen["category"],
            "contract_amount_fen": contract,
            "voucher_amount_fen": part,
            **extra,
        }
        return await self.call("POST", "/v1/voucher-orders", who, json=body)

    async def expire(self) -> int:
        changed: int = await expire_vouchers_once(self.funds.app)
        return changed

    async def outbox(self, event_type: str) -> list[dict[str, Any]]:
        async with self.db() as session:
            rows = await session.execute(
                sa.select(events.outbox.c.payload).where(events.outbox.c.event_type == event_type)
            )
            return [dict(row.payload) for row in rows]

    async def pool(self, program: dict[str, Any]) -> dict[str, Any]:
        return await self.funds.balances(program["pool_account_id"])

    def after_publicity(self) -> None:
        self.funds.clock.advance(days=7, minutes=1)


def program_body(**overrides: Any) -> dict[str, Any]:
    return {
        "id": str(uuid4()),
        "code": "T" + uuid4().hex[:10].upper(),
        "name": "2026年度科技创新券",
        "year": 2026,
        "budget_fen": 10_000_000,
        "voucher_share_bp": 5000,
        "cap_per_group_fen": 1_000_000,
        "validity_days": 90,
        "categories": ["testing", "instruments"],
        "managing_agency": "省科技厅",
        "run_by_program": RUN_BY,
        **overrides,
    }


@contextlib.asynccontextmanager
async def _world(
    funds: Funds,
    database_url: str,
    gateway: FastAPI,
    gateway_client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession] | None,
) -> AsyncIterator[World]:
    async def jwks() -> dict[str, Any]:
        document: dict[str, Any] = (await gateway_client.get("/.well-known/jwks.json")).json()
        return document

    credit = credit_app(
        CreditSettings(database_url=SecretStr(database_url), rating_sweep_seconds=3600),
        jwks_fetch=jwks,
    )
    issuer = gateway.state.token_issuer
    async with (
        running_app(credit, sessionmaker),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=credit), base_url="http://credit"
        ) as credit_client,
    ):
        credit.state.clock = funds.clock  # one clock: both services see the same "now"
        token, _ = await issuer.access_token(
            subject="svc:funds",
            audience=["sciplan-credit"],
            roles=[Role.service.value],
            extra={"name": "funds"},
        )
        funds.app.state.credit_client = AsgiCreditClient(credit_client, token)
        world = World(funds=funds, credit=credit_client, issuer=issuer)
        # Voucher fraud belongs to no program: credit officers keep it, two for a ban.
        await world.person("credit_officer", Role.credit_officer, None)
        await world.person("credit_officer2", Role.credit_officer, None)
        await funds.manages("manager", RUN_BY)
        await funds.engaged("evaluator", program_code=RUN_BY)
        await funds.manages("manager2", "ZDZX")
        # A scheme run by the program: its managers admit providers from the start.
        await world.program()
        yield world


@pytest.fixture
async def world(
    funds: Funds,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway: FastAPI,
    gateway_client: httpx.AsyncClient,
) -> AsyncIterator[World]:
    async with _world(funds, database_url, gateway, gateway_client, sessionmaker) as built:
        yield built


@pytest.fixture
async def committed_world(
    committed_funds: Funds,
    database_url: str,
    gateway: FastAPI,
    gateway_client: httpx.AsyncClient,
) -> AsyncIterator[World]:
    async with _world(committed_funds, database_url, gateway, gateway_client, None) as built:
        yield built


async def ready(
    world: World, *, amount: int = 500_000, **program: Any
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A program, an accepting provider, an enterprise and its voucher worth `amount`."""
    created = await world.program(**program)
    provider = await world.provider("provider")
    world.after_publicity()
    enterprise = await world.enterprise("enterprise")
    response = await world.voucher(created, "enterprise", amount)
    assert response.status_code == 201, response.text
    return created, provider, enterprise, response.json()
