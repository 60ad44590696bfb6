"""Grant money: the funds app, two organizations with their admins, and projects events.

Events are built with the payload shapes of `services/projects/execution/events.py` and fed
to the funds service's handlers the way its consumer does (one transaction per batch).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.grants.handlers import HANDLERS
from services.funds.models import directory, events
from shared.events.outbox import Event
from shared.events.parking import Outcome, apply_batch
from shared.ids import uuid7
from tests.conftest import bearer, org_code
from tests.funds.conftest import START, Caller, Funds, program_id_of

ORGS = {1: ("兰州大学", "university"), 2: ("甘肃省农业科学院", "research_institute")}
BUDGET = {"equipment": 300_000, "business": 400_000, "labour": 200_000, "indirect": 100_000}
TRANCHES = [
    {"name": "首笔（任务书签订）", "amount_fen": 500_000, "on": "signing"},
    {"name": "第二笔（中期检查）", "amount_fen": 300_000, "on": "midterm"},
    {"name": "尾款（验收）", "amount_fen": 200_000, "on": "acceptance"},
]


@dataclass
class Grants:
    """The funds app with organizations, and the project events funds consumes."""

    funds: Funds
    session: AsyncSession
    orgs: dict[int, UUID] = field(default_factory=dict)

    async def call(self, method: str, path: str, who: str | None, **kwargs: Any) -> Any:
        return await self.funds.call(method, path, who, **kwargs)

    async def deliver(self, event_type: str, payload: dict[str, Any], **kw: Any) -> Event:
        """An event applied as the consumer would (parked if it cannot apply), then the commit."""
        event = make_event(event_type, payload, at=kw.get("at", self.funds.clock.now))
        await self.redeliver(event)
        return event

    async def redeliver(self, event: Event) -> Outcome:
        (outcome,) = await apply_batch(
            self.session, events, source="projects", handlers=HANDLERS, events=[event]
        )
        await self.session.commit()
        return outcome

    async def deliver_apart(self, event_type: str, payload: dict[str, Any]) -> None:
        """An event applied in a transaction of its own (it races the app's requests)."""
        event = make_event(event_type, payload, at=self.funds.clock.now)
        sessionmaker = self.funds.app.state.db.sessionmaker
        async with sessionmaker() as session, session.begin():
            await apply_batch(session, events, source="projects", handlers=HANDLERS, events=[event])

    async def contract(
        self,
        *,
        program_code: str = "ZDYF",
        year: int = 2026,
        org: int = 1,
        budget: dict[str, int] | None = None,
        tranches: list[dict[str, Any]] | None = None,
        pi: str | None = None,
    ) -> dict[str, Any]:
        """A project.contracted event delivered (`pi`: a caller, the project's PI); its
        payload."""
        payload = contracted(
            self.orgs[org],
            program_code=program_code,
            year=year,
            budget=budget,
            tranches=tranches,
            pi=self.funds.callers[pi].subject if pi else None,
        )
        await self.deliver("project.contracted", payload)
        return payload

    async def envelope(
        self, amount: int, *, program_code: str = "ZDYF", year: int = 2026
    ) -> dict[str, Any]:
        body = {
            "id": str(uuid4()),
            "program_code": program_code,
            "year": year,
            "amount_fen": amount,
        }
        response = await self.call("POST", "/v1/grants/envelopes", "finance", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def grant(self, project_id: Any, who: str = "auditor") -> dict[str, Any]:
        response = await self.call("GET", f"/v1/grants/{project_id}", who)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def approve(self, order_id: Any, who: str = "finance2") -> dict[str, Any]:
        response = await self.call("POST", f"/v1/payment-orders/{order_id}/approve", who)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def summary(self, program_code: str = "ZDYF", year: int = 2026) -> dict[str, Any]:
        response = await self.call(
            "GET",
            "/v1/grants/envelopes",
            "auditor",
            params={"program_code": program_code, "year": year},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def spend(
        self, project_id: Any, category: str, amount: int, who: str = "org_admin", **extra: Any
    ) -> Any:
        body = {
            "id": str(uuid4()),
            "category": category,
            "amount_fen": amount,
            "description": "购置实验耗材",
            "spent_on": "2026-04-01",
            **extra,
        }
        return await self.call("POST", f"/v1/grants/{project_id}/expenditures", who, json=body)


def make_event(event_type: str, payload: dict[str, Any], *, at: datetime) -> Event:
    return Event(
        event_id=uuid7(),
        event_type=event_type,
        aggregate_type="project",
        aggregate_id=str(payload.get("project_id", "")),
        payload=payload,
        occurred_at=at,
        position="1:1",
    )


def contracted(
    org_id: UUID,
    *,
    program_code: str = "ZDYF",
    year: int = 2026,
    budget: dict[str, int] | None = None,
    tranches: list[dict[str, Any]] | None = None,
    pi: Any = None,
) -> dict[str, Any]:
    """A `project.contracted` payload exactly as the projects service publishes it."""
    project_id = uuid7()
    budget = budget or BUDGET
    return {
        "project_id": str(project_id),
        "project_number": f"{year}-{program_code}-{project_id.hex[-4:]}",
        "program_id": str(program_id_of(program_code)),
        "program_code": program_code,
        "year": year,
        "org": {"id": str(org_id), "name": ORGS[1][0], "credit_code": org_code(1)},
        "pi": {"id": str(pi or uuid7()), "name": "李明"},
        "approved_budget_fen": sum(budget.values()),
        "budget": budget,
        "tranches": tranches if tranches is not None else TRANCHES,
        "starts_on": "2026-04-01",
        "ends_on": "2028-03-31",
    }


def summary(payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """The common part of `project.accepted` / `project.acceptance_failed`."""
    return {
        "project_id": payload["project_id"],
        "project_number": payload["project_number"],
        "program_id": payload["program_id"],
        "program_code": payload["program_code"],
        "year": payload["year"],
        "approved_budget_fen": payload["approved_budget_fen"],
        "org": payload["org"],
        "pi": payload["pi"],
        **extra,
    }


def terminated(payload: dict[str, Any], *, cause: str = "misconduct") -> dict[str, Any]:
    body = {
        "project_id": payload["project_id"],
        "project_number": payload["project_number"],
        "cause": cause,
        "at_fault": cause == "misconduct",
        "reason": "承担单位弄虚作假，终止项目",
        "managing_agency": "省科技厅",
        "pi": {"name": payload["pi"]["name"], "gateway_user_id": payload["pi"]["id"]},
        "organization": {
            "name": payload["org"]["name"],
            "gateway_org_id": payload["org"]["id"],
            "credit_code": payload["org"]["credit_code"],
        },
    }
    if cause == "misconduct":
        body["rule_code"] = "TERMINATED_AT_FAULT"
    return body


@pytest.fixture
async def grants(funds: Funds, gateway: FastAPI, session: AsyncSession) -> Grants:
    state = Grants(funds=funds, session=session)
    for n, (name, kind) in ORGS.items():
        state.orgs[n] = uuid7()
        await session.execute(
            sa.insert(directory.organizations).values(
                id=state.orgs[n], name=name, credit_code=org_code(n), kind=kind, updated_at=START
            )
        )
    await session.commit()
    await _org_admins(state, gateway)
    return state


@pytest.fixture
async def committed_grants(committed_funds: Funds, gateway: FastAPI) -> AsyncIterator[Grants]:
    """Grants on the app's own connections: requests and events commit for real and race.

    What it writes stays, so each test uses a program code of its own (`fresh_program`); the
    organizations are not put in the directory (their credit codes would clash later)."""
    sessionmaker = committed_funds.app.state.db.sessionmaker
    async with sessionmaker() as session:
        state = Grants(funds=committed_funds, session=session)
        state.orgs = {1: uuid7(), 2: uuid7()}
        await _org_admins(state, gateway)
        yield state


def fresh_program() -> str:
    return "R" + uuid4().hex[:10].upper()


async def _org_admins(state: Grants, gateway: FastAPI) -> None:
    funds = state.funds
    issuer = gateway.state.token_issuer
    for name, org in (("org_admin", 1), ("org_admin2", 2)):
        subject = str(uuid7())
        token, _ = await issuer.access_token(
            subject=subject,
            audience=issuer.settings.audiences,
            roles=["org_admin"],
            extra={"name": name, "org": str(state.orgs[org])},
        )
        funds.callers[name] = Caller(subject=subject, headers=bearer(token))
