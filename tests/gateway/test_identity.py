"""Admin endpoints for organizations, users and roles, and the events they publish."""

from __future__ import annotations

import sqlalchemy as sa
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import events
from shared.auth.roles import Role
from shared.credit_code import check_character, is_valid_credit_code
from tests.conftest import Login, MakeUser, bearer


def credit_code(body: str) -> str:
    """A valid code from its first 17 characters."""
    return body + check_character(body)


def test_credit_code_check_character() -> None:
    assert is_valid_credit_code("91350100M000100Y43")  # the example in GB 32100-2015
    assert not is_valid_credit_code("91350100M000100Y44")  # wrong check character
    assert not is_valid_credit_code("91350100M000100Y4")  # too short
    assert not is_valid_credit_code("91350100I000100Y43")  # I is not in the alphabet
    assert is_valid_credit_code(credit_code("12620000438000476"))


async def _admin_headers(make_user: MakeUser, login: Login) -> dict[str, str]:
    return bearer((await login(await make_user(Role.admin)))["access_token"])


async def _events(session: AsyncSession, event_type: str) -> list[dict[str, object]]:
    rows = await session.execute(
        sa.select(events.outbox.c.payload).where(events.outbox.c.event_type == event_type)
    )
    return [row.payload for row in rows]


async def test_admin_creates_an_organization_and_a_user_in_it(
    gateway_client: AsyncClient, make_user: MakeUser, login: Login, session: AsyncSession
) -> None:
    admin = await _admin_headers(make_user, login)
    org = await gateway_client.post(
        "/admin/v1/organizations",
        json={
            "name": "兰州大学",
            "credit_code": credit_code("12620000438000476"),
            "kind": "university",
        },
        headers=admin,
    )
    assert org.status_code == 201, org.text
    org_id = org.json()["id"]

    user = await gateway_client.post(
        "/admin/v1/users",
        json={
            "username": "zhang.wei",
            "password": "a-good-long-password",
            "display_name": "张伟",
            "org_id": org_id,
            "roles": ["applicant"],
        },
        headers=admin,
    )
    assert user.status_code == 201, user.text
    assert user.json()["roles"] == ["applicant"]
    assert "password" not in user.json()
    assert "password_hash" not in user.json()

    # The new user can log in, and the other services hear of both through the outbox.
    token = await gateway_client.post(
        "/auth/token", data={"username": "zhang.wei", "password": "a-good-long-password"}
    )
    assert token.status_code == 200
    assert any(e["id"] == org_id for e in await _events(session, "organization.created"))
    created = [e for e in await _events(session, "user.created") if e["username"] == "zhang.wei"]
    assert created == [
        {
            "id": user.json()["id"],
            "username": "zhang.wei",
            "display_name": "张伟",
            "org_id": org_id,
            "roles": ["applicant"],
            "is_active": True,
        }
    ]


async def test_granting_and_revoking_roles_publishes_the_change(
    gateway_client: AsyncClient, make_user: MakeUser, login: Login, session: AsyncSession
) -> None:
    admin = await _admin_headers(make_user, login)
    target = await make_user(Role.applicant)
    granted = await gateway_client.put(
        f"/admin/v1/users/{target['id']}/roles/expert", headers=admin
    )
    assert granted.status_code == 200
    assert granted.json()["roles"] == ["applicant", "expert"]
    revoked = await gateway_client.delete(
        f"/admin/v1/users/{target['id']}/roles/applicant", headers=admin
    )
    assert revoked.json()["roles"] == ["expert"]
    updates = [e for e in await _events(session, "user.updated") if e["id"] == str(target["id"])]
    assert [e["roles"] for e in updates] == [["applicant", "expert"], ["expert"]]

    service_role = await gateway_client.put(
        f"/admin/v1/users/{target['id']}/roles/service", headers=admin
    )
    assert service_role.status_code == 422


async def test_bad_input_is_refused_with_a_clear_problem(
    gateway_client: AsyncClient, make_user: MakeUser, login: Login, session: AsyncSession
) -> None:
    admin = await _admin_headers(make_user, login)
    before = len(await _events(session, "organization.created"))
    bad_code = await gateway_client.post(
        "/admin/v1/organizations",
        json={"name": "某公司", "credit_code": "91350100M000100Y44", "kind": "enterprise"},
        headers=admin,
    )
    assert bad_code.status_code == 422
    assert bad_code.json()["code"] == "request.invalid"
    assert bad_code.json()["errors"][0]["loc"] == ["body", "credit_code"]

    good = {"name": "某公司", "credit_code": credit_code("91620100MA7N0PXK1"), "kind": "enterprise"}
    assert (
        await gateway_client.post("/admin/v1/organizations", json=good, headers=admin)
    ).status_code == 201
    again = await gateway_client.post("/admin/v1/organizations", json=good, headers=admin)
    assert again.status_code == 409
    assert again.json()["code"] == "organization.credit_code_taken"
    assert len(await _events(session, "organization.created")) == before + 1  # nothing half-written

    needs_org = await gateway_client.post(
        "/admin/v1/users",
        json={
            "username": "no.org",
            "password": "a-good-long-password",
            "display_name": "x",
            "roles": ["org_admin"],
        },
        headers=admin,
    )
    assert needs_org.status_code == 422
    assert needs_org.json()["code"] == "user.role_needs_organization"


