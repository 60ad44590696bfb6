"""People run their own accounts: change the password, reset a forgotten one by mail, update
their profile and prove a new address; nothing of it tells whether an account exists."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.gateway.accounts.schemas import ProfileUpdate
from services.gateway.accounts.service import AccountLimits, AccountService
from services.gateway.auth.service import AuthService
from services.gateway.config import GatewaySettings
from services.gateway.identity.schemas import UserCreate
from services.gateway.identity.service import IdentityService
from services.gateway.main import create_app as gateway_app
from services.gateway.models import AccountToken, AuditEntry, events
from shared.auth.roles import Role
from shared.contracts.notices import DirectMessageV1
from shared.testing.plugin import running_app
from tests.conftest import ROOMY_RATE_LIMITS, bearer, free_ports

PASSWORD = "the-old-password-1"
NEW_PASSWORD = "the-new-password-2"
ROOMY = {"per_minute": 100_000, "burst": 10_000}


def _settings(database_url: str, **overrides: Any) -> GatewaySettings:
    return GatewaySettings.model_validate(
        {
            "database_url": database_url,
            "environment": "test",
            "consume_events": False,
            "rate_limits": ROOMY_RATE_LIMITS,
            "password_reset_per_account": ROOMY,
            "password_reset_per_account_hour": ROOMY,
            "password_reset_per_address": ROOMY,
            "token_confirm_per_address": ROOMY,
            "notify_url": f"http://127.0.0.1:{free_ports(1)[0]}",  # nobody there
        }
        | overrides
    )


@pytest.fixture
async def gateway(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    async with running_app(gateway_app(_settings(database_url)), sessionmaker) as app:
        yield app


def _client(app: FastAPI, address: str | None = None) -> httpx.AsyncClient:
    # Each test its own address: the buckets live outside the test's transaction.
    address = address or f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"
    transport = httpx.ASGITransport(app=app, client=(address, 5000))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway")


@pytest.fixture
async def client(gateway: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(gateway) as client:
        yield client


async def _person(session: AsyncSession, *roles: Role, email: str | None = None) -> dict[str, Any]:
    name = f"person-{uuid.uuid4().hex[:10]}"
    user = await IdentityService(session).create_user(
        UserCreate(
            username=name,
            password=PASSWORD,
            display_name="李娜",
            email=email,
            roles=list(roles) or [Role.applicant],
        ),
        granted_by=None,
    )
    await session.commit()
    return {"id": user.id, "username": name, "password": PASSWORD, "email": email}


async def _login(client: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await client.post("/auth/token", data={"username": username, "password": password})


async def _tokens(client: httpx.AsyncClient, person: dict[str, Any]) -> dict[str, Any]:
    response = await _login(client, person["username"], person["password"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _events(session: AsyncSession, event_type: str) -> list[dict[str, Any]]:
    rows = await session.execute(
        sa.select(events.outbox.c.payload).where(events.outbox.c.event_type == event_type)
    )
    return [row.payload for row in rows]


def _accounts(app: FastAPI, session: AsyncSession) -> AccountService:
    """The service behind the routes: what it hands to notify is what the mail would carry."""
    state = app.state
    auth = AuthService(session, state.token_issuer, state.login_throttle, state.login_gate)
    return AccountService(
        session, state.settings, auth, AccountLimits.of(state.rate_limiter, state.settings)
    )


async def _reset_token(app: FastAPI, session: AsyncSession, login: str) -> str:
    message = await _accounts(app, session).request_reset(login, "10.250.0.1")
    await session.commit()
    assert isinstance(message, DirectMessageV1)
    assert message.template == "password_reset"
    token = message.params["token"]
    # In the fragment: a browser never sends it, so no access log holds it.
    assert message.params["link"].endswith(f"/password-reset#token={token}")
    return token


async def test_changing_my_password_needs_the_current_one_and_ends_every_session(
    gateway: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    me = await _person(session, email=f"{uuid.uuid4().hex[:8]}@example.org")
    here, elsewhere = await _tokens(client, me), await _tokens(client, me)
    # Links mailed before the change (one maybe asked for by whoever held the session).
    reset = await _reset_token(gateway, session, me["username"])
    _, verification = await _accounts(gateway, session).update_profile(
        me["id"],
        ProfileUpdate(email=f"{uuid.uuid4().hex[:8]}@example.org", current_password=PASSWORD),
        "10.250.0.2",
    )
    await session.commit()
    assert verification is not None
    headers = bearer(here["access_token"])

    wrong = await client.post(
        "/auth/password",
        json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert wrong.status_code == 403
    assert wrong.headers["content-type"] == "application/problem+json"
    assert wrong.json()["code"] == "account.wrong_password"
    weak = await client.post(
        "/auth/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=headers,
    )
    assert weak.status_code == 422  # the policy of creation: at least 10 characters

    changed = await client.post(
        "/auth/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    fresh = changed.json()
    for old in (here, elsewhere):  # every earlier session ends, this one's too
        refused = await client.post("/auth/refresh", data={"refresh_token": old["refresh_token"]})
        assert refused.status_code == 401
    renewed = await client.post("/auth/refresh", data={"refresh_token": fresh["refresh_token"]})
    assert renewed.status_code == 200  # the answer is the session from now on
    assert (await _login(client, me["username"], PASSWORD)).status_code == 401
    assert (await _login(client, me["username"], NEW_PASSWORD)).status_code == 200
    # Every link mailed before opens nothing now, whatever it was for.
    stale_reset = await client.post(
        "/auth/password-reset/confirm", json={"token": reset, "new_password": "yet-another-3"}
    )
    assert stale_reset.status_code == 400
    stale_address = await client.post(
        "/auth/email-verification/confirm", json={"token": verification.params["token"]}
    )
    assert stale_address.status_code == 400

    told = [
        e
        for e in await _events(session, "account.password_changed")
        if e["user_id"] == str(me["id"])
    ]
    assert [e["changed_by"] for e in told] == ["self"]
    audited = await session.scalars(
        sa.select(AuditEntry.status).where(AuditEntry.path == "/auth/password")
    )
    assert {403, 422, 200} <= set(audited)


async def test_wrong_current_passwords_count_as_failed_logins(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    settings = _settings(database_url, login_max_failures=2)
    async with running_app(gateway_app(settings), sessionmaker) as app, _client(app) as client:
        me = await _person(session)
        headers = bearer((await _tokens(client, me))["access_token"])
        guess = {"current_password": "a-guess-12345", "new_password": NEW_PASSWORD}
        for _ in range(2):
            assert (
                await client.post("/auth/password", json=guess, headers=headers)
            ).status_code == 403
        right = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        stopped = await client.post("/auth/password", json=right, headers=headers)
        assert stopped.status_code == 429
        assert stopped.json()["code"] == "auth.login_throttled"
        # The same lock as the login's: this address cannot log in to the account either.
        assert (await _login(client, me["username"], PASSWORD)).status_code == 429


async def test_a_reset_answers_alike_for_anyone_and_its_token_works_once(
    gateway: FastAPI,
    client: httpx.AsyncClient,
    session: AsyncSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.org"
    me = await _person(session, email=email)
    old_session = await _tokens(client, me)

    answers = []
    with caplog.at_level(logging.INFO):
        for login in (me["username"], email, "nobody-at-all", "nobody@example.org"):
            answers.append(await client.post("/auth/password-reset", json={"login": login}))
    assert {a.status_code for a in answers} == {202}
    assert len({a.content for a in answers}) == 1  # the same body, byte for byte
    issued = await session.scalars(
        sa.select(AccountToken)
        .where(AccountToken.user_id == me["id"])
        .order_by(AccountToken.created_at)
    )
    rows = issued.all()
    assert len(rows) == 2
    # Asking again voids no live link: the owner may be opening the first one right now.
    assert [row.spent_at for row in rows] == [None, None]
    assert all(len(row.token_hash) == 64 for row in rows)  # stored only as SHA-256

    earlier = await _reset_token(gateway, session, me["username"])
    token = await _reset_token(gateway, session, email)

    weak = await client.post(
        "/auth/password-reset/confirm", json={"token": token, "new_password": "short"}
    )
    assert weak.status_code == 422
    done = await client.post(
        "/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 204, done.text
    again = await client.post(
        "/auth/password-reset/confirm", json={"token": token, "new_password": "yet-another-one-3"}
    )
    assert again.status_code == 400  # used once
    # The password is set: the other links still live before it open nothing now.
    voided = await client.post(
        "/auth/password-reset/confirm", json={"token": earlier, "new_password": NEW_PASSWORD}
    )
    assert voided.status_code == 400
    assert voided.json()["code"] == "account.invalid_token"
    assert (await _login(client, me["username"], NEW_PASSWORD)).status_code == 200
    refused = await client.post(
        "/auth/refresh", data={"refresh_token": old_session["refresh_token"]}
    )
    assert refused.status_code == 401  # every session ended
    told = [
        e
        for e in await _events(session, "account.password_changed")
        if e["user_id"] == str(me["id"])
    ]
    assert [e["changed_by"] for e in told] == ["reset"]
    # notify cannot be reached here: said so in the log, the link itself never.
    assert "notify unreachable, password_reset for user" in caplog.text
    assert token not in caplog.text
    assert earlier not in caplog.text


async def test_a_reset_token_expires(
    gateway: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    me = await _person(session, email=f"{uuid.uuid4().hex[:8]}@example.org")
    token = await _reset_token(gateway, session, me["username"])
    await session.execute(
        sa.update(AccountToken)
        .where(AccountToken.user_id == me["id"])
        .values(expires_at=sa.func.now() - sa.text("interval '1 second'"))
    )
    await session.commit()
    late = await client.post(
        "/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert late.status_code == 400
    assert (await _login(client, me["username"], PASSWORD)).status_code == 200


async def test_resets_are_throttled_per_account_and_per_address_and_tokens_per_address(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    tight = {"per_minute": 0.01, "burst": 2}
    settings = _settings(
        database_url,
        password_reset_per_account=tight,
        password_reset_per_address={"per_minute": 0.01, "burst": 5},
        token_confirm_per_address={"per_minute": 0.01, "burst": 3},
    )
    async with running_app(gateway_app(settings), sessionmaker) as app:
        me = await _person(session, email=f"{uuid.uuid4().hex[:8]}@example.org")
        unknown = f"nobody-{uuid.uuid4().hex[:8]}"
        async with _client(app) as client:
            # The username and the address are one account: one allowance.
            answers = [
                await client.post("/auth/password-reset", json={"login": login})
                for login in (me["username"], me["email"], me["username"], unknown, unknown)
            ]
            # Past the account's allowance the answer is the same, and no mail goes out: the
            # known and the unknown account behave alike.
            assert [a.status_code for a in answers] == [202] * 5
            assert len({a.content for a in answers}) == 1
            sent = await session.scalar(
                sa.select(sa.func.count())
                .select_from(AccountToken)
                .where(AccountToken.user_id == me["id"])
            )
            assert sent == 2
            # The address itself has spent its allowance: told to wait.
            stopped = await client.post("/auth/password-reset", json={"login": unknown})
            assert stopped.status_code == 429
            assert int(stopped.headers["Retry-After"]) >= 1

        async with _client(app) as guesser:
            guesses = [
                await guesser.post(
                    "/auth/password-reset/confirm",
                    json={
                        "token": uuid.uuid4().hex + uuid.uuid4().hex,
                        "new_password": NEW_PASSWORD,
                    },
                )
                for _ in range(4)
            ]
            assert [g.status_code for g in guesses] == [400, 400, 400, 429]
            assert guesses[-1].json()["code"] == "account.throttled"


async def test_reset_mail_is_capped_per_hour_and_three_links_live_at_most(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], session: AsyncSession
) -> None:
    settings = _settings(database_url, password_reset_per_account_hour={"per_hour": 4, "burst": 4})
    async with running_app(gateway_app(settings), sessionmaker) as app:
        me = await _person(session, email=f"{uuid.uuid4().hex[:8]}@example.org")
        async with _client(app) as client:
            for _ in range(6):
                answer = await client.post("/auth/password-reset", json={"login": me["email"]})
                assert answer.status_code == 202
        rows = (
            await session.scalars(
                sa.select(AccountToken)
                .where(AccountToken.user_id == me["id"])
                .order_by(AccountToken.id)
            )
        ).all()
        # Four mails in the hour, not six; of their links the three newest still open.
        assert len(rows) == 4
        assert [row.spent_at is None for row in rows] == [False, True, True, True]


async def test_my_profile_and_a_new_address_that_counts_once_confirmed(
    gateway: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    old_address = f"{uuid.uuid4().hex[:8]}@example.org"
    me = await _person(session, email=old_address)
    headers = bearer((await _tokens(client, me))["access_token"])

    renamed = await client.patch(
        "/v1/me", json={"display_name": "李娜娜", "phone": "+86 931 891 2000"}, headers=headers
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["display_name"] == "李娜娜"
    assert renamed.json()["phone"] == "+86 931 891 2000"
    updated = [e for e in await _events(session, "user.updated") if e["id"] == str(me["id"])]
    assert updated[-1]["display_name"] == "李娜娜"  # the directories hear of the new name
    bad = await client.patch("/v1/me", json={"email": "not-an-address"}, headers=headers)
    assert bad.status_code == 422
    assert (
        await client.patch("/v1/me", json={"username": "x"}, headers=headers)
    ).status_code == 422

    new_address = f"{uuid.uuid4().hex[:8]}@Example.org"
    # Where reset links go is changed with the password only: a stolen session cannot.
    unproven = await client.patch("/v1/me", json={"email": new_address}, headers=headers)
    assert unproven.status_code == 422
    wrong = await client.patch(
        "/v1/me", json={"email": new_address, "current_password": "a-guess-12345"}, headers=headers
    )
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "account.wrong_password"
    assert (await client.get("/v1/me/profile", headers=headers)).json()["pending_email"] is None
    pending = await client.patch(
        "/v1/me", json={"email": new_address, "current_password": PASSWORD}, headers=headers
    )
    assert pending.status_code == 200
    assert pending.json()["email"] == old_address  # not before it is confirmed
    assert pending.json()["pending_email"] == new_address.lower()

    accounts = _accounts(gateway, session)
    reset = await _reset_token(gateway, session, me["username"])  # mailed to the old address
    _, message = await accounts.update_profile(
        me["id"], ProfileUpdate(email=new_address, current_password=PASSWORD), "10.250.0.3"
    )
    await session.commit()
    assert message is not None
    assert message.to_address == new_address.lower()
    assert message.template == "email_verification"
    confirmed = await client.post(
        "/auth/email-verification/confirm", json={"token": message.params["token"]}
    )
    assert confirmed.status_code == 204, confirmed.text
    profile = (await client.get("/v1/me/profile", headers=headers)).json()
    assert profile["email"] == new_address.lower()
    assert profile["pending_email"] is None
    contact = [
        e for e in await _events(session, "user.contact_changed") if e["id"] == str(me["id"])
    ]
    # Created with an address an administrator entered, a phone added, the new one confirmed.
    assert [(e["email"], e["email_verified"], e["mobile"]) for e in contact] == [
        (old_address, False, None),
        (old_address, False, "+86 931 891 2000"),
        (new_address.lower(), True, "+86 931 891 2000"),
    ]
    # The previous address is told (notify mails it), and its reset link opens nothing now.
    changed = [
        e for e in await _events(session, "account.email_changed") if e["user_id"] == str(me["id"])
    ]
    assert [e["previous_email"] for e in changed] == [old_address]
    stale = await client.post(
        "/auth/password-reset/confirm", json={"token": reset, "new_password": NEW_PASSWORD}
    )
    assert stale.status_code == 400
    used = await client.post(
        "/auth/email-verification/confirm", json={"token": message.params["token"]}
    )
    assert used.status_code == 400

    # Another account's address: the mail goes out all the same (nothing is told), and its
    # confirmation is refused.
    other = await _person(session, email=f"{uuid.uuid4().hex[:8]}@example.org")
    _, taken = await accounts.update_profile(
        me["id"], ProfileUpdate(email=other["email"], current_password=PASSWORD), "10.250.0.3"
    )
    await session.commit()
    assert taken is not None
    refused = await client.post(
        "/auth/email-verification/confirm", json={"token": taken.params["token"]}
    )
    assert refused.status_code == 409
    assert refused.json()["code"] == "user.email_taken"


async def test_a_deactivated_persons_tokens_are_refused_at_once(
    gateway: FastAPI, client: httpx.AsyncClient, session: AsyncSession
) -> None:
    admin = await _person(session, Role.admin)
    person = await _person(session, email=f"{uuid.uuid4().hex[:8]}@example.org")
    reset = await _reset_token(gateway, session, person["username"])
    admin_headers = bearer((await _tokens(client, admin))["access_token"])
    tokens = await _tokens(client, person)
    headers = bearer(tokens["access_token"])
    assert (await client.get("/v1/me", headers=headers)).status_code == 200

    off = await client.post(f"/admin/v1/users/{person['id']}/deactivate", headers=admin_headers)
    assert off.status_code == 200, off.text
    assert off.json()["is_active"] is False
    for response in (
        await client.get("/v1/me", headers=headers),
        await client.patch("/v1/me", json={"display_name": "x"}, headers=headers),
        await client.get("/api/projects/v1/programs", headers=headers),
    ):
        assert response.status_code == 401
        assert response.json()["code"] == "auth.account_inactive"
    assert (
        await client.post("/auth/refresh", data={"refresh_token": tokens["refresh_token"]})
    ).status_code == 401
    assert (await _login(client, person["username"], PASSWORD)).status_code == 401
    updated = [e for e in await _events(session, "user.updated") if e["id"] == str(person["id"])]
    assert updated[-1]["is_active"] is False  # the services learn it from the directory event

    on = await client.post(f"/admin/v1/users/{person['id']}/reactivate", headers=admin_headers)
    assert on.status_code == 200
    assert on.json()["is_active"] is True
    assert (await _login(client, person["username"], PASSWORD)).status_code == 200
    # A link mailed before the account was closed does not come back with it.
    stale = await client.post(
        "/auth/password-reset/confirm", json={"token": reset, "new_password": NEW_PASSWORD}
    )
    assert stale.status_code == 400

    others = await client.get(
        "/admin/v1/users", params={"role": "admin", "active": "true"}, headers=admin_headers
    )
    for other in others.json()["items"]:
        if other["id"] != str(admin["id"]):
            await client.post(f"/admin/v1/users/{other['id']}/deactivate", headers=admin_headers)
    last = await client.post(f"/admin/v1/users/{admin['id']}/deactivate", headers=admin_headers)
    assert last.status_code == 409
    assert last.json()["code"] == "user.last_admin"


async def test_admins_find_people_by_text(client: httpx.AsyncClient, session: AsyncSession) -> None:
    admin = await _person(session, Role.admin)
    headers = bearer((await _tokens(client, admin))["access_token"])
    tag = uuid.uuid4().hex[:8]
    mailed = await _person(session, Role.expert, email=f"wang.{tag}@lzu.example.cn")

    by_mail = await client.get("/admin/v1/users", params={"q": f"WANG.{tag}"}, headers=headers)
    assert by_mail.status_code == 200
    assert [u["id"] for u in by_mail.json()["items"]] == [str(mailed["id"])]
    assert by_mail.json()["items"][0]["email"] == f"wang.{tag}@lzu.example.cn"
    assert set(by_mail.json()) == {"items", "next_cursor"}
    by_name = await client.get(
        "/admin/v1/users", params={"q": mailed["username"], "role": "applicant"}, headers=headers
    )
    assert by_name.json()["items"] == []  # filters combine: not an applicant
    assert (
        await client.get("/admin/v1/users", params={"text": "x"}, headers=headers)
    ).status_code == 422
