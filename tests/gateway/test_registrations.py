"""Organizations ask to be registered; administrators approve or decline with a reason."""

from __future__ import annotations

import uuid

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import events
from shared.auth.roles import Role
from tests.conftest import Login, MakeUser, bearer, org_code


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
    assert asked.json()["status"] == "pending"
    again = await gateway_client.post("/v1/organization-requests", json=_asking(code))
    assert again.status_code == 409
    assert again.json()["code"] == "organization_request.pending"

    request_id = asked.json()["id"]
    listing = await gateway_client.get(
        "/admin/v1/organization-requests", params={"status": "pending"}, headers=admin
    )
    assert request_id in [r["id"] for r in listing.json()["items"]]
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
    twice = await gateway_client.post(
        f"/admin/v1/organization-requests/{request_id}/decline",
        json={"reason": "duplicate"},
        headers=admin,
    )
    assert twice.status_code == 409
    registered = await gateway_client.post("/v1/organization-requests", json=_asking(code))
    assert registered.status_code == 409
    assert registered.json()["code"] == "organization.credit_code_taken"

    other = org_code(uuid.uuid4().int % 10**9)
    declined_id = (
        await gateway_client.post("/v1/organization-requests", json=_asking(other))
    ).json()["id"]
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
