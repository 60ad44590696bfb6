"""The outbox, inbox and cursor tables, created in each service's own schema.

Outbox rows carry the id of the transaction that wrote them (`txid`). The feed only hands out
rows whose transaction is older than every transaction still running, so a reader can never
skip an event that commits late with a smaller id: the order of the feed is commit-safe.

A consumer parks an event it cannot parse or apply in `event_dead_letters` (with the events of
the same aggregate that came after it, "waiting" behind it) until an operator retries or
discards it; `seq` keeps the order in which they were parked, which is the feed's.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, UUID


@dataclass(frozen=True)
class EventTables:
    outbox: sa.Table
    inbox: sa.Table
    cursors: sa.Table
    dead_letters: sa.Table


# A parked event is `failed` (it was tried and failed) or `waiting` (behind an earlier parked
# event of its aggregate, never tried); it ends `applied` (a retry worked) or `discarded`.
DEAD_LETTER_STATES = ("failed", "waiting", "applied", "discarded")
UNRESOLVED = ("failed", "waiting")


def event_tables(metadata: sa.MetaData) -> EventTables:
    outbox = sa.Table(
        "outbox",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column(
            "txid",
            sa.BigInteger,
            nullable=False,
            server_default=sa.text("(pg_current_xact_id()::text::bigint)"),
        ),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("aggregate_type", sa.String(100), nullable=False),
        sa.Column("aggregate_id", sa.String(100), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("request_id", sa.String(100)),
        # The W3C trace context the event was published in (shared/tracing.py), if any.
        sa.Column("trace_context", JSONB),
        sa.Column(
            "occurred_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Index(None, "txid", "id"),
    )
    inbox = sa.Table(
        "inbox",
        metadata,
        sa.Column("event_id", UUID(as_uuid=True), primary_key=True),
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    cursors = sa.Table(
        "event_cursors",
        metadata,
        sa.Column("source", sa.String(50), primary_key=True),
        sa.Column("position", sa.String(100), nullable=False, server_default=""),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    states = ", ".join(f"'{state}'" for state in DEAD_LETTER_STATES)
    unresolved = ", ".join(f"'{state}'" for state in UNRESOLVED)
    dead_letters = sa.Table(
        "event_dead_letters",
        metadata,
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False, unique=True),
        sa.Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("aggregate_type", sa.String(100), nullable=False),
        sa.Column("aggregate_id", sa.String(100), nullable=False),
        sa.Column("position", sa.String(100), nullable=False),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(100)),
        sa.Column("status", sa.String(12), nullable=False),
        # The letter this one waits behind (the first unresolved one of its aggregate).
        sa.Column("blocked_by", UUID(as_uuid=True)),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column(
            "parked_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("first_failed_at", sa.DateTime(timezone=True)),
        sa.Column("last_failed_at", sa.DateTime(timezone=True)),
        # Asked for by `sciplan events retry` (or discard): the consumer replays the aggregate.
        sa.Column("retry_requested_at", sa.DateTime(timezone=True)),
        sa.Column("retry_requested_by", sa.String(100)),
        sa.Column("resolved_at", sa.DateTime(timezone=True)),
        sa.Column("resolved_by", sa.String(100)),
        sa.Column("resolution", sa.Text),
        sa.CheckConstraint(f"status IN ({states})", name="status"),
        sa.Index(
            None,
            "source",
            "aggregate_type",
            "aggregate_id",
            "seq",
            postgresql_where=sa.text(f"status IN ({unresolved})"),
        ),
        sa.Index(None, "status", "seq"),
        sa.Index(
            None,
            "retry_requested_at",
            "source",
            postgresql_where=sa.text("retry_requested_at IS NOT NULL"),
        ),
    )
    return EventTables(outbox=outbox, inbox=inbox, cursors=cursors, dead_letters=dead_letters)
