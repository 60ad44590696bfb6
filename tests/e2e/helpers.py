"""Helpers for end-to-end tests against real service processes."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

import asyncpg
import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.db import asyncpg_dsn
from tests.conftest import RunningStack, bearer


def e2e_client() -> httpx.AsyncClient:
    """A client that opens a connection per request: services are killed and restarted under
    it, and a kept-alive connection the server closed while idle fails the next request."""
    return httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_keepalive_connections=0))


async def admin_token(client: httpx.AsyncClient, stack: RunningStack) -> str:
    response = await client.post(
        f"{stack.url}/auth/token", data={"username": "admin", "password": stack.admin_password}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def create_org(
    client: httpx.AsyncClient, stack: RunningStack, token: str, name: str, code: str
) -> dict[str, Any]:
    response = await client.post(
        f"{stack.url}/admin/v1/organizations",
        json={"name": name, "credit_code": code, "kind": "university"},
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def create_user(
    client: httpx.AsyncClient,
    stack: RunningStack,
    token: str,
    username: str,
    roles: list[str],
    org_id: str | None = None,
) -> dict[str, Any]:
    response = await client.post(
        f"{stack.url}/admin/v1/users",
        json={
            "username": username,
            "password": "e2e-user-password",
            "display_name": username,
            "org_id": org_id,
            "roles": roles,
        },
        headers=bearer(token),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def signing_key(stack: RunningStack) -> tuple[str, Ed25519PrivateKey]:
    """The gateway's current signing key, read from its table: lets a test mint odd tokens."""
    conn = await asyncpg.connect(asyncpg_dsn(stack.stack.database_url))
    try:
        row = await conn.fetchrow(
            "SELECT kid, private_pem FROM gateway.signing_keys WHERE retired_at IS NULL "
            "ORDER BY created_at DESC, kid DESC LIMIT 1"
        )
    finally:
        await conn.close()
    assert row is not None
    key = serialization.load_pem_private_key(row["private_pem"].encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return str(row["kid"]), key


def mint(kid: str, key: Ed25519PrivateKey, **overrides: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": "sciplan-gateway",
        "sub": "01a21563-37cb-7c43-a861-04452fb41338",
        "aud": ["sciplan-gateway", "sciplan-projects", "sciplan-credit", "sciplan-funds"],
        "iat": now,
        "exp": now + 600,
        "jti": "e2e",
        "roles": ["applicant"],
    }
    claims.update(overrides)
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid, "typ": "at+jwt"})


async def sciplan(stack: RunningStack, *args: str) -> tuple[int, str, str]:
    """Runs the `sciplan` command against the stack's database."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sciplan.cli",
        *args,
        env=os.environ | {"SCIPLAN_DATABASE_URL": stack.stack.database_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def scalar(stack: RunningStack, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(asyncpg_dsn(stack.stack.database_url))
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()
