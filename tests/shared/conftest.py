"""The scratch database of the event tests: the event tables, a producer's `state` table and
a consumer's `effects` table in a schema of their own (see `outbox_worker.py`)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.db import async_url
from shared.devdb import create_database, drop_database
from tests.shared.outbox_worker import SCHEMA, SCHEMA_TABLES

Sessions = async_sessionmaker[AsyncSession]
metadata = SCHEMA_TABLES.metadata


@pytest.fixture(scope="module")
async def outbox_engine(postgres_server_url: str) -> AsyncIterator[AsyncEngine]:
    name = f"sciplan_outbox_{os.getpid()}"
    url = await create_database(postgres_server_url, name, drop_first=True)
    engine = create_async_engine(async_url(url), pool_size=5)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{SCHEMA}"'))
            await conn.run_sync(metadata.create_all)
        yield engine
    finally:
        await engine.dispose()
        await drop_database(postgres_server_url, name)


@pytest.fixture
async def sm(outbox_engine: AsyncEngine) -> Sessions:
    """Sessions on the scratch schema, emptied before each test (tests commit for real)."""
    tables = ", ".join(f'"{SCHEMA}"."{table.name}"' for table in metadata.sorted_tables)
    async with outbox_engine.begin() as conn:
        await conn.execute(sa.text(f"TRUNCATE {tables}"))
    return async_sessionmaker(outbox_engine, expire_on_commit=False)
