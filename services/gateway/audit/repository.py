"""The SQL of the audit log: appending under the chain's lock, reading in order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.models import AuditEntry

AUDIT_LOCK_ID = 0x5C1_0002


class AuditRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_chain(self) -> None:
        """Held until the transaction ends: one appender at a time numbers the rows."""
        await self.session.execute(sa.select(sa.func.pg_advisory_xact_lock(AUDIT_LOCK_ID)))

    async def last_link(self) -> tuple[int, str] | None:
        """(sequence number, hash) of the last row, if there is one."""
        last = (
            await self.session.execute(
                sa.select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
            )
        ).first()
        return (last.seq, last.hash) if last else None

    async def insert(self, rows: list[dict[str, Any]]) -> None:
        await self.session.execute(sa.insert(AuditEntry), rows)

    async def entries(self, *, after: int | None, limit: int) -> Sequence[AuditEntry]:
        query = sa.select(AuditEntry).order_by(AuditEntry.seq).limit(limit)
        if after is not None:
            query = query.where(AuditEntry.seq > after)
        return (await self.session.scalars(query)).all()
