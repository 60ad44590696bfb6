"""The audit log: every mutating request, append-only, and a hash chain that shows tampering."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from httpx import AsyncClient
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.audit.chain import verify
from services.gateway.models import AuditEntry
from shared.auth.roles import Role
from tests.conftest import Login, MakeUser, bearer


async def _entries(session: AsyncSession) -> list[AuditEntry]:
    return list((await session.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq))).all())


async def _some_traffic(gateway_client: AsyncClient, make_user: MakeUser, login: Login) -> str:
    admin = await login(await make_user(Role.admin))  # POST /auth/token: audited
    headers = bearer(admin["access_token"]) | {"X-Request-ID": "req-audit-1"}
    await gateway_client.put("/admin/v1/users/x/roles/expert", headers=headers)
    await gateway_client.get("/admin/v1/users", headers=headers)  # a read: not audited
    await gateway_client.post("/auth/token", data={"username": "nobody", "password": "wrong-one"})
    return str(admin["access_token"])


async def test_mutating_requests_are_recorded_with_who_what_and_outcome(
    gateway_client: AsyncClient, make_user: MakeUser, login: Login, session: AsyncSession
) -> None:
    await _some_traffic(gateway_client, make_user, login)
    entries = await _entries(session)
    assert [(e.method, e.path, e.status) for e in entries] == [
        ("POST", "/auth/token", 200),
        ("PUT", "/admin/v1/users/x/roles/expert", 422),
        ("POST", "/auth/token", 401),
    ]
    put = entries[1]
    assert put.actor is not None  # the admin's user id, from the verified token
    assert put.request_id == "req-audit-1"
    assert put.client_address == "10.1.2.3"
    assert [e.seq for e in entries] == [1, 2, 3]
    result = await verify(session)
    assert result.ok
    assert result.checked == 3


async def test_the_database_refuses_edits_and_deletions(
    gateway_client: AsyncClient, make_user: MakeUser, login: Login, session: AsyncSession
) -> None:
    await _some_traffic(gateway_client, make_user, login)
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(sa.update(AuditEntry).values(status=200))
    with pytest.raises(DBAPIError, match="append-only"):
        async with session.begin_nested():
            await session.execute(sa.delete(AuditEntry))


@pytest.mark.parametrize("tampering", ["edit", "delete", "reorder"])
async def test_verify_detects_tampering(
    tampering: str,
    gateway_client: AsyncClient,
    make_user: MakeUser,
    login: Login,
    session: AsyncSession,
) -> None:
    await _some_traffic(gateway_client, make_user, login)
    assert (await verify(session)).ok
    # Someone with superuser rights switches the guard off (rolled back with the test).
    await session.execute(
        sa.text("ALTER TABLE gateway.audit_log DISABLE TRIGGER audit_log_no_change")
    )
    if tampering == "edit":
        await session.execute(sa.update(AuditEntry).where(AuditEntry.seq == 3).values(status=200))
        expected = 3
    elif tampering == "delete":
        await session.execute(sa.delete(AuditEntry).where(AuditEntry.seq == 2))
        expected = 2
    else:  # swap the contents of rows 1 and 2, each keeping its own hash
        await session.execute(sa.update(AuditEntry).where(AuditEntry.seq == 1).values(seq=-1))
        await session.execute(sa.update(AuditEntry).where(AuditEntry.seq == 2).values(seq=1))
        await session.execute(sa.update(AuditEntry).where(AuditEntry.seq == -1).values(seq=2))
        expected = 1
    session.expire_all()
    result = await verify(session)
    assert not result.ok
    assert result.at_seq == expected


async def test_the_portals_forms_are_left_to_the_api_calls_they_make(
    gateway_client: AsyncClient, session: AsyncSession
) -> None:
    # The portal changes things through the API as the person: that call is the one recorded.
    await gateway_client.post("/login", data={"username": "x", "password": "y"})
    await gateway_client.post("/auth/token", data={"username": "nobody", "password": "wrong-one"})
    assert [e.path for e in await _entries(session)] == ["/auth/token"]


async def test_the_database_hashes_any_text_as_verify_does(
    gateway_client: AsyncClient, session: AsyncSession
) -> None:
    # The rows are numbered and hashed by PostgreSQL, checked by Python: non-ASCII text,
    # quotes, backslashes and a missing actor must hash the same on both sides.
    for path in ('/auth/项目/申报书"引号"', "/auth/back\\slash", "/auth/%E4%B8%AD"):
        await gateway_client.post(path, headers={"X-Request-ID": 'req-"q"'})
    entries = await _entries(session)
    assert [e.path for e in entries] == ['/auth/项目/申报书"引号"', "/auth/back\\slash", "/auth/中"]
    assert {e.actor for e in entries} == {None}
    result = await verify(session)
    assert (result.ok, result.checked) == (True, 3)
