"""A project's final accounts (决算) for one fiscal year, read from the ledger.

A year's books are what the ledger applied after the close of the year before and up to the
close of the year (its `cut_seq`); a year not closed yet shows its figures so far. The
project's money is what is at its organization (project funds) and what was carried over for
it (its carry-over account); money between the two (a close's sweep, a drawdown) stays the
project's.

Per category: tranches and post-subsidies name no category, so the year's receipts are shown
by budget share; the carry-over by each category's budget not yet spent (largest remainder,
so that the categories add up to the total exactly). Drawdowns and spending name theirs.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.cofunding.repository import CoFundingRepository
from services.funds.fiscal.accounts import project_carried_id
from services.funds.fiscal.exceptions import YearOutOfRange
from services.funds.fiscal.repository import FiscalRepository
from services.funds.fiscal.schemas import CategoryAccounts, FinalAccounts
from services.funds.grants.views import GrantViews
from services.funds.models.fiscal import CoFundingSource
from shared.auth.tokens import Principal
from shared.contracts.vocabulary import BudgetCategory

CATEGORIES = list(BudgetCategory)


def apportion(total: int, weights: dict[BudgetCategory, int]) -> dict[BudgetCategory, int]:
    """`total` split in proportion to the weights, in whole fen adding up to `total` exactly
    (largest remainder; ties to the category listed first)."""
    whole = sum(max(0, w) for w in weights.values())
    if whole == 0 or total == 0:
        return {c: 0 for c in weights}
    shares = {c: total * max(0, w) // whole for c, w in weights.items()}
    left = total - sum(shares.values())
    by_remainder = sorted(
        weights, key=lambda c: (-(total * max(0, weights[c]) % whole), CATEGORIES.index(c))
    )
    for category in by_remainder[:left]:
        shares[category] += 1
    return shares


class FinalAccountsReader:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = FiscalRepository(session)
        self.views = GrantViews(session)
        self.co_funding = CoFundingRepository(session)

    async def read(self, principal: Principal, project_id: UUID, year: int) -> FinalAccounts:
        grant = await self.views.visible(principal, project_id)
        closes = {c.year: c for c in await self.repo.closes_of(grant.program_code)}
        open_year = max([grant.year, *(y + 1 for y in closes)])
        if not grant.year <= year <= open_year:
            raise YearOutOfRange(extra={"from_year": grant.year, "to_year": open_year})
        before = closes.get(year - 1)
        this = closes.get(year)
        after_seq = before.cut_seq if before is not None else 0
        up_to_seq = this.cut_seq if this is not None else None

        funds, spent_account = grant.funds_account_id, grant.spent_account_id
        carried = project_carried_id(project_id)
        mine = {funds, carried}
        accounts = [funds, spent_account, carried]

        def position(rows: list[tuple[UUID, UUID, str, int]]) -> int:
            """The project's money: what came into funds or carry-over from outside, less
            what left them to the outside (spending included)."""
            inward = sum(int(a) for d, c, _, a in rows if c in mine and d not in mine)
            outward = sum(int(a) for d, c, _, a in rows if d in mine and c not in mine)
            return inward - outward

        earlier = (
            [
                tuple(r)
                for r in await self.repo.movements(accounts, after_seq=0, up_to_seq=after_seq)
            ]
            if after_seq
            else []
        )
        rows = [
            tuple(r)
            for r in await self.repo.movements(accounts, after_seq=after_seq, up_to_seq=up_to_seq)
        ]
        opening = position(earlier)
        received = sum(int(a) for d, c, _, a in rows if c == funds and d not in mine)
        drawn = sum(int(a) for d, c, _, a in rows if d == carried and c == funds)
        returned = sum(int(a) for d, c, code, a in rows if d in mine and code == "year_end_return")
        recovered = sum(int(a) for d, c, code, a in rows if d == funds and code == "recovery")
        spent = {
            category: sum(
                int(a) for _, c, code, a in rows if c == spent_account and code == category
            )
            for category in CATEGORIES
        }
        closing = opening + position(rows)
        spent_to_date = {
            category: sum(
                int(a)
                for _, c, code, a in [*earlier, *rows]
                if c == spent_account and code == category
            )
            for category in CATEGORIES
        }
        budget = {c: int(grant.budget.get(c, 0)) for c in CATEGORIES}
        received_by = apportion(received, budget)
        unspent_budget = {c: budget[c] - spent_to_date[c] for c in CATEGORIES}
        carried_over = closing if this is not None else None
        carried_by = (
            apportion(
                closing, unspent_budget if any(v > 0 for v in unspent_budget.values()) else budget
            )
            if carried_over is not None
            else None
        )
        drawn_by = await self.repo.drawn_by_category(
            project_id, after_seq=after_seq, up_to_seq=up_to_seq
        )
        co = await self.co_funding.confirmed_sums(project_id, year)
        return FinalAccounts(
            project_id=project_id,
            project_number=grant.project_number,
            program_code=grant.program_code,
            ledger=grant.ledger,
            year=year,
            closed=this is not None,
            opening_fen=opening,
            received_fen=received,
            drawn_fen=drawn,
            spent_fen=sum(spent.values()),
            returned_fen=returned,
            recovered_fen=recovered,
            closing_fen=closing,
            carried_over_fen=carried_over,
            self_raised_fen=sum(v for (_, s), v in co.items() if s == CoFundingSource.self_raised),
            matching_fen=sum(v for (_, s), v in co.items() if s == CoFundingSource.matching),
            categories=[
                CategoryAccounts(
                    category=c,
                    budgeted_fen=budget[c],
                    received_fen=received_by[c],
                    drawn_fen=drawn_by.get(c, 0),
                    spent_fen=spent[c],
                    carried_over_fen=carried_by[c] if carried_by is not None else None,
                    self_raised_fen=co.get((c, CoFundingSource.self_raised), 0),
                    matching_fen=co.get((c, CoFundingSource.matching), 0),
                )
                for c in CATEGORIES
            ],
        )
