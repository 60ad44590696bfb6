"""Opening accounts (idempotent by the client's id), balances now and as of a past moment,
and statements with a running balance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.access.repository import AccessRepository
from services.funds.access.scope import funds_scope
from services.funds.accounts.repository import AccountRepository
from services.funds.accounts.schemas import (
    AccountCreate,
    AccountRead,
    Balances,
    Statement,
    StatementLine,
)
from services.funds.exceptions import AccountExistsDifferent, AccountNotFound
from services.funds.models import Account
from shared.auth.tokens import Principal
from shared.ids import uuid7

_IDENTITY = (
    "ledger",
    "code",
    "name",
    "owner_kind",
    "owner_id",
    "program",
    "fiscal_year",
    "debits_must_not_exceed_credits",
    "credits_must_not_exceed_debits",
    "requires_approval",
    "user_data",
)
_RESOLUTION = timedelta(microseconds=1)  # PostgreSQL's timestamptz resolution


class AccountService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = AccountRepository(session)

    async def get(self, account_id: UUID) -> Account:
        account = await self.repo.get(account_id)
        if account is None:
            raise AccountNotFound()
        return account

    async def readable(self, principal: Principal, account_id: UUID) -> Account:
        """The account if the caller may read it (`services.funds.access.scope`); else 404."""
        account = await self.get(account_id)
        found = await funds_scope(self.session, principal)
        if not found.everything and not await AccessRepository(self.session).finds(
            Account, account_id, found.accounts()
        ):
            raise AccountNotFound()
        return account

    async def open(self, data: AccountCreate, *, actor: str, now: datetime) -> tuple[Account, bool]:
        """(the account, True if opened now); the same id and body again is the same account."""
        values = data.model_dump(exclude={"id"})
        account_id = data.id or uuid7()
        created = await self.repo.insert(
            {**values, "id": account_id, "created_at": now, "created_by": actor}
        )
        account = await self.get(account_id)
        if not created and any(getattr(account, key) != values[key] for key in _IDENTITY):
            raise AccountExistsDifferent()
        return account, created

    async def read(
        self, principal: Principal, account_id: UUID, as_of: datetime | None = None
    ) -> AccountRead:
        account = await self.readable(principal, account_id)
        current = AccountRead.model_validate(account)
        if as_of is None:
            return current
        past = await self.repo.balances_before(account_id, as_of + _RESOLUTION)
        return AccountRead.model_validate({**current.model_dump(), **past, "as_of": as_of})

    async def search(
        self,
        principal: Principal,
        *,
        ledger: str | None,
        owner_id: str | None,
        code: str | None,
        offset: int,
        limit: int,
    ) -> Sequence[Account]:
        """The accounts the caller may read that match the filters."""
        visible = (await funds_scope(self.session, principal)).accounts()
        return await self.repo.search(
            visible, ledger=ledger, owner_id=owner_id, code=code, offset=offset, limit=limit
        )

    async def statement(
        self,
        principal: Principal,
        account_id: UUID,
        *,
        since: datetime | None,
        until: datetime | None,
        offset: int,
        limit: int,
    ) -> tuple[Statement, bool]:
        """One page of the statement (and whether there is more), running totals included."""
        await self.readable(principal, account_id)
        opening = Balances.model_validate(
            await self.repo.balances_before(account_id, since)
            if since is not None
            else {
                "debits_pending": 0,
                "debits_posted": 0,
                "credits_pending": 0,
                "credits_posted": 0,
            }
        )
        rows = await self.repo.statement(
            account_id, since=since, until=until, offset=offset, limit=limit + 1
        )
        lines = [
            StatementLine.model_validate(
                {
                    **row,
                    "transfer_id": row["id"],
                    "net_posted": row["credits_posted"] - row["debits_posted"],
                }
            )
            for row in rows[:limit]
        ]
        statement = Statement(
            account_id=account_id,
            period_from=since,
            period_to=until,
            opening=opening,
            items=lines,
        )
        return statement, len(rows) > limit
