"""What operators do with parked events: read them, retry them, discard them.

A retry replays the letter's aggregate from the letter on (it must be the first unresolved one
of its aggregate: the ones behind it wait for it); a discard gives up on one letter (after the
matter was settled by hand) and replays those that waited behind it. `sciplan events retry`
cannot run a service's handlers, so it asks (`retry_requested_at`) and the service's consumer
replays at its next poll (`serve_requests`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from shared.errors import AppError, Text
from shared.events.handlers import Handlers
from shared.events.parking import Replayed, lock_source, replay_aggregate
from shared.events.tables import UNRESOLVED, EventTables

StatusFilter = Literal["unresolved", "failed", "waiting", "applied", "discarded", "all"]


class DeadLetterRead(BaseModel):
    id: UUID
    event_id: UUID
    source: str = Field(description="the service whose feed the event came from")
    event_type: str
    aggregate_type: str
    aggregate_id: str
    position: str
    payload: dict[str, Any]
    occurred_at: datetime
    status: Literal["failed", "waiting", "applied", "discarded"] = Field(
        description="failed: tried and failed; waiting: behind an earlier parked event of its "
        "aggregate, not tried; applied: a retry applied it; discarded: given up on"
    )
    blocked_by: UUID | None = Field(description="the parked event this one waits behind")
    error: str
    attempts: int
    parked_at: datetime
    first_failed_at: datetime | None
    last_failed_at: datetime | None
    retry_requested_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class ReplayedRead(BaseModel):
    letter_id: UUID
    event_id: UUID
    event_type: str
    status: Literal["applied", "failed"]
    error: str | None


class ReplayResult(BaseModel):
    letter: DeadLetterRead
    replayed: list[ReplayedRead] = Field(
        description="the aggregate's parked events tried, in order (the first failure stops)"
    )


class DiscardRequest(BaseModel):
    reason: str = Field(min_length=2, max_length=2000, description="why it need not apply")


class DeadLetterNotFound(AppError):
    status = 404
    code = "dead_letter.not_found"
    title = Text("没有该死信事件", "No such dead letter")


class DeadLetterResolved(AppError):
    status = 409
    code = "dead_letter.resolved"
    title = Text("该死信事件已处理", "The dead letter is resolved already")


class DeadLetterWaiting(AppError):
    status = 409
    code = "dead_letter.waiting"
    title = Text(
        "该事件在同一对象更早的死信之后等待，请先重试那一条",
        "The event waits behind an earlier dead letter of its aggregate: retry that one",
    )


class NoConsumer(AppError):
    status = 409
    code = "dead_letter.no_consumer"
    title = Text("本服务已不消费该来源的事件", "This service no longer consumes that source")


def read(row: sa.Row[Any]) -> DeadLetterRead:
    return DeadLetterRead.model_validate(dict(row._mapping))


def status_clause(tables: EventTables, status: StatusFilter) -> sa.ColumnElement[bool]:
    letters = tables.dead_letters
    if status == "all":
        return sa.true()
    if status == "unresolved":
        return letters.c.status.in_(UNRESOLVED)
    return letters.c.status == status


async def list_letters(
    session: AsyncSession,
    tables: EventTables,
    *,
    status: StatusFilter,
    source: str | None,
    offset: int,
    limit: int,
) -> Sequence[sa.Row[Any]]:
    """In the order they were parked; one more than `limit` (there is a next page)."""
    letters = tables.dead_letters
    query = sa.select(letters).where(status_clause(tables, status))
    if source is not None:
        query = query.where(letters.c.source == source)
    rows = await session.execute(query.order_by(letters.c.seq).offset(offset).limit(limit + 1))
    return rows.all()


async def letter(session: AsyncSession, tables: EventTables, letter_id: UUID) -> sa.Row[Any]:
    letters = tables.dead_letters
    found = (await session.execute(sa.select(letters).where(letters.c.id == letter_id))).first()
    if found is None:
        raise DeadLetterNotFound()
    return found


async def _locked(session: AsyncSession, tables: EventTables, letter_id: UUID) -> sa.Row[Any]:
    """The letter, read again once its source's lock is held (see `parking`)."""
    source = (await letter(session, tables, letter_id)).source
    await lock_source(session, tables, source)
    return await letter(session, tables, letter_id)


async def head_of(
    session: AsyncSession, tables: EventTables, row: sa.Row[Any]
) -> sa.Row[Any] | None:
    """The first unresolved letter of the row's aggregate."""
    letters = tables.dead_letters
    return (
        await session.execute(
            sa.select(letters)
            .where(
                letters.c.source == row.source,
                letters.c.aggregate_type == row.aggregate_type,
                letters.c.aggregate_id == row.aggregate_id,
                letters.c.status.in_(UNRESOLVED),
            )
            .order_by(letters.c.seq)
            .limit(1)
        )
    ).first()


