"""Organizations ask to be registered; administrators approve or decline with a reason."""

from __future__ import annotations

import uuid

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.gateway.config import GatewaySettings
from services.gateway.main import create_app as gateway_app
from services.gateway.models import OrganizationRequest, events
from shared.auth.roles import Role
from shared.testing.plugin import running_app
from tests.conftest import ROOMY_RATE_LIMITS, Login, MakeUser, bearer, org_code


def _asking(code: str) -> dict[str, str]:
    return {
        "name": "陇原新材料科技有限公司",
        "credit_code": code,
        "kind": "enterprise",
        "contact_name": "赵敏",
        "contact_email": "zhao.min@longyuan.example.cn",
    }


async def test_an_organization_asks_and_an_administrator_decides(
    gateway_client: httpx.AsyncClient, make_user: MakeUser, login: Login, session: AsyncSession
) -> None:
    admin = bearer((await login(await make_user(Role.admin)))["access_token"])
    applicant = bearer((await login(await make_user(Role.applicant)))["access_token"])
    code = org_code(uuid.uuid4().int % 10**9)

    bad = await gateway_client.post(
        "/v1/organization-requests", json=_asking(code[:-1] + ("X" if code[-1] != "X" else "Y"))
    )
    assert bad.status_code == 422  # the check character is checked
    asked = await gateway_client.post("/v1/organization-requests", json=_asking(code))  # no login
    assert asked.status_code == 202, asked.text
    # A squatter asking for the same code blocks nobody: both wait, the administrator compares.
    squatter = {**_asking(code), "contact_email": "someone@squatter.example.com"}
    again = await gateway_client.post("/v1/organization-requests", json=squatter)
    assert again.status_code == 202
    assert again.content == asked.content  # nothing told: not even whether others asked

    listing = await gateway_client.get(
        "/admin/v1/organization-requests",
        params={"status": "pending", "limit": 100},
        headers=admin,
    )
    waiting = {
        r["contact_email"]: r["id"] for r in listing.json()["items"] if r["credit_code"] == code
    }
    assert set(waiting) == {"zhao.min@longyuan.example.cn", "someone@squatter.example.com"}
    request_id, rival_id = (
        waiting["zhao.min@longyuan.example.cn"],
        waiting["someone@squatter.example.com"],
    )
    forbidden = await gateway_client.post(
        f"/admin/v1/organization-requests/{request_id}/approve", headers=applicant
    )
    assert forbidden.status_code == 403

    approved = await gateway_client.post(
        f"/admin/v1/organization-requests/{request_id}/approve", headers=admin
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    org_id = approved.json()["organization_id"]
    org = await gateway_client.get(f"/admin/v1/organizations/{org_id}", headers=admin)
    assert org.json()["credit_code"] == code
    published = await session.scalars(
        sa.select(events.outbox.c.payload).where(
            events.outbox.c.event_type == "organization.created"
        )
    )
    assert any(p["id"] == org_id for p in published)  # the services hear of it as of any other
    # Approving one declines the others for that code, saying why.
    rival = await gateway_client.get(f"/admin/v1/organization-requests/{rival_id}", headers=admin)
    assert rival.json()["status"] == "declined"
    assert "Another request for this credit code was approved" in rival.json()["reason"]
    twice = await gateway_client.post(
        f"/admin/v1/organization-requests/{request_id}/decline",
        json={"reason": "duplicate"},
        headers=admin,
    )
    assert twice.status_code == 409
    # A registered code is answered like any other (and nothing is stored for it).
    registered = await gateway_client.post("/v1/organization-requests", json=_asking(code))
    assert registered.status_code == 202
    assert registered.content == asked.content
    stored = await session.scalar(
        sa.select(sa.func.count())
        .select_from(OrganizationRequest)
        .where(OrganizationRequest.credit_code == code)
    )
    assert stored == 2

    other = org_code(uuid.uuid4().int % 10**9)
    await gateway_client.post("/v1/organization-requests", json=_asking(other))
    declined_id = await session.scalar(
        sa.select(OrganizationRequest.id).where(OrganizationRequest.credit_code == other)
    )
    no_reason = await gateway_client.post(
        f"/admin/v1/organization-requests/{declined_id}/decline", json={}, headers=admin
    )
    assert no_reason.status_code == 422
    declined = await gateway_client.post(
        f"/admin/v1/organization-requests/{declined_id}/decline",
        json={"reason": "营业执照与名称不符"},
        headers=admin,
    )
    assert declined.status_code == 200
    assert (declined.json()["status"], declined.json()["reason"]) == (
        "declined",
        "营业执照与名称不符",
    )
    assert declined.json()["organization_id"] is None


async def test_asking_has_its_own_allowance_per_address(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    settings = GatewaySettings.model_validate(
        {
            "database_url": database_url,
            "environment": "test",
            "consume_events": False,
            "rate_limits": ROOMY_RATE_LIMITS,
            "organization_request_per_address": {"per_hour": 2, "burst": 2},
        }
    )
    async with running_app(gateway_app(settings), sessionmaker) as app:
        transport = httpx.ASGITransport(app=app, client=(f"10.251.{uuid.uuid4().int % 250}.9", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            answers = [
                await client.post(
                    "/v1/organization-requests",
                    json=_asking(org_code(uuid.uuid4().int % 10**9)),
                )
                for _ in range(3)
            ]
            assert [a.status_code for a in answers] == [202, 202, 429]
            assert int(answers[-1].headers["Retry-After"]) > 60  # an hourly allowance
            # Not the password reset's: that one is untouched.
            reset = await client.post("/auth/password-reset", json={"login": "nobody"})
            assert reset.status_code == 202
