"""There is always an admin: the last one cannot be demoted or deactivated, not even by two
admins at once, and an operator who lost the admin gets back in with `sciplan restore-admin`."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from alembic import command
from httpx import AsyncClient
from pydantic import SecretStr

from services.gateway import operations
from services.gateway.auth.passwords import verify_secret
from services.gateway.config import GatewaySettings
from services.gateway.identity.schemas import UserCreate
from services.gateway.identity.service import IdentityService
from services.gateway.models import LoginFailure, RefreshToken, User
from shared.auth.roles import Role
from shared.db import Database
from shared.devdb import create_database, drop_database
from shared.migrate import alembic_config
from tests.conftest import PASSWORD, Login, MakeUser, bearer


async def _admin(make_user: MakeUser, login: Login) -> tuple[dict[str, Any], dict[str, str]]:
    user = await make_user(Role.admin)
    return user, bearer((await login(user))["access_token"])


async def test_the_last_admin_keeps_the_role_and_stays_active(
    gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    first, first_headers = await _admin(make_user, login)
    second, _ = await _admin(make_user, login)

    demoted = await gateway_client.delete(
        f"/admin/v1/users/{second['id']}/roles/admin", headers=first_headers
    )
    assert demoted.status_code == 200
    # Now `first` is the only admin: neither demoting nor deactivating them is allowed.
    for attempt in (
        gateway_client.delete(f"/admin/v1/users/{first['id']}/roles/admin", headers=first_headers),
        gateway_client.patch(
            f"/admin/v1/users/{first['id']}", json={"is_active": False}, headers=first_headers
        ),
    ):
        refused = await attempt
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "user.last_admin"
    me = await gateway_client.get(f"/admin/v1/users/{first['id']}", headers=first_headers)
    assert me.json()["roles"] == ["admin"]
    assert me.json()["is_active"] is True

    # An inactive admin does not count: deactivating the other admin keeps none active.
    restored = await gateway_client.put(
        f"/admin/v1/users/{second['id']}/roles/admin", headers=first_headers
    )
    assert restored.status_code == 200
    off = await gateway_client.patch(
        f"/admin/v1/users/{second['id']}", json={"is_active": False}, headers=first_headers
    )
    assert off.status_code == 200
    again = await gateway_client.patch(
        f"/admin/v1/users/{first['id']}", json={"is_active": False}, headers=first_headers
    )
    assert again.status_code == 409


async def test_a_deactivated_person_can_neither_log_in_nor_refresh(
    gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    _, admin = await _admin(make_user, login)
    person = await make_user(Role.applicant)
    tokens = await login(person)
    off = await gateway_client.patch(
        f"/admin/v1/users/{person['id']}",
        json={"is_active": False, "display_name": "离职人员"},
        headers=admin,
    )
    assert off.status_code == 200
    assert off.json()["is_active"] is False
    assert off.json()["display_name"] == "离职人员"
    relogin = await gateway_client.post(
        "/auth/token", data={"username": person["username"], "password": person["password"]}
    )
    assert relogin.status_code == 401
    refresh = await gateway_client.post(
        "/auth/refresh", data={"refresh_token": tokens["refresh_token"]}
    )
    assert refresh.status_code == 401
    unknown_field = await gateway_client.patch(
        f"/admin/v1/users/{person['id']}", json={"roles": ["admin"]}, headers=admin
    )
    assert unknown_field.status_code == 422


# --- with real concurrent transactions: a database of the gateway's schema alone -----------


@pytest.fixture(scope="module")
def gateway_database(postgres_server_url: str) -> Iterator[str]:
    name = f"sciplan_admins_{os.getpid()}"
    url = asyncio.run(create_database(postgres_server_url, name, drop_first=True))
    command.upgrade(alembic_config("gateway", url), "head")
    try:
        yield url
    finally:
        asyncio.run(drop_database(postgres_server_url, name))


@pytest.fixture
async def database(gateway_database: str) -> AsyncIterator[Database]:
    db = Database(GatewaySettings(database_url=SecretStr(gateway_database)))
    async with db.engine.begin() as connection:  # each test starts with nobody
        await connection.execute(
            sa.text(
                "TRUNCATE gateway.user_roles, gateway.refresh_tokens, gateway.login_failures, "
                "gateway.users CASCADE"
            )
        )
    try:
        yield db
    finally:
        await db.dispose()


async def _create_admin(db: Database, username: str) -> UUID:
    async with db.sessionmaker() as session, session.begin():
        user = await IdentityService(session).create_user(
            UserCreate(
                username=username, password=PASSWORD, display_name=username, roles=[Role.admin]
            ),
            granted_by=None,
        )
        return user.id


async def _active_admins(db: Database) -> list[str]:
    async with db.sessionmaker() as session:
        rows = await session.scalars(
            sa.text(
                "SELECT u.username FROM gateway.users u JOIN gateway.user_roles r "
                "ON r.user_id = u.id WHERE r.role = 'admin' AND u.is_active ORDER BY 1"
            )
        )
        return list(rows)


async def test_two_admins_demoting_each_other_at_once_leave_one(database: Database) -> None:
    first = await _create_admin(database, "race.first")
    second = await _create_admin(database, "race.second")

    async def demote(user_id: UUID) -> None:
        async with database.sessionmaker() as session, session.begin():
            await IdentityService(session).revoke_role(user_id, Role.admin)
            await asyncio.sleep(0.3)  # the other demotion runs while this one is uncommitted

    outcomes = await asyncio.gather(demote(first), demote(second), return_exceptions=True)
    assert sorted(type(o).__name__ for o in outcomes) == ["LastAdmin", "NoneType"], outcomes
    assert len(await _active_admins(database)) == 1


async def test_restore_admin_gives_the_operator_back_a_way_in(
    database: Database, gateway_database: str
) -> None:
    lost = await _create_admin(database, "lost.admin")
    await _create_admin(database, "other.admin")
    async with database.sessionmaker() as session, session.begin():
        await IdentityService(session).revoke_role(lost, Role.admin)
        session.add(LoginFailure(username="lost.admin", failures=9))
    assert await _active_admins(database) == ["other.admin"]

    settings = GatewaySettings(database_url=SecretStr(gateway_database))
    assert await operations.restore_admin(settings, "lost.admin", "a-new-long-password") is False
    assert await operations.restore_admin(settings, "brand.new", "a-new-long-password") is True
    with pytest.raises(ValueError, match="at least"):
        await operations.restore_admin(settings, "lost.admin", "short")

    async with database.sessionmaker() as session:
        restored = await session.scalar(sa.select(User).where(User.username == "lost.admin"))
        assert restored is not None
        assert restored.is_active
        assert await verify_secret(restored.password_hash, "a-new-long-password")
        failures = await session.scalar(
            sa.select(sa.func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.username == "lost.admin")
        )
        assert failures == 0
        live_sessions = await session.scalar(
            sa.select(sa.func.count())
            .select_from(RefreshToken)
            .where(RefreshToken.user_id == restored.id, RefreshToken.revoked_at.is_(None))
        )
        assert live_sessions == 0
    assert "lost.admin" in await _active_admins(database)
    assert "brand.new" in await _active_admins(database)
