"""Applying events, and parking those that cannot be applied (dead letters).

Each event is applied in a savepoint of the batch's transaction, together with its inbox row.
If parsing or applying it fails for a reason of its own (a payload that does not fit its
contract, a handler's `CannotApply`, any error of the handler's own making), the savepoint is
rolled back and the event parked as `failed`; the rest of the batch goes on. A failure that says
nothing about the event (the database is gone, a deadlock, a lock timeout) is raised instead:
the whole batch rolls back and is fetched again later.

Events of one aggregate (aggregate type and id) are applied in the feed's order, so an event
whose aggregate has a parked event is parked too, as `waiting` behind it, without being tried.
Replaying an aggregate (an operator's retry or discard) applies its parked events in the order
they were parked, up to the first that fails again, which the rest then wait behind.

Everything that changes the parked events of a source runs with the source's cursor row locked,
as a batch does, so a replay and a batch never interleave.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

import sqlalchemy as sa
from opentelemetry.trace import Tracer
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.feed import EventV1
from shared.db import is_transient_failure
from shared.errors import AppError
from shared.events.handlers import CannotApply, Handlers, Subscription, problems_of
from shared.events.tables import UNRESOLVED, EventTables
from shared.ids import uuid7
from shared.tracing import applying, record_outcome

log = logging.getLogger(__name__)

Outcome = Literal["applied", "duplicate", "ignored", "failed", "waiting", "held"]
PARKED: frozenset[Outcome] = frozenset({"failed", "waiting"})
Aggregate = tuple[str, str]

_MAX_ERROR = 2000


def aggregate_of(event: EventV1) -> Aggregate:
    return (event.aggregate_type, event.aggregate_id)


def describe(exc: BaseException) -> str:
    """What an operator reads about a failure: short, and enough to act on."""
    if isinstance(exc, ValidationError):  # data the handler built from the event
        text = f"{exc.title} refused: {problems_of(exc)}"
    elif isinstance(exc, CannotApply):
        text = str(exc)
    elif isinstance(exc, AppError):
        text = f"{exc.code}: {exc}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:_MAX_ERROR]


async def attempt(
    session: AsyncSession,
    tables: EventTables,
    source: str,
    subscription: Subscription[Any] | None,
    event: EventV1,
) -> tuple[Outcome, str | None]:
    """Records the event in the inbox and applies it, in a savepoint: ("applied" | "duplicate"
    | "ignored", None), or ("failed", why) with nothing of it written."""
    if subscription is None:  # nothing to apply: only noted as received
        fresh = await _received(session, tables, source, event)
        return ("ignored" if fresh else "duplicate"), None
    try:
        async with session.begin_nested():
            if not await _received(session, tables, source, event):
                return "duplicate", None
            await subscription.handle(session, event)
            await session.flush()  # constraint violations belong to this event
    except Exception as exc:
        if is_transient_failure(exc):
            raise
        if not isinstance(exc, ValidationError | CannotApply | AppError):
            log.exception("event %s (%s) failed; parked", event.event_id, event.event_type)
        return "failed", describe(exc)
    return "applied", None


async def _received(
    session: AsyncSession, tables: EventTables, source: str, event: EventV1
) -> bool:
    """Notes the event in the inbox; False if it was there already."""
    inbox = tables.inbox
    fresh = await session.execute(
        insert(inbox)
        .values(event_id=event.event_id, source=source, event_type=event.event_type)
        .on_conflict_do_nothing()
        .returning(inbox.c.event_id)
    )
    return fresh.first() is not None


@dataclass
class _Parked:
    """What is parked of a batch's events and aggregates (kept up to date during the batch)."""

    events: set[UUID] = field(default_factory=set)
    heads: dict[Aggregate, UUID] = field(default_factory=dict)


async def _parked_state(
    session: AsyncSession, tables: EventTables, source: str, events: Sequence[EventV1]
) -> _Parked:
    letters = tables.dead_letters
    aggregates = list({aggregate_of(event) for event in events})
    rows = (
        await session.execute(
            sa.select(
                letters.c.id,
                letters.c.event_id,
                letters.c.aggregate_type,
                letters.c.aggregate_id,
                letters.c.status,
            )
            .where(letters.c.source == source)
            .where(
                sa.or_(
                    letters.c.event_id.in_([event.event_id for event in events]),
                    sa.and_(
                        letters.c.status.in_(UNRESOLVED),
                        sa.tuple_(letters.c.aggregate_type, letters.c.aggregate_id).in_(aggregates),
                    ),
                )
            )
            .order_by(letters.c.seq)
        )
    ).all()
    parked = _Parked(events={row.event_id for row in rows})
    for row in rows:
        if row.status in UNRESOLVED:
            parked.heads.setdefault((row.aggregate_type, row.aggregate_id), row.id)
    return parked


