"""The SQL behind funds' scope: program codes by program id, and who runs which voucher scheme."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from typing import Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.models import Account, ProgramCode
from services.funds.models.grants import Grant
from services.funds.models.vouchers import VoucherProgram

T = TypeVar("T")


class AccessRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def codes_of(self, program_ids: Collection[UUID]) -> dict[UUID, set[str]]:
        """The code(s) each program goes by: from its creation, and from its grants (a program
        created before funds kept codes is still known by the grants it funds)."""
        if not program_ids:
            return {}
        ids = list(program_ids)
        rows = await self.session.execute(
            sa.union(
                sa.select(ProgramCode.program_id, ProgramCode.code).where(
                    ProgramCode.program_id.in_(ids)
                ),
                sa.select(Grant.program_id, Grant.program_code).where(Grant.program_id.in_(ids)),
            )
        )
        codes: dict[UUID, set[str]] = defaultdict(set)
        for program_id, code in rows:
            codes[program_id].add(code)
        return codes

    async def known_code(self, code: str) -> bool:
        found = await self.session.scalar(
            sa.select(sa.literal(1)).where(
                sa.or_(
                    sa.exists().where(ProgramCode.code == code),
                    sa.exists().where(Grant.program_code == code),
                )
            )
        )
        return found is not None

    async def runs_a_voucher_scheme(self, codes: Collection[str]) -> bool:
        if not codes:
            return False
        found = await self.session.scalar(
            sa.select(VoucherProgram.id)
            .where(VoucherProgram.run_by_program.in_(list(codes)))
            .limit(1)
        )
        return found is not None

    async def visible(self, model: type[T], key: UUID, visible: sa.ColumnElement[bool]) -> T | None:
        """The row of `model` with primary key `key`, if it is among the visible ones."""
        primary = sa.inspect(model).primary_key[0]
        found: T | None = await self.session.scalar(sa.select(model).where(primary == key, visible))
        return found

    async def finds(self, model: type[Any], key: UUID, visible: sa.ColumnElement[bool]) -> bool:
        """Whether the row of `model` with primary key `key` is among the visible ones."""
        primary = sa.inspect(model).primary_key[0]
        found = await self.session.scalar(sa.select(primary).where(primary == key, visible))
        return found is not None

    async def ledgers(self, visible: sa.ColumnElement[bool]) -> set[str]:
        """The ledgers of the accounts `visible` keeps."""
        rows = await self.session.scalars(sa.select(Account.ledger).where(visible).distinct())
        return set(rows.all())

    async def remember_code(self, program_id: UUID, code: str) -> None:
        await self.session.execute(
            insert(ProgramCode).values(program_id=program_id, code=code).on_conflict_do_nothing()
        )
