"""The transactional outbox and the inbox consumer, on real PostgreSQL, committing for real.

A scratch database holds a scratch schema: the event tables, a `state` table (the producer's
state change) and an `effects` table with no uniqueness on the event id, so that applying an
event twice would leave two rows.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import (
    AsyncSession,
    async_sessionmaker,
)

from shared.events.consumer import EventConsumer
from shared.events.handlers import Apply, Received, Subscription
from shared.events.outbox import EventFeedPage, publish, read_feed
from shared.events.tables import EventTables
from tests.shared.outbox_worker import SCHEMA_TABLES, ThingCreatedV1

Sessions = async_sessionmaker[AsyncSession]

SOURCE = "producer"
EVENT_TYPE = "thing.created"
# Transactions are cluster-wide: someone else's open transaction on the same server holds the
# feed's horizon back for a while. Waits are bounded by this, never assumed to be instant.
WAIT_SECONDS = 20.0

metadata = SCHEMA_TABLES.metadata
events: EventTables = SCHEMA_TABLES.events
state = SCHEMA_TABLES.state
effects = SCHEMA_TABLES.effects


async def produce_one(sm: Sessions, label: str) -> UUID:
    """One producer transaction: a state change and the event describing it."""
    async with sm() as session, session.begin():
        state_id = (
            await session.execute(sa.insert(state).values(label=label).returning(state.c.id))
        ).scalar_one()
        return await publish(
            session, events, ThingCreatedV1(label=label), aggregate_id=str(state_id)
        )


async def fetch_page(sm: Sessions, after: str, limit: int) -> EventFeedPage:
    """The real feed query, in a session of its own (as the HTTP feed endpoint runs it)."""
    async with sm() as session:
        return await read_feed(session, events, after=after, limit=limit)


async def append_effect(session: AsyncSession, event: Received[Any]) -> None:
    """The deliberately non-idempotent effect: one row per call."""
    await session.execute(
        sa.insert(effects).values(event_id=event.event_id, aggregate_id=event.aggregate_id)
    )


def make_consumer(
    sm: Sessions, *, handler: Apply[ThingCreatedV1] = append_effect, batch_size: int = 100
) -> EventConsumer:
    async def fetch(after: str, limit: int) -> EventFeedPage:
        return await fetch_page(sm, after, limit)

    return EventConsumer(
        source=SOURCE,
        fetch=fetch,
        sessionmaker=sm,
        tables=events,
        handlers={EVENT_TYPE: Subscription(ThingCreatedV1, handler)},
        batch_size=batch_size,
    )


async def count_rows(sm: Sessions, table: sa.Table) -> int:
    async with sm() as session:
        return (await session.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()


async def applied_event_ids(sm: Sessions) -> list[UUID]:
    """Event ids of the effects, in the order they were applied (one entry per handler call)."""
    async with sm() as session:
        rows = await session.execute(sa.select(effects.c.event_id).order_by(effects.c.id))
        return list(rows.scalars())


async def inbox_ids(sm: Sessions) -> list[UUID]:
    inbox = events.inbox
    async with sm() as session:
        return list((await session.execute(sa.select(inbox.c.event_id))).scalars())


async def outbox_rows(sm: Sessions) -> list[tuple[UUID, int, int]]:
    """(event_id, txid, id) of every committed outbox row, in id order."""
    outbox = events.outbox
    async with sm() as session:
        rows = await session.execute(
            sa.select(outbox.c.event_id, outbox.c.txid, outbox.c.id).order_by(outbox.c.id)
        )
        return [(row.event_id, row.txid, row.id) for row in rows]


async def cursor_position(sm: Sessions) -> str | None:
    """The consumer's stored position; None when no batch has ever committed."""
    cursors = events.cursors
    async with sm() as session:
        return (
            await session.execute(sa.select(cursors.c.position).where(cursors.c.source == SOURCE))
        ).scalar_one_or_none()


