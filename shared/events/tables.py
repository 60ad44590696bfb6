"""The outbox, inbox and cursor tables, created in each service's own schema.

Outbox rows carry the id of the transaction that wrote them (`txid`). The feed only hands out
rows whose transaction is older than every transaction still running, so a reader can never
skip an event that commits late with a smaller id: the order of the feed is commit-safe.
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
    return EventTables(outbox=outbox, inbox=inbox, cursors=cursors)
