"""Logging in, tokens, refresh rotation, logout, throttling and the JWKS."""

from __future__ import annotations

import jwt
import sqlalchemy as sa
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.auth import keys
from services.gateway.models import LoginFailure
from shared.auth.roles import Role
from tests.conftest import Login, MakeUser, bearer


async def test_login_issues_a_short_lived_signed_access_token(
    gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    user = await make_user(Role.applicant)
    body = await login(user)

    header = jwt.get_unverified_header(body["access_token"])
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert header["alg"] == "EdDSA"
    assert header["typ"] == "at+jwt"
    assert header["kid"]
    assert claims["exp"] - claims["iat"] <= 15 * 60
    assert body["expires_in"] <= 15 * 60
    assert claims["sub"] == str(user["id"])
    assert claims["roles"] == ["applicant"]
    assert claims["iss"] == "sciplan-gateway"
    assert set(claims["aud"]) >= {"sciplan-projects", "sciplan-credit", "sciplan-funds"}
    assert claims["jti"]
    assert body["refresh_token"]
    assert "." not in body["refresh_token"]


async def test_token_verifies_against_the_published_jwks(
    gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    body = await login(await make_user(Role.expert))
    jwks = (await gateway_client.get("/.well-known/jwks.json")).json()
    kid = jwt.get_unverified_header(body["access_token"])["kid"]
    entry = next(k for k in jwks["keys"] if k["kid"] == kid)
    assert "d" not in entry  # the private part never leaves the gateway
    claims = jwt.decode(
        body["access_token"],
        jwt.PyJWK.from_dict(entry),
        algorithms=["EdDSA"],
        audience="sciplan-credit",
    )
    assert claims["roles"] == ["expert"]


async def test_unknown_user_and_wrong_password_answer_the_same(
    gateway_client: AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user(Role.applicant)
    wrong = await gateway_client.post(
        "/auth/token", data={"username": user["username"], "password": "not-the-password"}
    )
    unknown = await gateway_client.post(
        "/auth/token", data={"username": "nobody-here", "password": "not-the-password"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"] == "application/problem+json"
    strip = {"instance", "request_id"}
    assert {k: v for k, v in wrong.json().items() if k not in strip} == {
        k: v for k, v in unknown.json().items() if k not in strip
    }
    assert wrong.json()["code"] == "auth.invalid_credentials"


async def test_repeated_failures_throttle_the_account(
    gateway_client: AsyncClient, make_user: MakeUser, session: AsyncSession
) -> None:
    user = await make_user(Role.applicant)
    for _ in range(5):
        response = await gateway_client.post(
            "/auth/token", data={"username": user["username"], "password": "wrong-password"}
        )
        assert response.status_code == 401
    # Now even the right password waits: the account is locked for a while.
    locked = await gateway_client.post(
        "/auth/token", data={"username": user["username"], "password": user["password"]}
    )
    assert locked.status_code == 429
    assert locked.json()["code"] == "auth.login_throttled"
    assert int(locked.headers["Retry-After"]) >= 1
    failures = await session.scalar(
        sa.select(LoginFailure.failures).where(LoginFailure.username == user["username"])
    )
    assert failures == 5


async def test_refresh_rotates_and_reuse_revokes_the_family(
    gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    first = await login(await make_user(Role.applicant))
    rotated = await gateway_client.post(
        "/auth/refresh", data={"refresh_token": first["refresh_token"]}
    )
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]

    # The old token comes back: a thief has a copy. Both it and the newest one stop working.
    reused = await gateway_client.post(
        "/auth/refresh", data={"refresh_token": first["refresh_token"]}
    )
    assert reused.status_code == 401
    assert reused.json()["code"] == "auth.invalid_refresh_token"
    newest = await gateway_client.post(
        "/auth/refresh", data={"refresh_token": second["refresh_token"]}
    )
    assert newest.status_code == 401


async def test_logout_ends_the_login(
    gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    tokens = await login(await make_user(Role.applicant))
    out = await gateway_client.post("/auth/logout", data={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 204
    again = await gateway_client.post(
        "/auth/refresh", data={"refresh_token": tokens["refresh_token"]}
    )
    assert again.status_code == 401


async def test_client_credentials_give_a_token_for_one_service(
    gateway_client: AsyncClient, session: AsyncSession
) -> None:
    from services.gateway.auth.passwords import hash_secret
    from services.gateway.models import ApiClient

    session.add(
        ApiClient(
            client_id="svc-test",
            secret_hash=await hash_secret("a-long-client-secret"),
            audiences=["sciplan-funds"],
        )
    )
    await session.commit()
    ok = await gateway_client.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "svc-test",
            "client_secret": "a-long-client-secret",
            "audience": "sciplan-funds",
        },
    )
    assert ok.status_code == 200
    claims = jwt.decode(ok.json()["access_token"], options={"verify_signature": False})
    assert claims["aud"] == ["sciplan-funds"]
    assert claims["sub"] == "svc:svc-test"
    assert claims["roles"] == ["service"]
    assert "refresh_token" not in ok.json() or ok.json()["refresh_token"] is None

    for secret, audience in [
        ("wrong-secret", "sciplan-funds"),
        ("a-long-client-secret", "sciplan-credit"),
    ]:
        refused = await gateway_client.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "svc-test",
                "client_secret": secret,
                "audience": audience,
            },
        )
        assert refused.status_code == 401


async def test_rotation_keeps_old_tokens_until_the_old_key_is_retired(
    gateway: FastAPI,
    gateway_client: AsyncClient,
    make_user: MakeUser,
    login: Login,
    session: AsyncSession,
) -> None:
    user = await make_user(Role.applicant)
    old = (await login(user))["access_token"]
    old_kid = jwt.get_unverified_header(old)["kid"]

    await keys.rotate(session)
    await session.commit()
    gateway.state.key_store.invalidate()
    new = (await login(user))["access_token"]
    assert jwt.get_unverified_header(new)["kid"] != old_kid
    published = {
        k["kid"] for k in (await gateway_client.get("/.well-known/jwks.json")).json()["keys"]
    }
    assert old_kid in published  # both keys valid at once
    assert (await gateway_client.get("/v1/me", headers=bearer(old))).status_code == 200

    assert await keys.retire(session, old_kid)
    await session.commit()
    gateway.state.key_store.invalidate()
    assert (await gateway_client.get("/v1/me", headers=bearer(old))).status_code == 401
    assert (await gateway_client.get("/v1/me", headers=bearer(new))).status_code == 200
    published = {
        k["kid"] for k in (await gateway_client.get("/.well-known/jwks.json")).json()["keys"]
    }
    assert old_kid not in published


async def test_problem_titles_follow_accept_language(gateway_client: AsyncClient) -> None:
    zh = await gateway_client.get("/v1/me")
    en = await gateway_client.get("/v1/me", headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"})
    assert zh.status_code == en.status_code == 401
    assert zh.json()["code"] == en.json()["code"] == "auth.unauthenticated"
    assert zh.json()["title"] == "需要有效的身份凭证"
    assert en.json()["title"] == "Authentication required"


async def test_json_at_the_token_endpoint_is_told_to_send_a_form(
    gateway_client: AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user(Role.applicant)
    for path, body in (
        ("/auth/token", {"username": user["username"], "password": user["password"]}),
        ("/auth/refresh", {"refresh_token": "x"}),
    ):
        response = await gateway_client.post(path, json=body, headers={"Accept-Language": "en"})
        assert response.status_code == 415, response.text
        problem = response.json()
        assert problem["code"] == "auth.form_required"
        assert "application/x-www-form-urlencoded" in problem["title"]
        assert "application/json" in problem["detail"]
    # A form, as before, works.
    ok = await gateway_client.post(
        "/auth/token", data={"username": user["username"], "password": user["password"]}
    )
    assert ok.status_code == 200


async def test_no_client_gets_the_gateways_own_name(
    gateway_client: AsyncClient, session: AsyncSession
) -> None:
    # Notify trusts `svc:gateway` with direct messages; only the gateway signs such tokens.
    from typer.testing import CliRunner

    from sciplan.cli import app
    from services.gateway.auth.passwords import hash_secret
    from services.gateway.models import ApiClient

    refused = CliRunner().invoke(
        app,
        ["register-client", "Gateway", "--audience", "sciplan-notify"],
        env={"SCIPLAN_CLIENT_SECRET_GATEWAY": "a-long-client-secret"},
    )
    assert refused.exit_code == 2
    assert "the gateway's own name" in refused.output

    # A row left from before (the migration removes it) opens nothing either.
    session.add(
        ApiClient(
            client_id="gateway",
            secret_hash=await hash_secret("a-long-client-secret"),
            audiences=["sciplan-notify"],
        )
    )
    await session.commit()
    asked = await gateway_client.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "gateway",
            "client_secret": "a-long-client-secret",
            "audience": "sciplan-notify",
        },
    )
    assert asked.status_code == 401
    await session.execute(sa.delete(ApiClient).where(ApiClient.client_id == "gateway"))
    await session.commit()
