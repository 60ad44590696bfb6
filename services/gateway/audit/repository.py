"""The SQL of the audit log: appending under the chain's lock, reading in order.

Appending runs on every write the gateway passes, so `ChainAppender` speaks to asyncpg
directly (three statements a batch); SQLAlchemy's async path cost about 0.3 ms of CPU a
statement (see `shared.db.CompiledRead`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import AuditEntry

AUDIT_LOCK_ID = 0x5C1_0002
_COLUMNS = (
    "seq",
    "at",
    "actor",
    "method",
    "path",
    "status",
    "request_id",
    "client_address",
    "prev_hash",
    "hash",
)
_TYPES = ("int8", "timestamptz", "text", "text", "text", "int4", "text", "text", "text", "text")
_INSERT = (
    f"INSERT INTO gateway.audit_log ({', '.join(_COLUMNS)}) SELECT * FROM unnest("
    + ", ".join(f"${i}::{kind}[]" for i, kind in enumerate(_TYPES, start=1))
    + ")"
)


class ChainAppender:
    """Appends rows at the end of the chain, on a driver connection inside a transaction."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    @classmethod
    async def in_session(cls, session: AsyncSession) -> ChainAppender:
        """On the session's connection: the rows commit (or not) with the session's work."""
        raw = await (await session.connection()).get_raw_connection()
        return cls(raw.driver_connection)

    async def lock_chain(self) -> None:
        """Held until the transaction ends: one appender at a time numbers the rows."""
        await self.connection.execute("SELECT pg_advisory_xact_lock($1)", AUDIT_LOCK_ID)

    async def last_link(self) -> tuple[int, str] | None:
        """(sequence number, hash) of the last row, if there is one."""
        last = await self.connection.fetchrow(
            "SELECT seq, hash FROM gateway.audit_log ORDER BY seq DESC LIMIT 1"
        )
        return (last["seq"], last["hash"]) if last else None

    async def insert(self, rows: list[dict[str, Any]]) -> None:
        await self.connection.execute(
            _INSERT, *([row[column] for row in rows] for column in _COLUMNS)
        )


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def entries(self, *, after: int | None, limit: int) -> Sequence[AuditEntry]:
        query = sa.select(AuditEntry).order_by(AuditEntry.seq).limit(limit)
        if after is not None:
            query = query.where(AuditEntry.seq > after)
        return (await self.session.scalars(query)).all()
