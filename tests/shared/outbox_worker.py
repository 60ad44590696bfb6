"""The scratch schema of the outbox tests, and a producer/consumer process to kill mid-stream.

Run as a script: `python outbox_worker.py setup <database_url>` creates the scratch schema;
`python outbox_worker.py produce|consume <database_url> <n>` runs a worker:

- `produce` writes events until there are `n`, each in its own transaction together with the
  state row it describes; it resumes from the count already present, so a restart finishes.
- `consume` runs an `EventConsumer` over the real feed query until `n` effects exist; its
  handler appends one row per call (deliberately not idempotent), so a second application of
  any event would be visible.

Standalone on purpose (imports nothing from the tests), so it runs the same whether or not
`tests/` is a package.
"""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from shared.contracts.base import EventContract
from shared.db import async_url
from shared.events.consumer import EventConsumer
from shared.events.handlers import Apply, Received, Subscription
from shared.events.outbox import EventFeedPage, publish, read_feed
from shared.events.tables import EventTables, event_tables

SCHEMA = "outbox_test"
SOURCE = "producer"
EVENT_TYPE = "thing.created"
PRODUCE_PAUSE_SECONDS = 0.005
HANDLER_PAUSE_SECONDS = 0.005
CONSUME_BATCH = 5
CONSUME_DEADLINE_SECONDS = 90.0


class ThingCreatedV1(EventContract):
    """The scratch schema's one event: a `state` row was written."""

    event_type: ClassVar[str] = EVENT_TYPE
    aggregate_type: ClassVar[str] = "thing"
    aggregate_field: ClassVar[str | None] = None

    label: str = ""


@dataclass(frozen=True)
class OutboxSchema:
    metadata: sa.MetaData
    events: EventTables
    state: sa.Table
    effects: sa.Table


def build_schema() -> OutboxSchema:
    metadata = sa.MetaData(schema=SCHEMA)
    events = event_tables(metadata)
    state = sa.Table(
        "state",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("label", sa.String(100), nullable=False),
    )
    # No uniqueness on event_id on purpose: every handler call appends a row.
    effects = sa.Table(
        "effects",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", PG_UUID(as_uuid=True), nullable=False),
        sa.Column("aggregate_id", sa.String(100), nullable=False),
    )
    return OutboxSchema(metadata=metadata, events=events, state=state, effects=effects)


SCHEMA_TABLES = build_schema()


def make_engine(database_url: str) -> AsyncEngine:
    return create_async_engine(async_url(database_url), pool_size=5, max_overflow=10)


async def create_schema(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE'))
        await conn.execute(sa.text(f'CREATE SCHEMA "{SCHEMA}"'))
        await conn.run_sync(SCHEMA_TABLES.metadata.create_all)


async def produce_one(sessionmaker: async_sessionmaker[AsyncSession], label: str) -> UUID:
    """One producer transaction: a state change and the event describing it."""
    async with sessionmaker() as session, session.begin():
        state_id = (
            await session.execute(
                sa.insert(SCHEMA_TABLES.state)
                .values(label=label)
                .returning(SCHEMA_TABLES.state.c.id)
            )
        ).scalar_one()
        return await publish(
            session, SCHEMA_TABLES.events, ThingCreatedV1(label=label), aggregate_id=str(state_id)
        )


async def fetch_page(
    sessionmaker: async_sessionmaker[AsyncSession], after: str, limit: int
) -> EventFeedPage:
    """The real feed query, in its own session (as the HTTP feed endpoint would run it)."""
    async with sessionmaker() as session:
        return await read_feed(session, SCHEMA_TABLES.events, after=after, limit=limit)


async def append_effect(session: AsyncSession, event: Received[Any]) -> None:
    await session.execute(
        sa.insert(SCHEMA_TABLES.effects).values(
            event_id=event.event_id, aggregate_id=event.aggregate_id
        )
    )


def make_consumer(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    handler: Apply[ThingCreatedV1] | None = None,
    batch_size: int = CONSUME_BATCH,
) -> EventConsumer:
    async def fetch(after: str, limit: int) -> EventFeedPage:
        return await fetch_page(sessionmaker, after, limit)

    return EventConsumer(
        source=SOURCE,
        fetch=fetch,
        sessionmaker=sessionmaker,
        tables=SCHEMA_TABLES.events,
        handlers={EVENT_TYPE: Subscription(ThingCreatedV1, handler or append_effect)},
        batch_size=batch_size,
    )


async def count_rows(sessionmaker: async_sessionmaker[AsyncSession], table: sa.Table) -> int:
    async with sessionmaker() as session:
        return (await session.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()


async def produce(database_url: str, n: int) -> int:
    engine = make_engine(database_url)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
    try:
        start = await count_rows(sessionmaker, SCHEMA_TABLES.state)
        for i in range(start, n):
            await produce_one(sessionmaker, f"thing-{i}")
            await asyncio.sleep(PRODUCE_PAUSE_SECONDS)
        return 0
    finally:
        await engine.dispose()


async def consume(database_url: str, n: int) -> int:
    engine = make_engine(database_url)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)

    async def slow_effect(session: AsyncSession, event: Received[ThingCreatedV1]) -> None:
        await append_effect(session, event)
        await asyncio.sleep(HANDLER_PAUSE_SECONDS)

    consumer = make_consumer(sessionmaker, handler=slow_effect)
    deadline = time.monotonic() + CONSUME_DEADLINE_SECONDS
    try:
        while time.monotonic() < deadline:
            if await count_rows(sessionmaker, SCHEMA_TABLES.effects) >= n:
                return 0
            if await consumer.run_once() == 0:
                await asyncio.sleep(0.02)
        return 1
    finally:
        await engine.dispose()


async def setup(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        await create_schema(engine)
        return 0
    finally:
        await engine.dispose()


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "setup":
        return asyncio.run(setup(argv[2]))
    if len(argv) != 4 or argv[1] not in ("produce", "consume"):
        sys.stderr.write(
            "usage: outbox_worker.py setup <database_url>\n"
            "       outbox_worker.py produce|consume <database_url> <n>\n"
        )
        return 2
    command, database_url, n = argv[1], argv[2], int(argv[3])
    run = produce if command == "produce" else consume
    return asyncio.run(run(database_url, n))


if __name__ == "__main__":
    sys.exit(main(sys.argv))
