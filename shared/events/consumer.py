"""Consuming another service's events with an exactly-once effect.

A batch is fetched from the producer's feed before any transaction is opened: no row lock or
transaction is held while the network answers. The batch is then applied in one transaction of
the consumer's database, which first moves the cursor from the position the batch was fetched
at (`UPDATE ... WHERE position = <fetched at>`). Of two replicas that fetched the same batch,
the second waits for the first's row lock, then finds the cursor moved and drops its batch (it
fetches again from the new position): two replicas never apply the same batch. Each event is
recorded in the inbox with its effect, so a redelivered event is a no-op; one that cannot be
parsed or applied is parked (`shared.events.parking`), and the batch goes on. A crash, or a
failure of the database itself, rolls the whole batch back and the same events are fetched
again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

import sqlalchemy as sa
from opentelemetry.trace import Tracer
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.events.dead_letters import serve_requests
from shared.events.handlers import Handlers
from shared.events.outbox import EventFeedPage
from shared.events.parking import PARKED, apply_batch
from shared.events.tables import EventTables

log = logging.getLogger(__name__)

FetchPage = Callable[[str, int], Awaitable[EventFeedPage]]


class EventConsumer:
    def __init__(
        self,
        *,
        source: str,
        fetch: FetchPage,
        sessionmaker: async_sessionmaker[AsyncSession],
        tables: EventTables,
        handlers: Handlers,
        batch_size: int = 100,
        tracer: Tracer | None = None,
    ) -> None:
        self.source = source
        self._fetch = fetch
        self._sessionmaker = sessionmaker
        self._tables = tables
        self.handlers = dict(handlers)
        self._batch_size = batch_size
        self._tracer = tracer
        # For the metrics: events read, events parked, failed polls, batches another replica
        # applied first, and when the feed was last read to its end.
        self.consumed = 0
        self.parked = 0
        self.failures = 0
        self.dropped = 0
        self.caught_up_at: float | None = None

    async def run_once(self) -> int:
        """Consume one batch; how many events were applied or parked (0: caught up, or the
        batch was another replica's)."""
        await self._serve_retry_requests()
        position = await self._position()
        page = await self._fetch(position, self._batch_size)
        if not page.events:
            return 0
        cursors = self._tables.cursors
        async with self._sessionmaker() as session, session.begin():
            moved = (
                await session.execute(
                    sa.update(cursors)
                    .where(cursors.c.source == self.source, cursors.c.position == position)
                    .values(position=page.next_position, updated_at=sa.func.now())
                    .returning(cursors.c.source)
                )
            ).first()
            if moved is None:
                self.dropped += 1
                return 0
            outcomes = await apply_batch(
                session,
                self._tables,
                source=self.source,
                handlers=self.handlers,
                events=page.events,
                tracer=self._tracer,
            )
        self.parked += sum(outcome in PARKED for outcome in outcomes)
        return len(page.events)

    async def _position(self) -> str:
        cursors = self._tables.cursors
        where = cursors.c.source == self.source
        async with self._sessionmaker() as session, session.begin():
            found = (await session.execute(sa.select(cursors.c.position).where(where))).first()
            if found is not None:
                return str(found.position)
            await session.execute(
                insert(cursors).values(source=self.source).on_conflict_do_nothing()
            )
            return str((await session.execute(sa.select(cursors.c.position).where(where))).one()[0])

    async def _serve_retry_requests(self) -> None:
        async with self._sessionmaker() as session, session.begin():
            replayed = await serve_requests(session, self._tables, self.source, self.handlers)
        for one in replayed:
            log.info("dead letter %s (%s) replayed: %s", one.letter_id, one.event_type, one.status)

    async def run_forever(self, poll_seconds: float, stop: asyncio.Event) -> None:
        backoff = poll_seconds
        while not stop.is_set():
            try:
                count = await self.run_once()
                backoff = poll_seconds
                self.consumed += count
                if count < self._batch_size:
                    self.caught_up_at = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consuming %s failed: %r; retrying", self.source, exc)
                self.failures += 1
                count = 0
                backoff = min(backoff * 2, 30.0)
            if count < self._batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=backoff)
