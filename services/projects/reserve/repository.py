"""SQL of the standing project reserve: the program's reserved applications, oldest first."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Application, Call, Program
from services.projects.models.submissions import ApplicationStatus

RESERVED = Application.status == ApplicationStatus.reserved


def _expires_at() -> sa.Label[datetime | None]:
    """When an entry leaves the reserve unfunded: the program's term after it was reserved
    (months added as PostgreSQL adds them, the end of a month kept)."""
    return (Application.decided_at + sa.func.make_interval(0, Program.reserve_months)).label(
        "expires_at"
    )


class ReserveRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of_program(
        self, program_id: UUID, *, offset: int, limit: int
    ) -> list[tuple[Application, Call, datetime]]:
        rows = (
            await self.session.execute(
                sa.select(Application, Call, _expires_at())
                .join(Call, Call.id == Application.call_id)
                .join(Program, Program.id == Call.program_id)
                .where(Call.program_id == program_id, RESERVED)
                .order_by(Application.decided_at, Application.id)
                .offset(offset)
                .limit(limit)
            )
        ).all()
        # decided_at is set on every reserved application, so is the end of its term.
        return [(application, call, expires) for application, call, expires in rows if expires]

    async def entry_for_update(
        self, program_id: UUID, application_id: UUID
    ) -> tuple[Application, Call] | None:
        """A reserved application of one of the program's calls, locked (the WHERE is checked
        again once the lock is had, so a concurrent decision is seen)."""
        row = (
            await self.session.execute(
                sa.select(Application, Call)
                .join(Call, Call.id == Application.call_id)
                .where(Application.id == application_id, Call.program_id == program_id, RESERVED)
                .with_for_update(of=Application)
                .execution_options(populate_existing=True)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def claim_expired(
        self, now: datetime, limit: int
    ) -> list[tuple[Application, Call, Program]]:
        """Entries whose program's term ran out by `now`, oldest first, locked with SKIP
        LOCKED: replicas running the job at once take different rows, and an expired row is
        no longer reserved once its transaction commits."""
        rows = (
            await self.session.execute(
                sa.select(Application, Call, Program)
                .join(Call, Call.id == Application.call_id)
                .join(Program, Program.id == Call.program_id)
                .where(RESERVED, _expires_at() <= now)
                .order_by(Application.decided_at, Application.id)
                .limit(limit)
                .with_for_update(of=Application, skip_locked=True)
            )
        ).all()
        return [(application, call, program) for application, call, program in rows]
