"""The SQL of the audit log: appending under the chain's lock, reading in order.

Appending runs on every write the gateway passes, so `ChainAppender` speaks to asyncpg
directly (one statement a batch); SQLAlchemy's async path cost about 0.3 ms of CPU a
statement (see `shared.db.CompiledRead`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import AuditEntry

if TYPE_CHECKING:
    from services.gateway.audit.chain import AuditRecord

_APPEND = (
    "SELECT gateway.append_audit($1::timestamptz[], $2::text[], $3::text[], $4::text[],"
    " $5::int4[], $6::text[], $7::text[], $8::text[])"
)


class ChainAppender:
    """Appends rows at the end of the chain, on a driver connection: in one statement, which
    is its own transaction on an autocommit connection or part of the caller's."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection

    @classmethod
    async def in_session(cls, session: AsyncSession) -> ChainAppender:
        """On the session's connection: the rows commit (or not) with the session's work."""
        raw = await (await session.connection()).get_raw_connection()
        return cls(raw.driver_connection)

    async def append(self, records: Sequence[AuditRecord], contents: Sequence[str]) -> int:
        """Numbers, hashes and inserts the rows under the chain's lock; the last row's seq.
        `contents` is each record's hashed JSON after its seq (`chain.content_after_seq`)."""
        last: int = await self.connection.fetchval(
            _APPEND,
            [r.at for r in records],
            [r.actor for r in records],
            [r.method for r in records],
            [r.path for r in records],
            [r.status for r in records],
            [r.request_id for r in records],
            [r.client_address for r in records],
            list(contents),
        )
        return last


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def entries(self, *, after: int | None, limit: int) -> Sequence[AuditEntry]:
        query = sa.select(AuditEntry).order_by(AuditEntry.seq).limit(limit)
        if after is not None:
            query = query.where(AuditEntry.seq > after)
        return (await self.session.scalars(query)).all()
