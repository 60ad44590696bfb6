"""The transaction rule: commit before the response, roll back on error, 503 when the database
is away. Exercised through a small app built from the shared pieces, on real PostgreSQL."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import Database, SessionDep, install_db_error_handlers
from shared.errors import Conflict, install_error_handlers
from shared.settings import ServiceSettings

SCHEMA = "transaction_rule_test"


def _app(database_url: str) -> FastAPI:
    settings = ServiceSettings(database_url=SecretStr(database_url), db_pool_timeout_seconds=2)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = Database(settings)
        yield
        await app.state.db.dispose()

    app = FastAPI(lifespan=lifespan)
    install_error_handlers(app)
    install_db_error_handlers(app)
    insert = sa.text(f"INSERT INTO {SCHEMA}.notes (body) VALUES (:body)")

    @app.post("/ok")
    async def ok(session: SessionDep) -> dict[str, str]:
        await session.execute(insert, {"body": "kept"})
        return {"status": "written"}

    @app.post("/refused")
    async def refused(session: SessionDep) -> dict[str, str]:
        await session.execute(insert, {"body": "half-written"})
        raise Conflict()

    @app.post("/fails-at-commit")
    async def fails_at_commit(session: SessionDep) -> dict[str, str]:
        # Passes at insert time; the deferred check fails only at COMMIT.
        await session.execute(insert, {"body": "deferred-violation"})
        return {"status": "written"}

    return app


@pytest.fixture
async def notes(engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        await conn.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
        await conn.execute(sa.text(f"CREATE TABLE {SCHEMA}.notes (body text NOT NULL)"))
        await conn.execute(
            sa.text(
                f"ALTER TABLE {SCHEMA}.notes ADD CONSTRAINT no_deferred_violation "
                "EXCLUDE USING btree (body WITH =) WHERE (body = 'deferred-violation') "
                "DEFERRABLE INITIALLY DEFERRED"
            )
        )
        await conn.execute(sa.text(f"INSERT INTO {SCHEMA}.notes VALUES ('deferred-violation')"))
    yield engine
    async with engine.begin() as conn:
        await conn.execute(sa.text(f"DROP SCHEMA {SCHEMA} CASCADE"))


async def _bodies(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(sa.text(f"SELECT body FROM {SCHEMA}.notes ORDER BY body"))
        return [row.body for row in rows]


@contextlib.asynccontextmanager
async def _client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False), base_url="http://t"
        ) as client,
    ):
        yield client


async def test_commit_happens_before_the_response(database_url: str, notes: AsyncEngine) -> None:
    async with _client(_app(database_url)) as client:
        assert (await client.post("/ok")).status_code == 200
    assert "kept" in await _bodies(notes)


async def test_an_error_rolls_everything_back(database_url: str, notes: AsyncEngine) -> None:
    async with _client(_app(database_url)) as client:
        response = await client.post("/refused")
    assert response.status_code == 409
    assert "half-written" not in await _bodies(notes)


async def test_a_failed_commit_is_never_answered_with_success(
    database_url: str, notes: AsyncEngine
) -> None:
    async with _client(_app(database_url)) as client:
        response = await client.post("/fails-at-commit")
    assert response.status_code >= 400
    assert response.headers["content-type"] == "application/problem+json"
    assert await _bodies(notes) == ["deferred-violation"]


async def test_no_database_means_a_quick_503() -> None:
    app = _app("postgresql+asyncpg://nobody@127.0.0.1:9/none")  # nothing listens on port 9
    async with _client(app) as client:
        response = await client.post("/ok")
    assert response.status_code == 503
    assert response.json()["code"] == "service.unavailable"
    assert response.headers["Retry-After"]
