from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Application, Call, Program
from services.projects.models.calls import PUBLIC_CALL_STATES, CallPhase
from services.projects.models.submissions import NOT_SUBMITTED


class CallRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, call_id: UUID, *, lock: bool = False) -> Call | None:
        query = sa.select(Call).where(Call.id == call_id)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def program_for_calls(self, program_id: UUID) -> Program | None:
        """The program, share-locked: retiring it waits until this call is written."""
        return await self.session.scalar(
            sa.select(Program).where(Program.id == program_id).with_for_update(read=True)
        )

    async def programs(self, program_ids: set[UUID]) -> dict[UUID, Program]:
        if not program_ids:
            return {}
        found = await self.session.scalars(sa.select(Program).where(Program.id.in_(program_ids)))
        return {p.id: p for p in found}

    async def public(
        self,
        *,
        now: datetime,
        status: CallPhase | None,
        program_id: UUID | None,
        year: int | None,
        limit: int,
        offset: int,
    ) -> Sequence[Call]:
        query = sa.select(Call).where(Call.state.in_(PUBLIC_CALL_STATES))
        # The rules `call_status` tells them apart by.
        if status == CallPhase.upcoming:
            query = query.where(Call.is_upcoming(now))
        elif status == CallPhase.open:
            query = query.where(Call.is_open(now))
        elif status == CallPhase.closed:
            query = query.where(Call.has_closed(now))
        if program_id is not None:
            query = query.where(Call.program_id == program_id)
        if year is not None:
            query = query.where(Call.year == year)
        query = query.order_by(Call.closes_at, Call.id).limit(limit).offset(offset)
        return (await self.session.scalars(query)).all()

    async def of_program(self, program_id: UUID, *, limit: int, offset: int) -> Sequence[Call]:
        return (
            await self.session.scalars(
                sa.select(Call)
                .where(Call.program_id == program_id)
                .order_by(Call.created_at.desc(), Call.id.desc())
                .limit(limit)
                .offset(offset)
            )
        ).all()

    async def submitted_applications(self, call_id: UUID) -> int:
        count = await self.session.scalar(
            sa.select(sa.func.count())
            .select_from(Application)
            .where(Application.call_id == call_id, Application.status.not_in(NOT_SUBMITTED))
        )
        return int(count or 0)
