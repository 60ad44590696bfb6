"""Writing events (in the caller's transaction) and reading them back as an ordered feed."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import AppError, Text
from shared.events.tables import EventTables
from shared.ids import uuid7
from shared.logging import request_id_var


class Event(BaseModel):
    event_id: UUID
    event_type: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]
    occurred_at: datetime
    request_id: str | None = None
    position: str


class EventFeedPage(BaseModel):
    events: list[Event]
    next_position: str


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
    *,
    event_type: str,
    aggregate_type: str,
    aggregate_id: str,
    payload: dict[str, Any],
) -> UUID:
    """Record an event in the same transaction as the state change it describes."""
    event_id = uuid7()
    await session.execute(
        sa.insert(tables.outbox).values(
            event_id=event_id,
            event_type=event_type,
            aggregate_type=aggregate_type,
            aggregate_id=aggregate_id,
            payload=payload,
            request_id=request_id_var.get(),
        )
    )
    return event_id


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
            position=f"{row.txid}:{row.id}",
        )
        for row in rows
    ]
    return EventFeedPage(events=events, next_position=events[-1].position if events else after)
