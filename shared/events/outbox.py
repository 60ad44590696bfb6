"""Writing events (in the caller's transaction) and reading them back as an ordered feed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.base import EventContract
from shared.contracts.feed import EventFeedPageV2, EventV2
from shared.errors import AppError, Text
from shared.events.tables import EventTables
from shared.ids import uuid7
from shared.logging import request_id_var
from shared.tracing import current_trace_context

# The feed's envelope and page (contracts between services: `shared/contracts/feed.py`).
Event = EventV2
EventFeedPage = EventFeedPageV2


class InvalidPosition(AppError):
    code = "events.invalid_position"
    title = Text("事件位置无效", "Invalid event feed position")


def parse_position(position: str) -> tuple[int, int]:
    """A position is "<txid>:<id>" of the last event read; "" is the start of the feed."""
    if not position:
        return (0, 0)
    txid, _, row_id = position.partition(":")
    try:
        return (int(txid), int(row_id))
    except ValueError as exc:
        raise InvalidPosition() from exc


async def publish(
    session: AsyncSession,
    tables: EventTables,
    event: EventContract,
    *,
    aggregate_id: str | None = None,
) -> UUID:
    """Record an event in the same transaction as the state change it describes. The type,
    the aggregate and the payload come from the contract; the aggregate's id too, unless the
    contract leaves it to the producer (`aggregate_field` None). Inside a trace, the event
    carries its context, and the consumer's work on it joins the same trace."""
    contract = type(event)
    key = aggregate_id if aggregate_id is not None else event.aggregate_key()
    if key is None:
        raise TypeError(f"{contract.__name__}: give the aggregate's id")
    event_id = uuid7()
    await session.execute(
        sa.insert(tables.outbox).values(
            event_id=event_id,
            event_type=contract.event_type,
            aggregate_type=contract.aggregate_type,
            aggregate_id=key,
            payload=event.model_dump(mode="json"),
            request_id=request_id_var.get(),
            trace_context=current_trace_context(),
        )
    )
    return event_id


async def publish_all(
    session: AsyncSession, tables: EventTables, events: Sequence[EventContract]
) -> list[UUID]:
    """`publish` for many events of contracts that name their aggregate, in one statement
    (sent in batches) rather than one round trip each: applying an assignment run publishes
    tens of thousands."""
    rows: list[dict[str, Any]] = []
    trace_context = current_trace_context()
    for event in events:
        contract = type(event)
        key = event.aggregate_key()
        if key is None:
            raise TypeError(f"{contract.__name__}: give the aggregate's id")
        rows.append(
            {
                "event_id": uuid7(),
                "event_type": contract.event_type,
                "aggregate_type": contract.aggregate_type,
                "aggregate_id": key,
                "payload": event.model_dump(mode="json"),
                "request_id": request_id_var.get(),
                "trace_context": trace_context,
            }
        )
    if rows:
        await session.execute(sa.insert(tables.outbox), rows)
    return [row["event_id"] for row in rows]


async def read_feed(
    session: AsyncSession, tables: EventTables, *, after: str, limit: int
) -> EventFeedPage:
    txid, row_id = parse_position(after)
    outbox = tables.outbox
    # Only transactions older than every running one: later commits cannot land before these.
    horizon = sa.text("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    rows = (
        await session.execute(
            sa.select(outbox)
            .where(sa.tuple_(outbox.c.txid, outbox.c.id) > sa.tuple_(txid, row_id))
            .where(outbox.c.txid < horizon)
            .order_by(outbox.c.txid, outbox.c.id)
            .limit(limit)
        )
    ).all()
    events = [
        Event(
            event_id=row.event_id,
            event_type=row.event_type,
            aggregate_type=row.aggregate_type,
            aggregate_id=row.aggregate_id,
            payload=row.payload,
            occurred_at=row.occurred_at,
            request_id=row.request_id,
            trace_context=row.trace_context,
            position=f"{row.txid}:{row.id}",
        )
        for row in rows
    ]
    return EventFeedPage(events=events, next_position=events[-1].position if events else after)
