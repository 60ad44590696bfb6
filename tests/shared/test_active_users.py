"""A service refuses a deactivated person's still-valid token once its directory says so."""

from __future__ import annotations

import asyncio
from uuid import uuid4

import httpx
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.projects.config import ProjectsSettings
from services.projects.main import create_app as projects_app
from services.projects.models import directory
from shared.auth.active_users import ActiveUsers
from shared.auth.roles import Role
from shared.clock import utcnow
from shared.contracts.directory import UserUpdatedV1
from shared.directory import directory_handlers
from shared.events.handlers import Received
from shared.ids import uuid7
from shared.testing.plugin import running_app
from tests.conftest import Login, MakeUser, bearer


async def _directory_hears(session: AsyncSession, user: dict[str, object], *, active: bool) -> None:
    event = UserUpdatedV1(
        id=user["id"],
        username=str(user["username"]),
        display_name="测试",
        org_id=None,
        roles=[Role.applicant.value],
        is_active=active,
    )
    apply = directory_handlers(directory)[UserUpdatedV1.event_type]
    await apply.apply(
        session,
        Received(uuid7(), event.event_type, "user", str(user["id"]), utcnow(), event),
    )
    await session.commit()


async def test_a_service_refuses_the_tokens_of_people_its_directory_knows_as_deactivated(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    gateway_client: httpx.AsyncClient,
    make_user: MakeUser,
    login: Login,
) -> None:
    async def jwks() -> dict[str, object]:
        document: dict[str, object] = (await gateway_client.get("/.well-known/jwks.json")).json()
        return document

    settings = ProjectsSettings(database_url=SecretStr(database_url), active_user_cache_seconds=0)
    person = await make_user(Role.applicant)
    headers = bearer((await login(person))["access_token"])
    app = projects_app(settings, jwks_fetch=jwks)
    async with (
        running_app(app, sessionmaker),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://p") as projects,
    ):
        # Not in the directory yet (its event is on the way): not known as deactivated.
        assert (await projects.get("/v1/me", headers=headers)).status_code == 200
        await _directory_hears(session, person, active=False)
        refused = await projects.get("/v1/applications", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["code"] == "auth.account_inactive"
        await _directory_hears(session, person, active=True)
        assert (await projects.get("/v1/me", headers=headers)).status_code == 200


async def test_requests_that_find_a_person_expired_together_share_one_lookup() -> None:
    asked: list[object] = []
    answer = asyncio.Event()

    async def lookup(user_id: object) -> bool | None:
        asked.append(user_id)
        await answer.wait()
        return False

    users = ActiveUsers(lookup, cache_seconds=60, unknown_is_active=True)
    person = uuid4()
    waiting = [asyncio.create_task(users.is_active(person)) for _ in range(20)]
    await asyncio.sleep(0)
    answer.set()
    assert await asyncio.gather(*waiting) == [False] * 20
    assert asked == [person]
    assert await users.is_active(person) is False  # remembered: no second lookup
    assert asked == [person]