def _refuse_resolved(row: sa.Row[Any]) -> None:
    if row.status not in UNRESOLVED:
        raise DeadLetterResolved(extra={"state": row.status})


async def retry(
    session: AsyncSession,
    tables: EventTables,
    sources: Mapping[str, Handlers],
    letter_id: UUID,
    *,
    actor: str,
) -> tuple[sa.Row[Any], list[Replayed]]:
    row = await _locked(session, tables, letter_id)
    _refuse_resolved(row)
    head = await head_of(session, tables, row)
    if head is not None and head.id != row.id:
        raise DeadLetterWaiting(extra={"state": row.status, "blocked_by": str(head.id)})
    handlers = sources.get(row.source)
    if handlers is None:
        raise NoConsumer(extra={"source": row.source})
    replayed = await replay_aggregate(
        session,
        tables,
        source=row.source,
        handlers=handlers,
        aggregate=(row.aggregate_type, row.aggregate_id),
        actor=actor,
    )
    return await letter(session, tables, letter_id), replayed


async def discard(
    session: AsyncSession,
    tables: EventTables,
    sources: Mapping[str, Handlers],  # none (the command line): the consumer replays
    letter_id: UUID,
    *,
    actor: str,
    reason: str,
) -> tuple[sa.Row[Any], list[Replayed]]:
    row = await _locked(session, tables, letter_id)
    _refuse_resolved(row)
    letters = tables.dead_letters
    await session.execute(
        sa.update(letters)
        .where(letters.c.id == row.id)
        .values(
            status="discarded",
            blocked_by=None,
            resolved_at=sa.func.now(),
            resolved_by=actor,
            resolution=reason,
            retry_requested_at=None,
        )
    )
    replayed: list[Replayed] = []
    handlers = sources.get(row.source)
    following = await head_of(session, tables, row)
    if row.status == "failed" and following is not None:
        # It was the one the others waited behind: they may go now.
        if handlers is None:
            await _ask_replay(session, tables, following.id, actor)
        else:
            replayed = await replay_aggregate(
                session,
                tables,
                source=row.source,
                handlers=handlers,
                aggregate=(row.aggregate_type, row.aggregate_id),
                actor=actor,
            )
    return await letter(session, tables, letter_id), replayed


async def request_retry(
    session: AsyncSession, tables: EventTables, letter_id: UUID, *, actor: str
) -> sa.Row[Any]:
    """Asks the service's consumer to replay the letter's aggregate at its next poll (for
    `sciplan events retry`, which cannot run the service's handlers itself)."""
    row = await _locked(session, tables, letter_id)
    _refuse_resolved(row)
    head = await head_of(session, tables, row)
    if head is not None and head.id != row.id:
        raise DeadLetterWaiting(extra={"state": row.status, "blocked_by": str(head.id)})
    await _ask_replay(session, tables, row.id, actor)
    return await letter(session, tables, letter_id)


async def _ask_replay(
    session: AsyncSession, tables: EventTables, letter_id: UUID, actor: str
) -> None:
    letters = tables.dead_letters
    await session.execute(
        sa.update(letters)
        .where(letters.c.id == letter_id)
        .values(retry_requested_at=sa.func.now(), retry_requested_by=actor)
    )


async def serve_requests(
    session: AsyncSession, tables: EventTables, source: str, handlers: Handlers
) -> list[Replayed]:
    """Replays the aggregates whose letters an operator asked to retry (`sciplan events
    retry`) since the last poll."""
    letters = tables.dead_letters
    asked = sa.and_(letters.c.source == source, letters.c.retry_requested_at.is_not(None))
    if (await session.execute(sa.select(letters.c.id).where(asked).limit(1))).first() is None:
        return []
    await lock_source(session, tables, source)
    rows = (
        await session.execute(
            sa.select(
                letters.c.aggregate_type, letters.c.aggregate_id, letters.c.retry_requested_by
            )
            .where(asked)
            .order_by(letters.c.seq)
        )
    ).all()
    replayed: list[Replayed] = []
    done: set[tuple[str, str]] = set()
    for row in rows:
        aggregate = (row.aggregate_type, row.aggregate_id)
        if aggregate in done:
            continue
        done.add(aggregate)
        replayed += await replay_aggregate(
            session,
            tables,
            source=source,
            handlers=handlers,
            aggregate=aggregate,
            actor=row.retry_requested_by or "operator",
        )
    # Requests on letters resolved meanwhile have nothing left to do.
    await session.execute(sa.update(letters).where(asked).values(retry_requested_at=None))
    return replayed
