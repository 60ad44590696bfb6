"""Pytest plugin: a migrated PostgreSQL database per test run, a rolled-back transaction per test.

The database is the embedded one (under .sciplan/test-pg) unless SCIPLAN_TEST_DATABASE_URL
names a server. Each run gets fresh databases, made by running the real migrations: one for
in-process tests (every test inside a transaction that is rolled back), one for end-to-end
tests whose service processes commit for real.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.db import async_url, asyncpg_dsn
from shared.devdb import EmbeddedPostgres, create_database, drop_database
from shared.migrate import upgrade_all

URL_VARIABLE = "SCIPLAN_TEST_DATABASE_URL"
# Stacks of service processes and in-process tests run side by side (`make test` has two
# workers): more clients than PostgreSQL's default 100.
MAX_CONNECTIONS = 300
_EMBEDDED = pytest.StashKey[EmbeddedPostgres]()


def pytest_configure(config: pytest.Config) -> None:
    """The embedded server is started once, by the process that runs the session (the only one,
    or xdist's controller, whose workers inherit its URL): every worker shares it."""
    if os.environ.get(URL_VARIABLE) or hasattr(config, "workerinput"):
        return
    embedded = EmbeddedPostgres(Path(".sciplan/test-pg"))
    url = embedded.start()
    if asyncio.run(_raise_max_connections(url)):
        embedded.stop()  # the setting takes a restart; it is kept in the data folder
        url = embedded.start()
    config.stash[_EMBEDDED] = embedded
    os.environ[URL_VARIABLE] = url


def pytest_unconfigure(config: pytest.Config) -> None:
    embedded = config.stash.get(_EMBEDDED, None)
    if embedded is not None:
        os.environ.pop(URL_VARIABLE, None)
        embedded.stop()


async def _raise_max_connections(url: str) -> bool:
    """True when the server must restart to allow `MAX_CONNECTIONS` clients."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        if int(await conn.fetchval("SHOW max_connections")) >= MAX_CONNECTIONS:
            return False
        await conn.execute(f"ALTER SYSTEM SET max_connections = {MAX_CONNECTIONS}")
        return True
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """URL of a PostgreSQL server (its `postgres` database) for this test run."""
    return os.environ[URL_VARIABLE]


@contextlib.contextmanager
def migrated_database(server_url: str, name: str) -> Iterator[str]:
    url = asyncio.run(create_database(server_url, name, drop_first=True))
    upgrade_all(url)
    try:
        yield url
    finally:
        asyncio.run(drop_database(server_url, name))


@pytest.fixture(scope="session")
def database_url(postgres_server_url: str) -> Iterator[str]:
    """A freshly migrated database for in-process tests."""
    with migrated_database(postgres_server_url, f"sciplan_test_{os.getpid()}") as url:
        yield url


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(async_url(database_url), pool_size=5)
    yield engine
    await engine.dispose()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection inside an outer transaction that is rolled back after the test."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        try:
            yield conn
        finally:
            await outer.rollback()


@pytest.fixture
def sessionmaker(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions whose commits are savepoints inside the test's outer transaction."""
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@contextlib.asynccontextmanager
async def running_app(
    app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession] | None = None
) -> AsyncIterator[FastAPI]:
    """Runs the app's lifespan; with `sessionmaker`, its requests use the test's transaction."""
    async with app.router.lifespan_context(app):
        if sessionmaker is not None:
            app.state.db.sessionmaker = sessionmaker
            app.state.db.reading = _reading_on(sessionmaker.kw["bind"])
            # Every app of the test shares its one connection: work started in the background
            # would interleave its savepoints with a request's (savepoint "does not exist").
            # The gateway reloads its key ring that way once it is a few seconds old.
            key_store = getattr(app.state, "key_store", None)
            if key_store is not None:
                key_store.cache_seconds = math.inf
        yield app


def _reading_on(
    connection: AsyncConnection,
) -> Callable[[], contextlib.AbstractAsyncContextManager[AsyncConnection]]:
    """Reads on the test's own connection, so they see what the test's transaction wrote."""

    @contextlib.asynccontextmanager
    async def reading() -> AsyncIterator[AsyncConnection]:
        yield connection

    return reading
