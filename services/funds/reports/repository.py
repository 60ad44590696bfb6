"""SQL of the reports. `integrity_violations` is also what the tests run after every test."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

_STORED_BALANCES = sa.text(
    """
SELECT ledger, count(*) AS accounts,
       sum(debits_posted) AS debits_posted, sum(credits_posted) AS credits_posted,
       sum(debits_pending) AS debits_pending, sum(credits_pending) AS credits_pending
  FROM funds.accounts
 WHERE CAST(:ledger AS text) IS NULL OR ledger = :ledger
 GROUP BY ledger ORDER BY ledger
"""
)

# Every transfer moves the same amount on both sides; summing each side separately from the
# transfers (not from one column twice) is what makes the as-of trial balance a check. As for
# an account's balances (see accounts/repository.py), a transfer counts from the latest start
# among it and every transfer of its ledger applied before it (`seq` is the order of
# application), so a moment takes a prefix of the ledger's application order.
_BALANCES_AS_OF = sa.text(
    """
WITH applied AS (
  SELECT t.*, max(t.created_at) OVER (PARTITION BY t.ledger ORDER BY t.seq
                                      ROWS UNBOUNDED PRECEDING) AS applied_from
    FROM funds.transfers t
   WHERE CAST(:ledger AS text) IS NULL OR t.ledger = :ledger
), moves AS (
  SELECT t.ledger, t.debit_account_id, t.credit_account_id,
         CASE t.kind WHEN 'pending' THEN t.amount WHEN 'single' THEN 0 ELSE -p.amount END
           AS pending_change,
         CASE WHEN t.kind IN ('single', 'post') THEN t.amount ELSE 0 END AS posted_change
    FROM applied t LEFT JOIN funds.transfers p ON p.id = t.pending_id
   WHERE t.applied_from <= :as_of
), sides AS (
  SELECT ledger, debit_account_id AS account_id, posted_change AS dpo, pending_change AS dp,
         0 AS cpo, 0 AS cp FROM moves
  UNION ALL
  SELECT ledger, credit_account_id, 0, 0, posted_change, pending_change FROM moves
)
SELECT ledger, count(DISTINCT account_id) AS accounts,
       sum(dpo) AS debits_posted, sum(cpo) AS credits_posted,
       sum(dp) AS debits_pending, sum(cp) AS credits_pending
  FROM sides GROUP BY ledger ORDER BY ledger
"""
)

# Each query returns (kind, subject, detail) of what is wrong; nothing when all is well.
_VIOLATIONS = [
    # Per ledger, debits equal credits, posted and pending.
    """
SELECT 'ledger_unbalanced', ledger,
       format('debits_posted %s credits_posted %s debits_pending %s credits_pending %s',
              sum(debits_posted), sum(credits_posted), sum(debits_pending), sum(credits_pending))
  FROM funds.accounts GROUP BY ledger
HAVING sum(debits_posted) <> sum(credits_posted) OR sum(debits_pending) <> sum(credits_pending)
""",
    # Every account's stored totals are what its transfers add up to.
    """
WITH moves AS (
  SELECT t.debit_account_id, t.credit_account_id,
         CASE t.kind WHEN 'pending' THEN t.amount WHEN 'single' THEN 0 ELSE -p.amount END
           AS pending_change,
         CASE WHEN t.kind IN ('single', 'post') THEN t.amount ELSE 0 END AS posted_change
    FROM funds.transfers t LEFT JOIN funds.transfers p ON p.id = t.pending_id
), sides AS (
  SELECT debit_account_id AS account_id, pending_change AS dp, posted_change AS dpo,
         0 AS cp, 0 AS cpo FROM moves
  UNION ALL
  SELECT credit_account_id, 0, 0, pending_change, posted_change FROM moves
), computed AS (
  SELECT account_id, sum(dp) AS dp, sum(dpo) AS dpo, sum(cp) AS cp, sum(cpo) AS cpo
    FROM sides GROUP BY account_id
)
SELECT 'account_totals_differ', a.id::text,
       format('stored %s/%s/%s/%s, from transfers %s/%s/%s/%s (dp/dpo/cp/cpo)',
              a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted,
              coalesce(c.dp, 0), coalesce(c.dpo, 0), coalesce(c.cp, 0), coalesce(c.cpo, 0))
  FROM funds.accounts a LEFT JOIN computed c ON c.account_id = a.id
 WHERE a.debits_pending <> coalesce(c.dp, 0) OR a.debits_posted <> coalesce(c.dpo, 0)
    OR a.credits_pending <> coalesce(c.cp, 0) OR a.credits_posted <> coalesce(c.cpo, 0)
""",
    # Transfers stay inside one ledger, and a resolution matches the hold it resolves.
    """
SELECT 'transfer_crosses_ledgers', t.id::text, t.ledger || ' ' || d.ledger || ' ' || c.ledger
  FROM funds.transfers t
  JOIN funds.accounts d ON d.id = t.debit_account_id
  JOIN funds.accounts c ON c.id = t.credit_account_id
 WHERE d.ledger <> t.ledger OR c.ledger <> t.ledger
""",
    """
SELECT 'resolution_mismatch', r.id::text, r.kind || ' of ' || coalesce(p.kind, 'nothing')
  FROM funds.transfers r LEFT JOIN funds.transfers p ON p.id = r.pending_id
 WHERE r.pending_id IS NOT NULL
   AND (p.id IS NULL OR p.kind <> 'pending'
        OR p.debit_account_id <> r.debit_account_id OR p.credit_account_id <> r.credit_account_id
        OR (r.kind = 'post' AND r.amount > p.amount)
        OR (r.kind IN ('void', 'expire') AND r.amount <> p.amount))
""",
    # An id is a transfer or a failure, never both.
    """
SELECT 'id_both_transfer_and_failure', f.id::text, f.code
  FROM funds.transfer_failures f JOIN funds.transfers t ON t.id = f.id
""",
    # The expiry queue holds exactly the unresolved holds that have a timeout.
    """
SELECT 'expiry_queue_mismatch', coalesce(q.transfer_id, p.id)::text,
       CASE WHEN q.transfer_id IS NULL THEN 'unresolved hold missing from the queue'
            ELSE 'queued hold is resolved or unknown' END
  FROM (SELECT p.id FROM funds.transfers p
         WHERE p.kind = 'pending' AND p.expires_at IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM funds.transfers r WHERE r.pending_id = p.id)) p
  FULL JOIN funds.pending_expiries q ON q.transfer_id = p.id
 WHERE q.transfer_id IS NULL OR p.id IS NULL
""",
]


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def stored_balances(self, ledger: str | None) -> list[dict[str, Any]]:
        rows = await self.session.execute(_STORED_BALANCES, {"ledger": ledger})
        return [dict(row._mapping) for row in rows]

    async def balances_as_of(self, as_of: datetime, ledger: str | None) -> list[dict[str, Any]]:
        rows = await self.session.execute(_BALANCES_AS_OF, {"as_of": as_of, "ledger": ledger})
        return [dict(row._mapping) for row in rows]

    async def integrity_violations(self) -> list[tuple[str, str, str]]:
        found: list[tuple[str, str, str]] = []
        for query in _VIOLATIONS:
            rows = await self.session.execute(sa.text(query))
            found.extend((str(kind), str(subject), str(detail)) for kind, subject, detail in rows)
        return found

    async def counts(self) -> tuple[int, int]:
        row = (
            await self.session.execute(
                sa.text(
                    "SELECT (SELECT count(*) FROM funds.accounts),"
                    " (SELECT count(*) FROM funds.transfers)"
                )
            )
        ).one()
        return int(row[0]), int(row[1])
