"""`CompiledRead`: a SELECT compiled once and run on the driver's connection answers like the
statement would, inside the caller's transaction, and a lost connection is an outage (503)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.db import CompiledRead, async_url, is_database_outage

METADATA = sa.MetaData()
PEOPLE = sa.Table(
    "compiled_read_people",
    METADATA,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String, nullable=False),
    sa.Column("roles", sa.ARRAY(sa.String), nullable=False),
    prefixes=["TEMPORARY"],
)
BY_ID_AND_NAME = CompiledRead(
    sa.select(PEOPLE.c.name, PEOPLE.c.roles).where(
        PEOPLE.c.id == sa.bindparam("person"), PEOPLE.c.name != sa.bindparam("not_named")
    )
)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(async_url(database_url), pool_size=1)
    yield engine
    await engine.dispose()


async def test_it_reads_what_the_transaction_wrote_with_values_passed_by_name(
    engine: AsyncEngine,
) -> None:
    someone = uuid4()
    async with engine.connect() as connection, connection.begin():
        await connection.run_sync(METADATA.create_all)
        await connection.execute(PEOPLE.insert(), {"id": someone, "name": "张三", "roles": ["a"]})
        found = await BY_ID_AND_NAME.first(connection, not_named="李四", person=someone)
        assert found is not None
        assert (found["name"], found["roles"]) == ("张三", ["a"])
        assert await BY_ID_AND_NAME.first(connection, not_named="张三", person=someone) is None
        assert await BY_ID_AND_NAME.first(connection, not_named="李四", person=uuid4()) is None


async def test_a_lost_connection_is_a_database_outage(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.close()
        with pytest.raises(DBAPIError) as failed:
            await BY_ID_AND_NAME.first(connection, person=uuid4(), not_named="")
        assert is_database_outage(failed.value)
        await connection.invalidate()