async def park(
    session: AsyncSession,
    tables: EventTables,
    source: str,
    event: EventV1,
    *,
    error: str,
    blocked_by: UUID | None = None,
) -> UUID:
    """Parks the event: `failed` with `error`, or `waiting` behind `blocked_by`."""
    letter_id = uuid7()
    failed = blocked_by is None
    now = sa.func.now()
    await session.execute(
        sa.insert(tables.dead_letters).values(
            id=letter_id,
            event_id=event.event_id,
            source=source,
            event_type=event.event_type,
            aggregate_type=event.aggregate_type,
            aggregate_id=event.aggregate_id,
            position=event.position,
            payload=event.payload,
            occurred_at=event.occurred_at,
            request_id=event.request_id,
            status="failed" if failed else "waiting",
            blocked_by=blocked_by,
            error=error,
            attempts=1 if failed else 0,
            first_failed_at=now if failed else None,
            last_failed_at=now if failed else None,
        )
    )
    return letter_id


async def apply_batch(
    session: AsyncSession,
    tables: EventTables,
    *,
    source: str,
    handlers: Handlers,
    events: Sequence[EventV1],
    tracer: Tracer | None = None,
) -> list[Outcome]:
    """Applies a batch in the caller's transaction; what became of each event, in order.
    With a `tracer`, each event tried is applied in a span of the trace it was published in."""
    if not events:
        return []
    parked = await _parked_state(session, tables, source, events)
    outcomes: list[Outcome] = []
    for event in events:
        subscription = handlers.get(event.event_type)
        if event.event_id in parked.events:
            outcomes.append("held")  # parked before (a redelivery): it stays where it is
            continue
        head = parked.heads.get(aggregate_of(event))
        if subscription is not None and head is not None:
            await park(session, tables, source, event, error="waiting", blocked_by=head)
            outcomes.append("waiting")
            continue
        with applying(tracer, source, event) as span:
            outcome, error = await attempt(session, tables, source, subscription, event)
            record_outcome(span, outcome, error)
        if outcome == "failed":
            assert error is not None
            letter = await park(session, tables, source, event, error=error)
            parked.heads[aggregate_of(event)] = letter
            log.warning("event %s (%s) parked: %s", event.event_id, event.event_type, error)
        outcomes.append(outcome)
    return outcomes


async def lock_source(session: AsyncSession, tables: EventTables, source: str) -> None:
    """Takes the source's cursor row lock (created if missing): batches and replays of the
    source wait for each other."""
    cursors = tables.cursors
    await session.execute(insert(cursors).values(source=source).on_conflict_do_nothing())
    await session.execute(
        sa.select(cursors.c.source).where(cursors.c.source == source).with_for_update()
    )


def event_of(letter: sa.Row[Any]) -> EventV1:
    return EventV1(
        event_id=letter.event_id,
        event_type=letter.event_type,
        aggregate_type=letter.aggregate_type,
        aggregate_id=letter.aggregate_id,
        payload=letter.payload,
        occurred_at=letter.occurred_at,
        request_id=letter.request_id,
        position=letter.position,
    )


@dataclass(frozen=True)
class Replayed:
    letter_id: UUID
    event_id: UUID
    event_type: str
    status: str
    error: str | None


async def replay_aggregate(
    session: AsyncSession,
    tables: EventTables,
    *,
    source: str,
    handlers: Handlers,
    aggregate: Aggregate,
    actor: str,
) -> list[Replayed]:
    """Applies the aggregate's parked events in order, up to the first that fails again (the
    rest wait behind it). The caller holds the source's lock (`lock_source`)."""
    letters = tables.dead_letters
    rows = (
        await session.execute(
            sa.select(letters)
            .where(
                letters.c.source == source,
                letters.c.aggregate_type == aggregate[0],
                letters.c.aggregate_id == aggregate[1],
                letters.c.status.in_(UNRESOLVED),
            )
            .order_by(letters.c.seq)
            .with_for_update()
        )
    ).all()
    replayed: list[Replayed] = []
    for index, row in enumerate(rows):
        event = event_of(row)
        outcome, error = await attempt(session, tables, source, handlers.get(row.event_type), event)
        mine = letters.c.id == row.id
        if outcome != "failed":
            resolution = {
                "applied": "applied on retry",
                "duplicate": "already applied",
                "ignored": "no handler: nothing to apply",
            }[outcome]
            await session.execute(
                sa.update(letters)
                .where(mine)
                .values(
                    status="applied",
                    blocked_by=None,
                    resolved_at=sa.func.now(),
                    resolved_by=actor,
                    resolution=resolution,
                    retry_requested_at=None,
                )
            )
            replayed.append(Replayed(row.id, row.event_id, row.event_type, "applied", None))
            continue
        await session.execute(
            sa.update(letters)
            .where(mine)
            .values(
                status="failed",
                blocked_by=None,
                error=error,
                attempts=letters.c.attempts + 1,
                first_failed_at=sa.func.coalesce(letters.c.first_failed_at, sa.func.now()),
                last_failed_at=sa.func.now(),
                retry_requested_at=None,
            )
        )
        replayed.append(Replayed(row.id, row.event_id, row.event_type, "failed", error))
        behind = [later.id for later in rows[index + 1 :]]
        if behind:
            await session.execute(
                sa.update(letters)
                .where(letters.c.id.in_(behind))
                .values(status="waiting", blocked_by=row.id, retry_requested_at=None)
            )
        break
    return replayed
