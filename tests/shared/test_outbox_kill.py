"""kill -9 a producer and a consumer mid-stream: no event is lost, none is applied twice.

Both run as real processes (`outbox_worker.py`, which also creates the scratch schema) against
a scratch database; each is killed once after it has made some progress, then restarted to
finish. The checks here read the tables with plain SQL.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from shared.db import async_url
from shared.devdb import create_database, drop_database

WORKER = Path(__file__).with_name("outbox_worker.py")
N = 200
# Not a multiple of the consumer batch (5): a consumer whose effects commit apart from its batch
# is then caught in the middle of one.
KILL_AFTER = 42
START_SECONDS = 30.0
FINISH_SECONDS = 90.0
SCHEMA = "outbox_test"


async def scalar(conn: AsyncConnection, sql: str) -> int:
    value = (await conn.execute(sa.text(sql))).scalar_one()
    assert isinstance(value, int)
    return value


async def count(conn: AsyncConnection, table: str) -> int:
    return await scalar(conn, f'SELECT count(*) FROM "{SCHEMA}"."{table}"')


async def wait_until(
    predicate: Callable[[], Awaitable[bool]],
    *,
    within: float,
    what: str,
    process: asyncio.subprocess.Process,
) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert process.returncode is None, f"{what}: worker exited early ({process.returncode})"
        assert time.monotonic() < deadline, f"{what}: not within {within}s"
        await asyncio.sleep(0.01)


def read_logs(folder: Path) -> str:
    return "\n".join(f"{p.name}:\n{p.read_text()}" for p in sorted(folder.glob("*.log")))


@pytest.mark.e2e
async def test_kill_9_mid_stream_loses_nothing_and_applies_once(
    postgres_server_url: str, tmp_path: Path
) -> None:
    name = f"sciplan_outbox_kill_{os.getpid()}"
    url = await create_database(postgres_server_url, name, drop_first=True)
    engine = create_async_engine(async_url(url), pool_size=2)
    processes: list[asyncio.subprocess.Process] = []

    async def start(command: str, *args: str) -> asyncio.subprocess.Process:
        log = (tmp_path / f"{len(processes)}-{command}.log").open("wb")
        with log:
            process = await asyncio.create_subprocess_exec(
                sys.executable, str(WORKER), command, url, *args, stdout=log, stderr=log
            )
        processes.append(process)
        return process

    async def kill_9(process: asyncio.subprocess.Process) -> None:
        process.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(process.wait(), timeout=10) == -signal.SIGKILL

    async def finishes(process: asyncio.subprocess.Process) -> None:
        code = await asyncio.wait_for(process.wait(), timeout=FINISH_SECONDS)
        assert code == 0, read_logs(tmp_path)

    async def rows(table: str) -> int:
        async with engine.connect() as conn:
            return await count(conn, table)

    async def at_least(table: str, n: int) -> bool:
        return await rows(table) >= n

    try:
        await finishes(await start("setup"))

        producer = await start("produce", str(N))
        await wait_until(
            lambda: at_least("state", KILL_AFTER),
            within=START_SECONDS,
            what="producer progress",
            process=producer,
        )
        await kill_9(producer)
        produced = await rows("state")
        assert KILL_AFTER <= produced < N, "producer was not killed mid-stream"
        assert await rows("outbox") == produced  # state and event commit together
        await finishes(await start("produce", str(N)))

        consumer = await start("consume", str(N))
        await wait_until(
            lambda: at_least("effects", KILL_AFTER),
            within=START_SECONDS,
            what="consumer progress",
            process=consumer,
        )
        await kill_9(consumer)
        applied = await rows("effects")
        assert KILL_AFTER <= applied < N, "consumer was not killed mid-stream"
        assert await rows("inbox") == applied  # inbox and effect commit together
        await finishes(await start("consume", str(N)))

        async with engine.connect() as conn:
            await assert_exactly_once(conn)
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await asyncio.wait_for(process.wait(), timeout=10)
        await engine.dispose()
        await drop_database(postgres_server_url, name)


async def assert_exactly_once(conn: AsyncConnection) -> None:
    assert await count(conn, "state") == N
    assert await count(conn, "outbox") == N
    # Every event describes a committed state row, and every state row has its event.
    assert (
        await scalar(
            conn,
            f"""SELECT count(*) FROM "{SCHEMA}".outbox o
                FULL JOIN "{SCHEMA}".state s ON o.aggregate_id = s.id::text
                WHERE o.id IS NULL OR s.id IS NULL""",
        )
        == 0
    )
    assert await count(conn, "effects") == N
    assert await scalar(conn, f'SELECT count(DISTINCT event_id) FROM "{SCHEMA}".effects') == N
    # Every outbox event was applied (the inbox agrees).
    for table in ("effects", "inbox"):
        missing = await scalar(
            conn,
            f"""SELECT count(*) FROM "{SCHEMA}".outbox o WHERE NOT EXISTS
                (SELECT 1 FROM "{SCHEMA}".{table} t WHERE t.event_id = o.event_id)""",
        )
        assert missing == 0, f"{missing} outbox events missing from {table}"
