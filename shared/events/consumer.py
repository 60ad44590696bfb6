"""Consuming another service's events with an exactly-once effect.

Each batch runs in one transaction of the consumer's database: lock the cursor row (so only one
replica consumes a source at a time), record every event id in the inbox, apply the handler's
effect for events not seen before, and move the cursor. A crash anywhere rolls the whole batch
back and the same events are fetched again; the inbox makes a redelivered event a no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.events.outbox import Event, EventFeedPage
from shared.events.tables import EventTables

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Event], Awaitable[None]]
FetchPage = Callable[[str, int], Awaitable[EventFeedPage]]


class EventConsumer:
    def __init__(
        self,
        *,
        source: str,
        fetch: FetchPage,
        sessionmaker: async_sessionmaker[AsyncSession],
        tables: EventTables,
        handlers: Mapping[str, Handler],
        batch_size: int = 100,
    ) -> None:
        self.source = source
        self._fetch = fetch
        self._sessionmaker = sessionmaker
        self._tables = tables
        self._handlers = dict(handlers)
        self._batch_size = batch_size
        # For the metrics: events applied, failed polls, and when the feed was last read to its end.
        self.consumed = 0
        self.failures = 0
        self.caught_up_at: float | None = None

    async def run_once(self) -> int:
        """Consume one batch; returns how many events were read (0 when caught up)."""
        cursors, inbox = self._tables.cursors, self._tables.inbox
        async with self._sessionmaker() as session, session.begin():
            await session.execute(
                insert(cursors).values(source=self.source).on_conflict_do_nothing()
            )
            position = (
                await session.execute(
                    sa.select(cursors.c.position)
                    .where(cursors.c.source == self.source)
                    .with_for_update()
                )
            ).scalar_one()
            page = await self._fetch(position, self._batch_size)
            for event in page.events:
                fresh = (
                    await session.execute(
                        insert(inbox)
                        .values(
                            event_id=event.event_id, source=self.source, event_type=event.event_type
                        )
                        .on_conflict_do_nothing()
                        .returning(inbox.c.event_id)
                    )
                ).first()
                handler = self._handlers.get(event.event_type)
                if fresh is not None and handler is not None:
                    await handler(session, event)
            if page.events:
                await session.execute(
                    sa.update(cursors)
                    .where(cursors.c.source == self.source)
                    .values(position=page.next_position, updated_at=sa.func.now())
                )
            return len(page.events)

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
