"""Services that require the gateway's proof refuse a person's write sent to them directly."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.credit.config import CreditSettings
from services.credit.main import create_app as credit_app
from services.gateway.auth.passwords import hash_secret
from services.gateway.models import ApiClient
from shared.auth.gateway_proof import HEADER, sign, verified_digest
from shared.auth.roles import Role
from shared.credit_code import check_character
from shared.testing.plugin import running_app
from tests.conftest import Login, MakeUser, bearer

KEY = "a-production-like-proof-key"


def _scope(method: str, target: str, headers: dict[str, str]) -> dict[str, Any]:
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }


def test_a_proof_holds_for_its_own_request_only() -> None:
    body = b'{"a": 1}'
    proof = sign(KEY, method="POST", target="/v1/x?y=%3F", authorization="Bearer t", body=body)
    headers = {HEADER: proof, "Authorization": "Bearer t"}
    assert verified_digest(KEY, _scope("POST", "/v1/x?y=%3F", headers)) is not None
    assert verified_digest("another-key", _scope("POST", "/v1/x?y=%3F", headers)) is None
    assert verified_digest(KEY, _scope("PUT", "/v1/x?y=%3F", headers)) is None
    assert verified_digest(KEY, _scope("POST", "/v1/z?y=%3F", headers)) is None
    assert verified_digest(KEY, _scope("POST", "/v1/x", headers)) is None
    other_caller = headers | {"Authorization": "Bearer someone-else"}
    assert verified_digest(KEY, _scope("POST", "/v1/x?y=%3F", other_caller)) is None
    at = int(proof.split(",")[0].removeprefix("t="))
    assert verified_digest(KEY, _scope("POST", "/v1/x?y=%3F", headers), now=at + 61) is None
    assert verified_digest(KEY, _scope("POST", "/v1/x?y=%3F", {HEADER: "t=1,d=2,s=3"})) is None


@pytest.fixture
async def credit(
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
    gateway_client: httpx.AsyncClient,
) -> AsyncIterator[httpx.AsyncClient]:
    """The credit service as production runs it: writes need the gateway's proof."""

    async def jwks() -> dict[str, Any]:
        document: dict[str, Any] = (await gateway_client.get("/.well-known/jwks.json")).json()
        return document

    settings = CreditSettings(
        database_url=SecretStr(database_url),
        require_gateway_proof=True,
        gateway_proof_key=SecretStr(KEY),
    )
    async with running_app(credit_app(settings, jwks_fetch=jwks), sessionmaker) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://credit") as client:
            yield client


def _subject() -> bytes:
    body = f"91620100MA{uuid.uuid4().int % 10**7:07d}"
    return json.dumps(
        {"kind": "organization", "name": "某检测公司", "credit_code": body + check_character(body)}
    ).encode()


async def test_a_direct_write_is_refused_and_the_proven_one_served(
    credit: httpx.AsyncClient, make_user: MakeUser, login: Login
) -> None:
    token = (await login(await make_user(Role.admin)))["access_token"]
    headers = bearer(token) | {"Content-Type": "application/json"}
    body = _subject()

    direct = await credit.post("/v1/subjects", content=body, headers=headers)
    assert direct.status_code == 403, direct.text
    assert direct.json()["code"] == "gateway.proof_required"

    proof = sign(
        KEY, method="POST", target="/v1/subjects", authorization=headers["Authorization"], body=body
    )
    proven = await credit.post("/v1/subjects", content=body, headers=headers | {HEADER: proof})
    assert proven.status_code == 200, proven.text

    # The same proof with another body (or for another caller) is no proof.
    swapped = await credit.post(
        "/v1/subjects", content=_subject(), headers=headers | {HEADER: proof}
    )
    assert swapped.status_code == 403
    assert swapped.json()["code"] == "gateway.proof_required"
    # Reads need none.
    assert (await credit.get("/v1/me", headers=bearer(token))).status_code == 200


async def test_services_write_to_each_other_with_their_own_tokens(
    credit: httpx.AsyncClient, gateway_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    session.add(
        ApiClient(
            client_id="projects-test",
            secret_hash=await hash_secret("a-long-client-secret"),
            audiences=["sciplan-credit"],
        )
    )
    await session.commit()
    token = (
        await gateway_client.post(
            "/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "projects-test",
                "client_secret": "a-long-client-secret",
                "audience": "sciplan-credit",
            },
        )
    ).json()["access_token"]
    answer = await credit.post(
        "/v1/ratings/bulk", json={"subject_ids": [str(uuid.uuid4())]}, headers=bearer(token)
    )
    assert answer.status_code == 200, answer.text
