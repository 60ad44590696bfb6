"""The services' connection pool serves waiting requests in order, and loses no connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import greenlet_spawn

from shared.db import async_url
from shared.fair_pool import FifoAsyncPool, FifoQueue


@pytest.fixture
async def one_connection(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(
        async_url(database_url),
        poolclass=FifoAsyncPool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=0.5,
    )
    yield engine
    await engine.dispose()


async def _waiting(engine: AsyncEngine, count: int) -> None:
    """Until `count` callers wait for a connection."""
    for _ in range(200):
        if len(engine.pool._pool._waiters) >= count:  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"{count} callers never waited")


async def test_waiting_callers_get_connections_in_the_order_they_asked(
    one_connection: AsyncEngine,
) -> None:
    order: list[str] = []

    async def use(name: str) -> None:
        async with one_connection.connect() as connection:
            order.append(name)
            await connection.execute(sa.text("SELECT 1"))

    held = await one_connection.connect()
    await held.execute(sa.text("SELECT 1"))
    waiters = []
    for name in ("first", "second", "third"):
        waiters.append(asyncio.create_task(use(name)))
        await _waiting(one_connection, len(waiters))
    await held.close()
    # A newcomer asking at the very moment the connection comes back (before the woken waiter
    # runs) used to take it; now it waits its turn.
    await use("newcomer")
    await asyncio.gather(*waiters)
    assert order == ["first", "second", "third", "newcomer"]


async def test_a_caller_cancelled_as_it_is_handed_a_connection_passes_it_on() -> None:
    queue = FifoQueue(maxsize=1)
    waiter = asyncio.create_task(greenlet_spawn(queue.get))
    await asyncio.sleep(0)  # the task runs until it waits
    assert len(queue._waiters) == 1
    queue.put_nowait("connection")  # handed straight to the waiter ...
    waiter.cancel()  # ... which is cancelled before it could run
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert queue.get_nowait() == "connection"


async def test_a_caller_that_times_out_gets_a_clear_error_and_the_pool_goes_on(
    one_connection: AsyncEngine,
) -> None:
    held = await one_connection.connect()
    await held.execute(sa.text("SELECT 1"))
    with pytest.raises(PoolTimeout):
        await one_connection.connect()
    await held.close()
    async with one_connection.connect() as connection:
        assert (await connection.scalar(sa.text("SELECT 1"))) == 1
    assert one_connection.pool.checkedout() == 0  # type: ignore[attr-defined]
