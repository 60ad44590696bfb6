"""The services' connection pool serves waiting requests in order, and loses no connection; the
SQLAlchemy internals it plugs into are still what it relies on (each check names the one)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import greenlet_spawn

from shared.db import async_url
from shared.fair_pool import VERIFIED_WITH, FifoAsyncPool, FifoQueue

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


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


# --- the SQLAlchemy internals fair_pool relies on -------------------------------------------


def test_sqlalchemy_is_pinned_to_the_version_the_fair_pool_was_verified_with() -> None:
    assert sa.__version__ == VERIFIED_WITH, (
        f"SQLAlchemy {sa.__version__} is installed, but shared/fair_pool.py relies on internals "
        f"checked with {VERIFIED_WITH}: run the checks below, then move VERIFIED_WITH and the "
        "pin in pyproject.toml together"
    )
    assert f'"sqlalchemy[asyncio]=={VERIFIED_WITH}"' in PYPROJECT.read_text(), (
        "pyproject.toml must pin SQLAlchemy exactly to fair_pool.VERIFIED_WITH"
    )


class _DriverConnection:
    """Just enough of a DBAPI connection for the pool to hand out and take back."""

    def rollback(self) -> None:
        pass

    def close(self) -> None:
        pass


def _connect() -> Any:
    return _DriverConnection()


def test_the_pool_still_builds_its_queue_from_queue_class() -> None:
    pool = FifoAsyncPool(_connect, pool_size=3, max_overflow=0)
    queue = pool._pool
    assert isinstance(queue, FifoQueue), (
        "QueuePool.__init__ no longer builds its queue from `_queue_class`: FifoQueue is unused"
    )
    assert queue.maxsize == 3, "QueuePool no longer passes pool_size to its queue"


def test_checkouts_and_returns_still_go_through_the_queue(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[tuple[Any, ...]] = []
    get, put_nowait = FifoQueue.get, FifoQueue.put_nowait

    def spied_get(self: FifoQueue, block: bool = True, timeout: float | None = None) -> Any:
        calls.append(("get", block, timeout))
        return get(self, block, timeout)

    def spied_put_nowait(self: FifoQueue, item: Any) -> None:
        calls.append(("put_nowait",))
        put_nowait(self, item)

    monkeypatch.setattr(FifoQueue, "get", spied_get)
    monkeypatch.setattr(FifoQueue, "put_nowait", spied_put_nowait)
    pool = FifoAsyncPool(_connect, pool_size=1, max_overflow=0, timeout=7)
    first = pool.connect()
    driver = first.dbapi_connection
    first.close()
    second = pool.connect()
    assert second.dbapi_connection is driver, "the pool did not hand back its idle connection"
    second.close()
    assert calls == [
        ("get", False, 7),  # room to open a connection: nobody waits
        ("put_nowait",),
        ("get", True, 7),  # the pool is full: wait (up to pool_timeout) for a connection
        ("put_nowait",),
    ], "QueuePool no longer takes with queue.get(block, timeout) and returns with put_nowait"