async def wait_for_feed(sm: Sessions, *, after: str, count: int) -> EventFeedPage:
    """Polls the real feed until it offers `count` events after `after` (bounded)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        page = await fetch_page(sm, after, count + 1)
        if len(page.events) >= count:
            return page
        assert time.monotonic() < deadline, (
            f"feed offers {len(page.events)} of {count} events after {WAIT_SECONDS}s"
        )
        await asyncio.sleep(0.02)


async def drain(consumer: EventConsumer) -> list[int]:
    """run_once until it reports being caught up; the batch sizes it read."""
    counts: list[int] = []
    deadline = time.monotonic() + WAIT_SECONDS
    while not counts or counts[-1] != 0:
        assert time.monotonic() < deadline, f"consumer not caught up: {counts}"
        counts.append(await consumer.run_once())
    return counts


async def test_events_are_consumed_in_order_exactly_once(sm: Sessions) -> None:
    published = [await produce_one(sm, f"a-{i}") for i in range(12)]
    page = await wait_for_feed(sm, after="", count=12)
    assert [event.event_id for event in page.events] == published

    consumer = make_consumer(sm, batch_size=5)
    assert await drain(consumer) == [5, 5, 2, 0]

    assert await applied_event_ids(sm) == published  # in order, one effect per event
    assert sorted(await inbox_ids(sm)) == sorted(published)
    assert await cursor_position(sm) == page.events[-1].position
    assert await consumer.run_once() == 0
    assert len(await applied_event_ids(sm)) == 12


async def test_redelivered_batch_has_no_second_effect(sm: Sessions) -> None:
    published = [await produce_one(sm, f"b-{i}") for i in range(7)]
    await wait_for_feed(sm, after="", count=7)
    consumer = make_consumer(sm, batch_size=5)
    assert await drain(consumer) == [5, 2, 0]
    assert await applied_event_ids(sm) == published
    end = await cursor_position(sm)

    # Redeliver everything: the consumer forgets its position (e.g. a restored backup).
    cursors = events.cursors
    async with sm() as session, session.begin():
        await session.execute(
            sa.update(cursors).where(cursors.c.source == SOURCE).values(position="")
        )
    assert await drain(consumer) == [5, 2, 0]  # every event was read again...

    assert await applied_event_ids(sm) == published  # ...but applied only once
    assert sorted(await inbox_ids(sm)) == sorted(published)
    assert await count_rows(sm, events.inbox) == 7
    assert await cursor_position(sm) == end


async def test_feed_orders_by_transaction_not_by_row_id(sm: Sessions) -> None:
    """A takes its transaction id first but writes its event after B's: ids disagree with txids.

    Read one event per page: a feed ordered by row id would hand out B first, and its cursor,
    compared by (txid, id), would then be past A for good.
    """
    consumer = make_consumer(sm, batch_size=1)
    async with sm() as a_session:
        a_transaction = await a_session.begin()
        try:
            await a_session.execute(sa.insert(state).values(label="A"))  # takes A's txid
            b_id = await produce_one(sm, "B")
            a_id = await publish(a_session, events, ThingCreatedV1(), aggregate_id="A")
            assert (await fetch_page(sm, "", 100)).events == []
            assert await consumer.run_once() == 0
        except BaseException:
            await a_transaction.rollback()
            raise
        await a_transaction.commit()

    rows = await outbox_rows(sm)
    assert [row[0] for row in rows] == [b_id, a_id]  # B has the smaller row id...
    txids = {event_id: txid for event_id, txid, _ in rows}
    assert txids[a_id] < txids[b_id]  # ...A the smaller transaction id

    await wait_for_feed(sm, after="", count=2)
    assert await drain(consumer) == [1, 1, 0]
    assert await applied_event_ids(sm) == [a_id, b_id]


async def publish_then_fail(sm: Sessions, published: list[UUID]) -> None:
    """A producer transaction that fails after writing its state and publishing its event."""
    async with sm() as session, session.begin():
        await session.execute(sa.insert(state).values(label="never"))
        published.append(await publish(session, events, ThingCreatedV1(), aggregate_id="never"))
        raise RuntimeError("producer failed after publishing")


async def test_rolled_back_producer_leaves_no_event(sm: Sessions) -> None:
    lost: list[UUID] = []
    with pytest.raises(RuntimeError, match="producer failed"):
        await publish_then_fail(sm, lost)
    kept = await produce_one(sm, "kept")

    assert [row[0] for row in await outbox_rows(sm)] == [kept]
    assert await count_rows(sm, state) == 1
    page = await wait_for_feed(sm, after="", count=1)
    assert [event.event_id for event in page.events] == [kept]

    await drain(make_consumer(sm))
    assert await applied_event_ids(sm) == [kept]
    assert lost[0] not in await inbox_ids(sm)


async def test_feed_never_skips_an_event_that_commits_late(sm: Sessions) -> None:
    """A publishes first but commits last; B publishes and commits in between."""
    consumer = make_consumer(sm, batch_size=1)
    async with sm() as a_session:
        a_transaction = await a_session.begin()
        try:
            await a_session.execute(sa.insert(state).values(label="A"))
            a_id = await publish(a_session, events, ThingCreatedV1(), aggregate_id="A")
            b_id = await produce_one(sm, "B")

            # B is committed and visible in the table...
            assert [row[0] for row in await outbox_rows(sm)] == [b_id]
            # ...but the feed withholds it while the older transaction A is running, since a
            # reader that moved past B would never come back for A.
            page = await fetch_page(sm, "", 100)
            assert page.events == []
            assert page.next_position == ""
            assert await consumer.run_once() == 0
            assert await applied_event_ids(sm) == []
            assert await cursor_position(sm) == ""
        except BaseException:
            await a_transaction.rollback()
            raise
        await a_transaction.commit()

    rows = await outbox_rows(sm)
    positions = {event_id: (txid, row_id) for event_id, txid, row_id in rows}
    # The dangerous shape really happened: A sorts before B but committed after it.
    assert positions[a_id] < positions[b_id]

    page = await wait_for_feed(sm, after="", count=2)
    assert [event.event_id for event in page.events] == [a_id, b_id]
    assert await drain(consumer) == [1, 1, 0]
    assert await applied_event_ids(sm) == [a_id, b_id]


async def test_a_failure_of_the_database_rolls_back_the_whole_batch(sm: Sessions) -> None:
    first = [await produce_one(sm, f"e1-{i}") for i in range(3)]
    await wait_for_feed(sm, after="", count=3)
    await drain(make_consumer(sm, batch_size=5))
    assert await applied_event_ids(sm) == first
    before = await cursor_position(sm)
    assert before is not None

    second = [await produce_one(sm, f"e2-{i}") for i in range(5)]
    await wait_for_feed(sm, after=before, count=5)

    failing = {second[2]}
    calls: list[UUID] = []

    async def flaky(session: AsyncSession, event: Received[ThingCreatedV1]) -> None:
        calls.append(event.event_id)
        if event.event_id in failing:
            raise TimeoutError("statement timed out")  # says nothing about the event
        await append_effect(session, event)

    consumer = make_consumer(sm, handler=flaky, batch_size=5)
    with pytest.raises(TimeoutError, match="timed out"):
        await consumer.run_once()
    assert calls == second[:3]  # two effects were written in the batch before the failure...

    assert await applied_event_ids(sm) == first  # ...and rolled back with it
    assert await cursor_position(sm) == before
    assert sorted(await inbox_ids(sm)) == sorted(first)

    failing.clear()
    assert await drain(consumer) == [5, 0]
    assert await applied_event_ids(sm) == first + second  # each exactly once, in order
    assert sorted(await inbox_ids(sm)) == sorted(first + second)