async def test_only_admins_manage_identities(
    gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    applicant = bearer((await login(await make_user(Role.applicant)))["access_token"])
    body = {
        "name": "某研究所",
        "credit_code": credit_code("12620000438000477"),
        "kind": "research_institute",
    }
    forbidden = await gateway_client.post("/admin/v1/organizations", json=body, headers=applicant)
    assert forbidden.status_code == 403
    assert forbidden.json()["code"] == "forbidden"
    anonymous = await gateway_client.post("/admin/v1/organizations", json=body)
    assert anonymous.status_code == 401
    listing = await gateway_client.get("/admin/v1/users", headers=applicant)
    assert listing.status_code == 403


async def test_listing_is_paginated_with_a_hard_maximum(
    gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    admin = await _admin_headers(make_user, login)
    for _ in range(3):
        await make_user(Role.applicant)
    seen: list[str] = []
    page = (await gateway_client.get("/admin/v1/users?limit=2", headers=admin)).json()
    assert len(page["items"]) == 2
    while True:
        seen += [u["id"] for u in page["items"]]
        if page["next_cursor"] is None:
            break
        page = (
            await gateway_client.get(
                "/admin/v1/users", params={"limit": 2, "cursor": page["next_cursor"]}, headers=admin
            )
        ).json()
    assert len(seen) == len(set(seen)) == 4
    too_many = await gateway_client.get("/admin/v1/users?limit=100000", headers=admin)
    assert too_many.status_code == 422


async def test_users_are_filtered_by_role_organization_state_and_name(
    gateway_client: AsyncClient, make_user: MakeUser, login: Login, session: AsyncSession
) -> None:
    admin = await _admin_headers(make_user, login)
    org = await gateway_client.post(
        "/admin/v1/organizations",
        json={
            "name": "甘肃农业大学",
            "credit_code": credit_code("12620000438000478"),
            "kind": "university",
        },
        headers=admin,
    )
    org_id = org.json()["id"]
    expert = await make_user(Role.expert, org_id=org_id, username="filter.expert")
    applicant = await make_user(Role.applicant, org_id=org_id, username="filter.applicant")
    await make_user(Role.expert, username="other.expert")
    await gateway_client.patch(
        f"/admin/v1/users/{applicant['id']}", json={"is_active": False}, headers=admin
    )

    async def names(**params: str) -> list[str]:
        response = await gateway_client.get("/admin/v1/users", params=params, headers=admin)
        assert response.status_code == 200, response.text
        return sorted(u["username"] for u in response.json()["items"])

    assert await names(role="expert") == ["filter.expert", "other.expert"]
    assert await names(org_id=org_id) == ["filter.applicant", "filter.expert"]
    assert await names(org_id=org_id, active="true") == ["filter.expert"]
    assert await names(active="false") == ["filter.applicant"]
    assert await names(username_prefix="Filter.") == ["filter.applicant", "filter.expert"]
    assert await names(username_prefix="%") == []  # a pattern character is just a character
    assert str(expert["id"]) in {
        u["id"]
        for u in (await gateway_client.get("/admin/v1/users?role=expert", headers=admin)).json()[
            "items"
        ]
    }

    unknown = await gateway_client.get("/admin/v1/users?rolle=expert", headers=admin)
    assert unknown.status_code == 422
    assert unknown.json()["code"] == "query.unknown_parameter"
    assert unknown.json()["errors"][0]["loc"] == ["query", "rolle"]
    bad_role = await gateway_client.get("/admin/v1/users?role=emperor", headers=admin)
    assert bad_role.status_code == 422


async def test_organizations_are_listed_in_pages_and_filtered(
    gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    admin = await _admin_headers(make_user, login)
    for n, (name, kind) in enumerate(
        [
            ("兰州大学", "university"),
            ("兰州新区检测中心", "enterprise"),
            ("西北师范大学", "university"),
        ]
    ):
        created = await gateway_client.post(
            "/admin/v1/organizations",
            json={"name": name, "credit_code": credit_code(f"1262000043800049{n}"), "kind": kind},
            headers=admin,
        )
        assert created.status_code == 201, created.text

    async def names(**params: str) -> list[str]:
        response = await gateway_client.get("/admin/v1/organizations", params=params, headers=admin)
        assert response.status_code == 200, response.text
        assert set(response.json()) == {"items", "next_cursor"}
        return sorted(o["name"] for o in response.json()["items"])

    assert await names(kind="university") == ["兰州大学", "西北师范大学"]
    assert await names(name="兰州") == ["兰州大学", "兰州新区检测中心"]
    assert await names(credit_code=credit_code("12620000438000492")) == ["西北师范大学"]
    page = (await gateway_client.get("/admin/v1/organizations?limit=1", headers=admin)).json()
    assert len(page["items"]) == 1
    assert page["next_cursor"]
    refused = await gateway_client.get("/admin/v1/organizations?type=university", headers=admin)
    assert refused.status_code == 422
