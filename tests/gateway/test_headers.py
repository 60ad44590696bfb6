"""Headers on every answer: nosniff everywhere, nothing cached from /auth and /admin."""

from __future__ import annotations

from httpx import AsyncClient

from shared.auth.roles import Role
from tests.conftest import MakeUser


async def test_token_answers_are_never_cached(
    gateway_client: AsyncClient, make_user: MakeUser
) -> None:
    user = await make_user(Role.applicant)
    ok = await gateway_client.post(
        "/auth/token", data={"username": user["username"], "password": user["password"]}
    )
    refreshed = await gateway_client.post(
        "/auth/refresh", data={"refresh_token": ok.json()["refresh_token"]}
    )
    refused = await gateway_client.post(
        "/auth/token", data={"username": user["username"], "password": "wrong-password"}
    )
    for response in (ok, refreshed, refused):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"
        assert response.headers["x-content-type-options"] == "nosniff"


async def test_every_answer_says_nosniff(gateway_client: AsyncClient) -> None:
    for response in (
        await gateway_client.get("/healthz"),
        await gateway_client.get("/v1/me"),  # 401
        await gateway_client.get("/no/such/route"),  # 404
        await gateway_client.get("/api/nowhere/v1/me"),  # the proxy's own 404
        await gateway_client.get("/.well-known/jwks.json"),
    ):
        assert response.headers["x-content-type-options"] == "nosniff", response.url
