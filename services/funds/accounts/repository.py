"""SQL of accounts: opening them, and their balances recomputed from transfers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.models import Account

# What each transfer does to the pending and posted totals of the side it touches; for a post,
# void or expiry the whole hold (the pending transfer's amount) is released.
#
# Transfers are taken in the order the ledger applied them: `seq` comes from a sequence at the
# INSERT, which the ledger function runs after locking the accounts, so on one account it
# follows the order of application. `created_at` is when the request started, and a request
# that waited for a lock is applied after later ones: ordered by it, a running balance could go
# below a limit the account never crossed. For cuts in time (a period, `as_of`), a transfer
# counts from its `applied_from`: the latest start among it and every transfer applied before
# it on the account, so what a moment includes is always a prefix of the application order.
_MOVES = """
SELECT m.*, max(m.created_at) OVER (ORDER BY m.seq ROWS UNBOUNDED PRECEDING) AS applied_from
  FROM (
    SELECT t.seq, t.id, t.kind, t.code, t.amount, t.pending_id, t.created_at, t.created_by,
           t.user_data,
           CASE WHEN t.debit_account_id = :account THEN 'debit' ELSE 'credit' END AS side,
           CASE WHEN t.debit_account_id = :account THEN t.credit_account_id
                ELSE t.debit_account_id END AS counterparty_account_id,
           CASE t.kind WHEN 'pending' THEN t.amount WHEN 'single' THEN 0 ELSE -p.amount END
             AS pending_change,
           CASE WHEN t.kind IN ('single', 'post') THEN t.amount ELSE 0 END AS posted_change
      FROM funds.transfers t
      LEFT JOIN funds.transfers p ON p.id = t.pending_id
     WHERE t.debit_account_id = :account OR t.credit_account_id = :account
  ) m
"""

_BALANCES_BEFORE = sa.text(
    f"""
SELECT coalesce(sum(pending_change) FILTER (WHERE side = 'debit'), 0) AS debits_pending,
       coalesce(sum(posted_change) FILTER (WHERE side = 'debit'), 0) AS debits_posted,
       coalesce(sum(pending_change) FILTER (WHERE side = 'credit'), 0) AS credits_pending,
       coalesce(sum(posted_change) FILTER (WHERE side = 'credit'), 0) AS credits_posted
  FROM ({_MOVES}) m
 WHERE applied_from < :until
"""
)

_STATEMENT = sa.text(
    f"""
SELECT * FROM (
  SELECT m.*,
         sum(CASE WHEN side = 'debit' THEN pending_change ELSE 0 END) OVER w AS debits_pending,
         sum(CASE WHEN side = 'debit' THEN posted_change ELSE 0 END) OVER w AS debits_posted,
         sum(CASE WHEN side = 'credit' THEN pending_change ELSE 0 END) OVER w AS credits_pending,
         sum(CASE WHEN side = 'credit' THEN posted_change ELSE 0 END) OVER w AS credits_posted
    FROM ({_MOVES}) m
   WHERE applied_from < :until
  WINDOW w AS (ORDER BY seq ROWS UNBOUNDED PRECEDING)
) running
 WHERE applied_from >= :since
 ORDER BY seq
 OFFSET :offset LIMIT :limit
"""
)

# Far enough to mean "no bound" for timestamptz comparisons.
_BEGINNING = datetime.fromisoformat("1970-01-01T00:00:00+00:00")
_END = datetime.fromisoformat("9999-01-01T00:00:00+00:00")


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, account_id: UUID) -> Account | None:
        return await self.session.get(Account, account_id)

    async def insert(self, values: dict[str, Any]) -> bool:
        """Inserts the account; False if its id is taken (by a concurrent or earlier create)."""
        inserted = await self.session.scalar(
            insert(Account).values(**values).on_conflict_do_nothing().returning(Account.id)
        )
        return inserted is not None

    async def search(
        self,
        visible: sa.ColumnElement[bool],
        *,
        ledger: str | None,
        owner_id: str | None,
        code: str | None,
        offset: int,
        limit: int,
    ) -> Sequence[Account]:
        query = sa.select(Account).where(visible).order_by(Account.ledger, Account.code, Account.id)
        if ledger is not None:
            query = query.where(Account.ledger == ledger)
        if owner_id is not None:
            query = query.where(Account.owner_id == owner_id)
        if code is not None:
            query = query.where(Account.code == code)
        return (await self.session.scalars(query.offset(offset).limit(limit))).all()

    async def balances_before(self, account_id: UUID, until: datetime | None) -> dict[str, int]:
        """The four totals from the account's transfers applied before `until`."""
        row = (
            await self.session.execute(
                _BALANCES_BEFORE, {"account": account_id, "until": until or _END}
            )
        ).one()
        return {key: int(value) for key, value in row._mapping.items()}

    async def statement(
        self,
        account_id: UUID,
        *,
        since: datetime | None,
        until: datetime | None,
        offset: int,
        limit: int,
    ) -> list[dict[str, Any]]:
        rows = await self.session.execute(
            _STATEMENT,
            {
                "account": account_id,
                "since": since or _BEGINNING,
                "until": until or _END,
                "offset": offset,
                "limit": limit,
            },
        )
        return [dict(row._mapping) for row in rows]
