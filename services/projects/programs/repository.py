from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Program, ProgramEnvelope, ProgramManager, Project, directory
from services.projects.models.lifecycle import ProjectStatus
from shared.pagination import MAX_CHILDREN


class ProgramRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, program_id: UUID, *, lock: bool = False) -> Program | None:
        query = sa.select(Program).where(Program.id == program_id)
        if lock:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def code_taken(self, code: str) -> bool:
        found = await self.session.scalar(sa.select(Program.id).where(Program.code == code))
        return found is not None

    async def search(
        self, *, kind: str | None, include_retired: bool, limit: int, offset: int
    ) -> Sequence[Program]:
        query = sa.select(Program)
        if kind is not None:
            query = query.where(Program.kind == kind)
        if not include_retired:
            query = query.where(~Program.is_retired)
        # Basic programs first in their seeded order, then funds in the order they were added.
        query = query.order_by(Program.kind, Program.id).limit(limit).offset(offset)
        return (await self.session.scalars(query)).all()

    async def codes(self, program_ids: Iterable[UUID]) -> dict[UUID, str]:
        ids = set(program_ids)
        if not ids:
            return {}
        rows = await self.session.execute(
            sa.select(Program.id, Program.code).where(Program.id.in_(ids))
        )
        return {row.id: row.code for row in rows}

    async def envelopes(self, program_ids: Iterable[UUID]) -> dict[UUID, list[ProgramEnvelope]]:
        ids = set(program_ids)
        found: dict[UUID, list[ProgramEnvelope]] = defaultdict(list)
        if not ids:
            return found
        rows = await self.session.scalars(
            sa.select(ProgramEnvelope)
            .where(ProgramEnvelope.program_id.in_(ids))
            .order_by(ProgramEnvelope.year)
        )
        for envelope in rows:
            found[envelope.program_id].append(envelope)
        return found

    async def envelope_amount(self, program_id: UUID, year: int) -> int | None:
        return await self.session.scalar(
            sa.select(ProgramEnvelope.amount_fen)
            .where(ProgramEnvelope.program_id == program_id, ProgramEnvelope.year == year)
            .with_for_update()
        )

    async def set_envelope(self, program_id: UUID, year: int, amount_fen: int) -> None:
        statement = insert(ProgramEnvelope).values(
            program_id=program_id, year=year, amount_fen=amount_fen
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[ProgramEnvelope.program_id, ProgramEnvelope.year],
                set_={"amount_fen": amount_fen},
            )
        )

    async def referenced(self, program_id: UUID) -> Program:
        """The program a call or project belongs to (a foreign key: it is there)."""
        program = await self.session.get(Program, program_id)
        assert program is not None
        return program

    async def committed_fen(self, program_id: UUID, year: int) -> int:
        """What decisions approved from a year's envelope; a cancelled project gives it back."""
        total = await self.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Project.approved_budget_fen), 0)).where(
                Project.program_id == program_id,
                Project.year == year,
                Project.status != ProjectStatus.cancelled,
            )
        )
        return int(total or 0)

    async def managers(
        self, program_id: UUID, *, offset: int = 0, limit: int = MAX_CHILDREN
    ) -> Sequence[sa.Row[Any]]:
        users = directory.users
        return (
            await self.session.execute(
                sa.select(
                    ProgramManager.user_id,
                    ProgramManager.granted_by,
                    ProgramManager.granted_at,
                    users.c.display_name,
                )
                .select_from(ProgramManager)
                .outerjoin(users, users.c.id == ProgramManager.user_id)
                .where(ProgramManager.program_id == program_id)
                .order_by(ProgramManager.granted_at, ProgramManager.user_id)
                .offset(offset)
                .limit(limit)
            )
        ).all()

    async def manager(self, program_id: UUID, user_id: UUID) -> ProgramManager | None:
        return await self.session.get(ProgramManager, (program_id, user_id))

    async def directory_roles(self, user_id: UUID) -> list[str] | None:
        """The roles of an active person in the directory; None for anyone unknown or inactive."""
        users = directory.users
        row = (
            await self.session.execute(
                sa.select(users.c.roles).where(users.c.id == user_id, users.c.is_active)
            )
        ).first()
        return list(row.roles) if row is not None else None
