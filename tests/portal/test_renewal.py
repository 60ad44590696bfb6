"""A person's access token is renewed before it expires, without their noticing; a login the
gateway has ended sends them to the login page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.portal.models import PortalSession
from shared.auth.roles import Role
from tests.conftest import PASSWORD, MakeUser


async def _log_in(portal: httpx.AsyncClient, username: str) -> None:
    await portal.get("/login")
    answer = await portal.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": portal.cookies["sp_csrf"]},
    )
    assert answer.status_code == 303, answer.text


async def _expire_access(session: AsyncSession) -> None:
    await session.execute(
        sa.update(PortalSession).values(access_expires_at=datetime.now(UTC) + timedelta(seconds=5))
    )


async def test_an_expiring_token_is_renewed_on_the_next_page(
    portal: httpx.AsyncClient, make_user: MakeUser, session: AsyncSession
) -> None:
    user = await make_user(Role.applicant)
    await _log_in(portal, user["username"])
    await _expire_access(session)

    page = await portal.get("/account")
    assert page.status_code == 200
    assert user["username"] in page.text
    renewed = (await session.execute(sa.select(PortalSession.access_expires_at))).scalar_one()
    assert renewed > datetime.now(UTC) + timedelta(minutes=5)


async def test_a_login_ended_at_the_gateway_ends_the_portal_session(
    portal: httpx.AsyncClient,
    gateway_client: httpx.AsyncClient,
    make_user: MakeUser,
    session: AsyncSession,
) -> None:
    user = await make_user(Role.applicant)
    await _log_in(portal, user["username"])
    # The person changes the password elsewhere: every refresh token of theirs is revoked.
    login = await gateway_client.post(
        "/auth/token", data={"username": user["username"], "password": PASSWORD}
    )
    changed = await gateway_client.post(
        "/auth/password",
        json={"current_password": PASSWORD, "new_password": "another-long-password"},
        headers={"Authorization": f"Bearer {login.json()['access_token']}"},
    )
    assert changed.status_code == 200, changed.text
    await _expire_access(session)

    page = await portal.get("/account")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/account"
    assert (
        await session.execute(sa.select(sa.func.count()).select_from(PortalSession))
    ).scalar_one() == 0
