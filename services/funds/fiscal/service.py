"""Carry-over rules and the year-end close (年终结账) of a program's fiscal year.

The close of (program, year), once the year is over, under the program's newest rule:

1. every running grant of the program's ledgers up to the year gives up what is left at its
   organization (project funds -> project carry-over account, code `carry_over`: the year's
   unused quota is cancelled, 额度注销); of the project's whole unspent money (that and what
   its carry-over account still holds) the rule keeps a share there for the organization to
   draw down next year, and the rest goes back to the treasury (`year_end_return`);
2. every program ledger up to the year: its free money (what is neither paid nor owed to the
   grants' tranches) is carried by the rule into the next year's program fund
   (`carry_over_out` / `carry_over_in`) and the rest goes back to the treasury.

It runs once per program and year: the same request again answers the same close, another one
is refused. It waits for nothing: money on hold anywhere in those ledgers (orders awaiting
approval, open recoveries) refuses the close until it is decided. The amounts are the rule's,
not a person's choice, so the close pays out of approval-only accounts itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.access.scope import funds_scope
from services.funds.fiscal.accounts import FiscalAccounts, carry_over_id
from services.funds.fiscal.exceptions import (
    CarryOverRuleNotFound,
    HoldsPending,
    NoCarryOverRule,
    NothingToClose,
    PreviousYearOpen,
    YearAlreadyClosed,
    YearEndCloseNotFound,
    YearNotOver,
)
from services.funds.fiscal.repository import FiscalRepository
from services.funds.fiscal.schemas import CarryOverRuleSet, YearEndCloseCreate
from services.funds.grants.accounts import GrantAccounts, derived_id, ledger_of, treasury_id
from services.funds.grants.repository import GrantRepository
from services.funds.ledger.codes import refusal
from services.funds.ledger.schemas import TransferIn
from services.funds.ledger.service import LedgerService
from services.funds.models.fiscal import CarryOverRule, CarryOverRuleVersion, YearEndClose
from shared.auth.tokens import Principal
from shared.clock import in_shanghai
from shared.ids import uuid7


def carried_part(rule: CarryOverRule, share_percent: int | None, unspent: int) -> int:
    """What the rule carries over of `unspent` fen ("up to" a share: rounded down)."""
    if rule == CarryOverRule.carry_all:
        return unspent
    if rule == CarryOverRule.return_all:
        return 0
    assert share_percent is not None
    return unspent * share_percent // 100


class FiscalService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = FiscalRepository(session)
        self.grants = GrantRepository(session)
        self.ledger = LedgerService(session)
        self.accounts = FiscalAccounts(session)
        self.program_accounts = GrantAccounts(session)

    # --- rules -------------------------------------------------------------------------------

    async def set_rule(
        self, program_code: str, data: CarryOverRuleSet, *, officer: str, now: datetime
    ) -> CarryOverRuleVersion:
        version = CarryOverRuleVersion(
            id=uuid7(),
            program_code=program_code,
            rule=data.rule,
            share_percent=data.share_percent,
            reason=data.reason,
            set_by=officer,
            set_at=now,
        )
        self.repo.add(version)
        await self.repo.flush()
        return version

    async def rule(self, principal: Principal, program_code: str) -> CarryOverRuleVersion:
        if not (await funds_scope(self.session, principal)).reads_program(program_code):
            raise CarryOverRuleNotFound()
        found = await self.repo.current_rule(program_code)
        if found is None:
            raise CarryOverRuleNotFound()
        return found

    # --- reads -------------------------------------------------------------------------------

    async def read_close(self, principal: Principal, program_code: str, year: int) -> YearEndClose:
        if not (await funds_scope(self.session, principal)).reads_program(program_code):
            raise YearEndCloseNotFound()
        found = await self.repo.close_of(program_code, year)
        if found is None:
            raise YearEndCloseNotFound()
        return found

    # --- the close ---------------------------------------------------------------------------

    async def close(
        self, data: YearEndCloseCreate, *, officer: str, now: datetime
    ) -> tuple[YearEndClose, bool]:
        """(the close, True if closed now)."""
        code, year = data.program_code, data.year
        # Locks first: two closes of one program take turns, and the second sees the first.
        funds = await self.repo.program_funds(code, year)
        done = await self.repo.close_of(code, year)
        if done is not None:
            if done.id == data.id:
                return done, False
            raise YearAlreadyClosed(
                extra={"close_id": str(done.id), "closed_at": done.closed_at.isoformat()}
            )
        if in_shanghai(now).year <= year:
            raise YearNotOver(extra={"year": year})
        ledger = ledger_of(code, year)
        if not any(f.ledger == ledger for f in funds):
            raise NothingToClose(extra={"ledger": ledger})
        closed = {c.year for c in await self.repo.closes_of(code)}
        still_open = sorted(
            f.fiscal_year
            for f in funds
            if f.fiscal_year and f.fiscal_year < year
            if f.fiscal_year not in closed
        )
        if still_open:
            raise PreviousYearOpen(extra={"years": still_open})
        rule = await self.repo.current_rule(code)
        if rule is None:
            raise NoCarryOverRule(extra={"program_code": code})
        grants = await self.repo.active_grants(code, year)
        held = await self.repo.accounts_with_holds(code, year)
        if held:
            raise HoldsPending(extra={"accounts": held})

        next_ledger = ledger_of(code, year + 1)
        _, next_fund = await self.program_accounts.open_program(
            code, year + 1, actor=officer, now=now
        )
        await self.accounts.open_carry_over(code, year + 1, next_ledger, actor=officer, now=now)
        batch: list[TransferIn] = []
        lines: list[dict[str, Any]] = []

        def move(
            purpose: str, debit: UUID, credit: UUID, amount: int, ledger: str, code_: str
        ) -> dict[str, Any]:
            transfer = TransferIn(
                id=derived_id(f"year-end:{data.id}:{purpose}"),
                debit_account_id=debit,
                credit_account_id=credit,
                amount=amount,
                ledger=ledger,
                code=code_,
                user_data={"year_end_close_id": str(data.id), "year": year},
            )
            batch.append(transfer)
            return {"id": str(transfer.id), "code": code_, "amount_fen": amount, "ledger": ledger}

        for grant in grants:
            at_org = await self.repo.account(grant.funds_account_id)
            carried = await self.accounts.open_project_carried(grant, actor=officer, now=now)
            assert at_org is not None
            left_at_org = at_org.credits_posted - at_org.debits_posted
            kept = carried.credits_posted - carried.debits_posted
            unspent = left_at_org + kept
            if unspent <= 0:
                continue
            carry = carried_part(rule.rule, rule.share_percent, unspent)
            moved = []
            if left_at_org > 0:
                moved.append(
                    move(
                        f"sweep:{grant.project_id}",
                        grant.funds_account_id,
                        carried.id,
                        left_at_org,
                        grant.ledger,
                        "carry_over",
                    )
                )
            if unspent - carry > 0:
                moved.append(
                    move(
                        f"return:{grant.project_id}",
                        carried.id,
                        treasury_id(grant.ledger),
                        unspent - carry,
                        grant.ledger,
                        "year_end_return",
                    )
                )
            lines.append(
                {
                    "kind": "project",
                    "ledger": grant.ledger,
                    "project_id": str(grant.project_id),
                    "project_number": grant.project_number,
                    "unspent_fen": unspent,
                    "carried_fen": carry,
                    "returned_fen": unspent - carry,
                    "transfers": moved,
                }
            )

        for fund in funds:
            owed = await self.grants.committed(fund.ledger)
            free = fund.credits_posted - fund.debits_posted - owed
            if free <= 0:
                continue
            carry = carried_part(rule.rule, rule.share_percent, free)
            moved = []
            if carry > 0:
                assert fund.fiscal_year is not None
                await self.accounts.open_carry_over(
                    code, fund.fiscal_year, fund.ledger, actor=officer, now=now
                )
                moved.append(
                    move(
                        f"out:{fund.ledger}",
                        fund.id,
                        carry_over_id(fund.ledger),
                        carry,
                        fund.ledger,
                        "carry_over_out",
                    )
                )
                moved.append(
                    move(
                        f"in:{fund.ledger}",
                        carry_over_id(next_ledger),
                        next_fund.id,
                        carry,
                        next_ledger,
                        "carry_over_in",
                    )
                )
            if free - carry > 0:
                moved.append(
                    move(
                        f"return:{fund.ledger}",
                        fund.id,
                        treasury_id(fund.ledger),
                        free - carry,
                        fund.ledger,
                        "year_end_return",
                    )
                )
            lines.append(
                {
                    "kind": "program",
                    "ledger": fund.ledger,
                    "unspent_fen": free,
                    "carried_fen": carry,
                    "returned_fen": free - carry,
                    "transfers": moved,
                }
            )
        for result in await self.ledger.create_transfers(
            batch, actor=officer, now=now, approved=True
        ):
            if not result.ok:
                assert result.code is not None
                raise refusal(result.code)
        carried_total = sum(line["carried_fen"] for line in lines)
        returned_total = sum(line["returned_fen"] for line in lines)
        inserted = await self.repo.insert_close(
            {
                "id": data.id,
                "program_code": code,
                "year": year,
                "next_ledger": next_ledger,
                "rule": rule.rule,
                "share_percent": rule.share_percent,
                "rule_id": rule.id,
                "carried_fen": carried_total,
                "returned_fen": returned_total,
                "lines": lines,
                "cut_seq": await self.repo.last_seq(),
                "closed_by": officer,
                "closed_at": now,
            }
        )
        if not inserted:  # the locks above make this unreachable; the unique index is the rule
            raise YearAlreadyClosed()
        found = await self.repo.close_of(code, year)
        assert found is not None
        return found, True
