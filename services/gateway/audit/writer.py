"""Group commit for the audit log: requests hand their rows to one writer, which appends all
that are waiting in one transaction, then lets each request send its response.

A row per request under a global lock, each in its own transaction, capped every write the
gateway passed at the rate of one lock holder (about 80 a second here). Batched, the chain is
the same (numbered without gaps, each hash covering the previous one) and every response still
waits until its row is committed. A batch is one statement (`gateway.append_audit`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import asyncpg

from services.gateway.audit.chain import AuditRecord, append_all
from services.gateway.audit.repository import ChainAppender
from shared.db import Database

log = logging.getLogger(__name__)

# Rows per transaction at most: a burst beyond it is written in the next transaction.
BATCH = 500


class AuditWriter:
    def __init__(self, db: Database) -> None:
        # The database's connection is looked up for each batch (tests swap in their own).
        self._db = db
        self._queue: asyncio.Queue[tuple[AuditRecord, asyncio.Future[None]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        # Whoever still waits learns that its row was not written, instead of waiting forever.
        waiting = []
        while not self._queue.empty():
            waiting.append(self._queue.get_nowait())
        _fail(waiting, RuntimeError("the gateway is shutting down"))

    async def write(self, record: AuditRecord) -> None:
        """Returns once the row is committed; raises if it could not be written."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((record, done))
        await done

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                async with self._db.reading() as connection:
                    raw = await connection.get_raw_connection()
                    driver: asyncpg.Connection = raw.driver_connection
                    records = [record for record, _ in batch]
                    if driver.is_in_transaction():  # a test's: a failure leaves it usable
                        async with driver.transaction():
                            await append_all(ChainAppender(driver), records)
                    else:  # one statement, its own transaction: no BEGIN and COMMIT
                        await append_all(ChainAppender(driver), records)
            except asyncio.CancelledError:
                _fail(batch, RuntimeError("the gateway is shutting down"))
                raise
            except Exception as exc:  # every waiting request learns it, the writer goes on
                _fail(batch, exc)
                continue
            for _, done in batch:
                if not done.done():
                    done.set_result(None)


def _fail(batch: list[tuple[AuditRecord, asyncio.Future[None]]], exc: BaseException) -> None:
    for _, done in batch:
        if not done.done():
            done.set_exception(exc)
