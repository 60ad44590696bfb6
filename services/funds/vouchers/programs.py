"""Voucher programs: created with their budget moved from the province's treasury to the pool."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.access.repository import AccessRepository
from services.funds.ledger.schemas import TransferIn
from services.funds.ledger.service import LedgerService
from services.funds.models.vouchers import VoucherProgram
from services.funds.vouchers.accounts import (
    PROVINCE,
    derived_id,
    ledger_of,
    open_account,
    pool_id,
    treasury_id,
)
from services.funds.vouchers.exceptions import (
    ProgramExistsDifferent,
    ProgramNotFound,
    UnknownProgram,
)
from services.funds.vouchers.repository import VoucherRepository
from services.funds.vouchers.schemas import ProgramCreate

_SAME_PROGRAM = (
    "code",
    "name",
    "year",
    "budget_fen",
    "voucher_share_bp",
    "cap_per_group_fen",
    "validity_days",
    "categories",
    "managing_agency",
    "run_by_program",
)


class ProgramService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = VoucherRepository(session)
        self.ledger = LedgerService(session)

    async def get(self, program_id: UUID) -> VoucherProgram:
        program = await self.repo.program(program_id)
        if program is None:
            raise ProgramNotFound()
        return program

    async def search(self, *, offset: int, limit: int) -> Sequence[VoucherProgram]:
        return await self.repo.programs(offset=offset, limit=limit)

    async def create(
        self, data: ProgramCreate, *, actor: str, now: datetime
    ) -> tuple[VoucherProgram, bool]:
        """(the program, True if created now); the same id and body again is the same one."""
        existing = await self.repo.program(data.id)
        if existing is not None:
            return self._same(existing, data), False
        if data.run_by_program is not None and not await AccessRepository(self.session).known_code(
            data.run_by_program
        ):
            raise UnknownProgram(extra={"run_by_program": data.run_by_program})
        ledger = ledger_of(data.year, data.code)
        treasury = await open_account(
            self.session,
            account_id=treasury_id(ledger),
            program=None,
            ledger=ledger,
            year=data.year,
            code="treasury",
            name=f"省级财政（{data.name}）",
            owner_kind="province",
            owner_id=PROVINCE,
            limited=False,
            actor=actor,
            now=now,
        )
        pool = await open_account(
            self.session,
            account_id=pool_id(data.id),
            program=None,
            ledger=ledger,
            year=data.year,
            code="voucher_pool",
            name=f"{data.name} 资金池",
            owner_kind="program",
            owner_id=str(data.id),
            limited=True,
            actor=actor,
            now=now,
        )
        funding = derived_id("program-funding", data.id)
        # The row first: of two requests with this id (or this code) only one goes on.
        created = await self.repo.insert_program(
            {
                **data.model_dump(),
                "ledger": ledger,
                "treasury_account_id": treasury.id,
                "pool_account_id": pool.id,
                "funding_transfer_id": funding,
                "created_by": actor,
                "created_at": now,
            }
        )
        if not created:
            found = await self.repo.program(data.id)
            if found is None:
                raise ProgramExistsDifferent()  # the code (so the ledger) is another program's
            return self._same(found, data), False
        await self.ledger.create_transfer(
            TransferIn(
                id=funding,
                debit_account_id=treasury.id,
                credit_account_id=pool.id,
                amount=data.budget_fen,
                ledger=ledger,
                code="voucher_budget",
                user_data={"voucher_program": str(data.id)},
            ),
            actor=actor,
            now=now,
        )
        return await self.get(data.id), True

    def _same(self, program: VoucherProgram, data: ProgramCreate) -> VoucherProgram:
        wanted = data.model_dump()
        if any(getattr(program, key) != wanted[key] for key in _SAME_PROGRAM):
            raise ProgramExistsDifferent()
        return program
