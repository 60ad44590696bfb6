"""Events a consumer cannot apply are parked, not skipped and not in the way of the others;
operators replay them; a consumer fetches its feed outside any transaction and two replicas
racing on one source never apply a batch twice. On the scratch schema, committing for real."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import dead_letters
from shared.events.consumer import EventConsumer
from shared.events.dead_letters import DeadLetterResolved, DeadLetterWaiting
from shared.events.handlers import CannotApply, Received, Subscription
from shared.events.outbox import EventFeedPage
from shared.ids import uuid7
from tests.shared.outbox_worker import ThingCreatedV1
from tests.shared.test_outbox import (
    EVENT_TYPE,
    SOURCE,
    Sessions,
    append_effect,
    applied_event_ids,
    cursor_position,
    drain,
    events,
    fetch_page,
    inbox_ids,
    produce_one,
    wait_for_feed,
)

letters = events.dead_letters


class Gate:
    """A handler that cannot apply the events of the aggregates in `closed` (say, a project
    it has not heard of yet): the cause an operator fixes before retrying."""

    def __init__(self, *closed: str) -> None:
        self.closed = set(closed)

    async def __call__(self, session: AsyncSession, event: Received[ThingCreatedV1]) -> None:
        if event.aggregate_id in self.closed:
            raise CannotApply(f"{event.aggregate_id} is not ready")
        await append_effect(session, event)


def consumer_with(sm: Sessions, gate: Gate, batch_size: int = 100) -> EventConsumer:
    async def fetch(after: str, limit: int) -> EventFeedPage:
        return await fetch_page(sm, after, limit)

    return EventConsumer(
        source=SOURCE,
        fetch=fetch,
        sessionmaker=sm,
        tables=events,
        handlers={EVENT_TYPE: Subscription(ThingCreatedV1, gate)},
        batch_size=batch_size,
    )


async def publish_raw(sm: Sessions, aggregate_id: str, payload: dict[str, Any]) -> UUID:
    """An event whose payload does not fit its contract (written around `publish`)."""
    event_id = uuid7()
    async with sm() as session, session.begin():
        await session.execute(
            sa.insert(events.outbox).values(
                event_id=event_id,
                event_type=EVENT_TYPE,
                aggregate_type="thing",
                aggregate_id=aggregate_id,
                payload=payload,
            )
        )
    return event_id


async def publish_to(sm: Sessions, aggregate_id: str) -> UUID:
    from shared.events.outbox import publish

    async with sm() as session, session.begin():
        return await publish(
            session, events, ThingCreatedV1(label=aggregate_id), aggregate_id=aggregate_id
        )


async def parked(sm: Sessions) -> dict[UUID, Any]:
    async with sm() as session:
        rows = await session.execute(sa.select(letters).order_by(letters.c.seq))
        return {row.event_id: row for row in rows}


async def test_an_event_that_cannot_apply_is_parked_and_only_its_aggregate_waits(
    sm: Sessions,
) -> None:
    a1 = await publish_to(sm, "a")
    b1 = await publish_to(sm, "b")
    a2 = await publish_to(sm, "a")
    c1 = await publish_raw(sm, "c", {"label": 5})  # not a string: does not fit the contract
    b2 = await publish_to(sm, "b")
    page = await wait_for_feed(sm, after="", count=5)
    consumer = consumer_with(sm, Gate("a"))

    assert await drain(consumer) == [5, 0]

    assert await applied_event_ids(sm) == [b1, b2]  # the others went on, in order
    assert await cursor_position(sm) == page.events[-1].position
    assert sorted(await inbox_ids(sm)) == sorted([b1, b2])  # parked means not applied
    found = await parked(sm)
    assert list(found) == [a1, a2, c1]
    first, behind, unfit = found[a1], found[a2], found[c1]
    assert (first.status, first.attempts, first.error) == ("failed", 1, "a is not ready")
    assert (first.source, first.aggregate_type, first.aggregate_id) == (SOURCE, "thing", "a")
    assert first.first_failed_at is not None
    assert first.last_failed_at == first.first_failed_at
    # Not tried at all: applying it before a1 would reorder the aggregate's events.
    assert (behind.status, behind.attempts, behind.blocked_by) == ("waiting", 0, first.id)
    assert unfit.status == "failed"
    assert unfit.error.startswith("payload does not fit ThingCreatedV1: label:")
    assert consumer.parked == 3


async def test_a_retried_event_applies_once_and_releases_those_waiting_behind_it(
    sm: Sessions,
) -> None:
    a1 = await publish_to(sm, "a")
    a2 = await publish_to(sm, "a")
    await wait_for_feed(sm, after="", count=2)
    gate = Gate("a")
    consumer = consumer_with(sm, gate)
    await drain(consumer)
    found = await parked(sm)
    first, behind = found[a1].id, found[a2].id
    sources = {SOURCE: consumer.handlers}

    async def retry(letter_id: UUID) -> list[tuple[UUID, str]]:
        async with sm() as session, session.begin():
            _, replayed = await dead_letters.retry(
                session, events, sources, letter_id, actor="operator"
            )
        return [(r.event_id, r.status) for r in replayed]

    with pytest.raises(DeadLetterWaiting) as waiting:
        await retry(behind)
    assert waiting.value.extra["blocked_by"] == str(first)

    assert await retry(first) == [(a1, "failed")]  # the cause is still there
    again = (await parked(sm))[a1]
    assert (again.status, again.attempts) == ("failed", 2)
    assert again.last_failed_at > again.first_failed_at
    assert (await parked(sm))[a2].status == "waiting"

    gate.closed.clear()  # the operator fixed the cause
    assert await retry(first) == [(a1, "applied"), (a2, "applied")]
    assert await applied_event_ids(sm) == [a1, a2]  # in order, once each
    done = await parked(sm)
    assert {done[a1].status, done[a2].status} == {"applied"}
    assert (done[a1].resolved_by, done[a1].resolution) == ("operator", "applied on retry")
    with pytest.raises(DeadLetterResolved):
        await retry(first)

    # Redelivered (the cursor forgotten): the inbox keeps each effect to one.
    async with sm() as session, session.begin():
        await session.execute(sa.update(events.cursors).values(position=""))
    await drain(consumer)
    assert await applied_event_ids(sm) == [a1, a2]


async def test_a_discarded_event_is_never_applied_and_those_behind_it_go_on(
    sm: Sessions,
) -> None:
    a1 = await publish_to(sm, "a")
    a2 = await publish_to(sm, "a")
    await wait_for_feed(sm, after="", count=2)
    gate = Gate("a")
    consumer = consumer_with(sm, gate)
    await drain(consumer)
    first = (await parked(sm))[a1].id

    gate.closed.clear()
    async with sm() as session, session.begin():
        row, replayed = await dead_letters.discard(
            session,
            events,
            {SOURCE: consumer.handlers},
            first,
            actor="operator",
            reason="settled by hand with the producer",
        )
    assert (row.status, row.resolution) == ("discarded", "settled by hand with the producer")
    assert [(r.event_id, r.status) for r in replayed] == [(a2, "applied")]
    assert await applied_event_ids(sm) == [a2]

    async with sm() as session, session.begin():
        await session.execute(sa.update(events.cursors).values(position=""))
    await drain(consumer)
    assert await applied_event_ids(sm) == [a2]  # a redelivered discarded event stays out


async def test_a_retry_asked_for_on_the_command_line_is_carried_out_by_the_consumer(
    sm: Sessions,
) -> None:
    a1 = await publish_to(sm, "a")
    await wait_for_feed(sm, after="", count=1)
    gate = Gate("a")
    consumer = consumer_with(sm, gate)
    await drain(consumer)
    first = (await parked(sm))[a1].id

    gate.closed.clear()
    async with sm() as session, session.begin():
        await dead_letters.request_retry(session, events, first, actor="cli:ops")
    assert (await parked(sm))[a1].retry_requested_at is not None

    await consumer.run_once()  # its next poll
    done = (await parked(sm))[a1]
    assert (done.status, done.resolved_by, done.retry_requested_at) == ("applied", "cli:ops", None)
    assert await applied_event_ids(sm) == [a1]


async def cursor_locks_held_by_others(sm: Sessions) -> int:
    """Locks on the cursor rows held by any other connection (a consumer's open batch), in
    this test's database: the services of end-to-end stacks on the same server lock theirs.
    A plain read of a cursor (ACCESS SHARE, for the moment of a SELECT) is not a held lock: the
    other consumer may be reading its position just then."""
    async with sm() as session:
        count = await session.scalar(
            sa.text(
                "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE c.relname = 'event_cursors' AND l.pid <> pg_backend_pid() "
                "AND l.mode <> 'AccessShareLock' "
                "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
        return int(count or 0)


async def test_two_consumers_racing_on_one_source_never_apply_a_batch_twice(
    sm: Sessions,
) -> None:
    published = [await produce_one(sm, f"r-{i}") for i in range(10)]
    await wait_for_feed(sm, after="", count=10)
    both_fetched = asyncio.Barrier(2)
    locks_while_fetching: list[int] = []

    async def fetch(after: str, limit: int) -> EventFeedPage:
        page = await fetch_page(sm, after, limit)
        # No consumer holds its cursor (or any transaction) while the feed answers...
        locks_while_fetching.append(await cursor_locks_held_by_others(sm))
        if after == "":
            await both_fetched.wait()  # ...so the two fetch the same batch at once.
        return page

    def replica() -> EventConsumer:
        return EventConsumer(
            source=SOURCE,
            fetch=fetch,
            sessionmaker=sm,
            tables=events,
            handlers={EVENT_TYPE: Subscription(ThingCreatedV1, append_effect)},
        )

    first, second = replica(), replica()
    counts = await asyncio.wait_for(asyncio.gather(first.run_once(), second.run_once()), 20)

    assert sorted(counts) == [0, 10]  # one applied the batch, the other dropped it
    assert first.dropped + second.dropped == 1
    assert locks_while_fetching == [0, 0]
    assert await applied_event_ids(sm) == published  # each once
    assert await drain(first) == [0]
    assert await drain(second) == [0]
    assert await applied_event_ids(sm) == published
