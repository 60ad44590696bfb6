"""When PostgreSQL goes away mid-request, the gateway answers 503 with Retry-After (never 500),
and an audit row it could not write is logged whole and counted."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any, NoReturn

import asyncpg
import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.exc import DBAPIError

from services.gateway.config import RateLimit
from services.gateway.ratelimit import RateLimiter
from shared.auth.roles import Role
from shared.db import install_db_error_handlers
from shared.errors import ServiceUnavailable, install_error_handlers
from tests.conftest import Login, MakeUser, bearer

# What asyncpg raised at the gateway during a fast shutdown of PostgreSQL (issue 13).
STATE_12 = "cannot switch to state 12; another operation (None) is in progress"


class _BrokenConnection:
    async def fetch(self, *_: Any) -> NoReturn:
        raise asyncpg.InternalClientError(STATE_12)


class _Pool:
    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[_BrokenConnection]:
        yield _BrokenConnection()


async def test_the_rate_limiter_answers_503_when_its_connection_breaks() -> None:
    limiter = RateLimiter(_Pool(), timeout_seconds=1, pool_size=1)
    with pytest.raises(ServiceUnavailable) as refused:
        await limiter.take([("api:addr:x", RateLimit(per_minute=60, burst=10))])
    assert refused.value.headers["Retry-After"] == "2"


async def test_the_guard_answers_503_when_the_database_fails_under_it(
    gateway: FastAPI, gateway_client: AsyncClient, make_user: MakeUser, login: Login
) -> None:
    token = (await login(await make_user(Role.admin)))["access_token"]

    async def unreachable_keys(kid: str) -> NoReturn:
        raise ConnectionRefusedError(111, "Connection refused")

    gateway.state.rate_limiter._pool = _Pool()
    limited = await gateway_client.get("/admin/v1/users", headers=bearer(token))
    assert limited.status_code == 503, limited.text
    assert limited.headers["Retry-After"] == "2"

    gateway.state.token_verifier = type(gateway.state.token_verifier)(
        audience="sciplan-gateway", issuer="sciplan-gateway", keys=unreachable_keys
    )
    keys = await gateway_client.get("/v1/me", headers=bearer(token))
    assert keys.status_code == 503, keys.text
    assert keys.headers["Retry-After"] == "2"
    assert keys.headers["content-type"] == "application/problem+json"


async def test_a_statement_cut_off_by_a_shutdown_is_503_in_every_service() -> None:
    app = FastAPI()
    install_error_handlers(app)
    install_db_error_handlers(app)

    @app.get("/cut-off", response_model=None)
    async def cut_off() -> NoReturn:
        adapted = Exception(STATE_12)
        adapted.__cause__ = asyncpg.InternalClientError(STATE_12)
        raise DBAPIError("SELECT 1", None, adapted)

    @app.get("/shutting-down", response_model=None)
    async def shutting_down() -> NoReturn:
        adapted = Exception("terminating connection due to administrator command")
        adapted.__cause__ = asyncpg.AdminShutdownError()
        raise DBAPIError("SELECT 1", None, adapted)

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://x") as client:
        for path in ("/cut-off", "/shutting-down"):
            response = await client.get(path)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["Retry-After"] == "2"


async def test_an_audit_row_that_cannot_be_written_is_logged_and_counted(
    gateway: FastAPI,
    gateway_client: AsyncClient,
    make_user: MakeUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = await make_user(Role.applicant)

    async def database_gone(record: object) -> NoReturn:
        raise ConnectionRefusedError(111, "Connection refused")

    gateway.state.audit_writer.write = database_gone
    registry = gateway.state.metrics.registry
    before = registry.get_sample_value("sciplan_audit_write_failures_total") or 0
    with caplog.at_level(logging.ERROR, logger="services.gateway.audit.middleware"):
        response = await gateway_client.post(
            "/auth/token",
            data={"username": user["username"], "password": user["password"]},
            headers={"X-Request-ID": "audit-lost-1"},
        )
    assert response.status_code == 200
    assert registry.get_sample_value("sciplan_audit_write_failures_total") == before + 1
    [entry] = [r for r in caplog.records if r.getMessage().startswith("audit row not written")]
    row = entry.audit_row  # type: ignore[attr-defined]
    assert row["request_id"] == "audit-lost-1"
    assert (row["method"], row["path"], row["status"]) == ("POST", "/auth/token", 200)
