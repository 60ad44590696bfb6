"""Program envelopes: the province allocates a program's money for a year.

An envelope is a transfer treasury -> program fund, idempotent by the client's id (the
transfer's id is derived from it). The summary reads the program fund's totals from the
ledger and what the grants' schedules still promise.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.grants.accounts import (
    GrantAccounts,
    derived_id,
    ledger_of,
    program_fund_id,
    treasury_id,
)
from services.funds.grants.exceptions import EnvelopeExistsDifferent
from services.funds.grants.repository import GrantRepository
from services.funds.grants.schemas import EnvelopeCreate, EnvelopeRead, EnvelopeSummary
from services.funds.ledger.schemas import TransferIn
from services.funds.ledger.service import LedgerService
from services.funds.models.grants import GrantEnvelope


class EnvelopeService:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = GrantRepository(session)
        self.accounts = GrantAccounts(session)
        self.ledger = LedgerService(session)

    async def allocate(
        self, data: EnvelopeCreate, *, officer: str, now: datetime
    ) -> tuple[GrantEnvelope, bool]:
        """(the envelope, True if allocated now); the same id and body again is the same one."""
        existing = await self.repo.envelope(data.id)
        if existing is not None:
            return self._same(existing, data), False
        ledger = ledger_of(data.program_code, data.year)
        await self.accounts.open_program(data.program_code, data.year, actor=officer, now=now)
        transfer = TransferIn(
            id=derived_id(f"envelope:{data.id}"),
            debit_account_id=treasury_id(ledger),
            credit_account_id=program_fund_id(ledger),
            amount=data.amount_fen,
            ledger=ledger,
            code="envelope",
            user_data={"envelope_id": str(data.id)},
        )
        await self.ledger.create_transfer(transfer, actor=officer, now=now)
        created = await self.repo.insert_envelope(
            {
                "id": data.id,
                "ledger": ledger,
                "program_code": data.program_code,
                "year": data.year,
                "amount_fen": data.amount_fen,
                "note": data.note,
                "transfer_id": transfer.id,
                "created_by": officer,
                "created_at": now,
            }
        )
        envelope = await self.repo.envelope(data.id)
        assert envelope is not None
        return (envelope if created else self._same(envelope, data)), created

    @staticmethod
    def _same(envelope: GrantEnvelope, data: EnvelopeCreate) -> GrantEnvelope:
        mine = (envelope.program_code, envelope.year, envelope.amount_fen, envelope.note)
        if mine != (data.program_code, data.year, data.amount_fen, data.note):
            raise EnvelopeExistsDifferent()
        return envelope

    async def summary(self, program_code: str, year: int) -> EnvelopeSummary:
        ledger = ledger_of(program_code, year)
        fund = await self.repo.account(program_fund_id(ledger))
        envelopes = await self.repo.envelopes(program_code, year)
        allocated = sum(e.amount_fen for e in envelopes)
        credits = fund.credits_posted if fund else 0
        paid_out = fund.debits_posted if fund else 0
        on_hold = fund.debits_pending if fund else 0
        committed = await self.repo.committed(ledger)
        subsidies_on_hold = await self.repo.post_subsidies_on_hold(ledger)
        return EnvelopeSummary(
            program_code=program_code,
            year=year,
            ledger=ledger,
            program_fund_account_id=program_fund_id(ledger),
            allocated=allocated,
            # Only envelopes and settled recoveries credit a program fund.
            recovered=credits - allocated,
            paid_out=paid_out,
            on_hold=on_hold,
            committed=committed,
            available=credits - paid_out - committed - subsidies_on_hold,
            envelopes=[EnvelopeRead.model_validate(e) for e in envelopes],
        )
