"""The double-entry ledger: accounts with their four totals, and append-only transfers.

The database keeps the money honest by itself: CHECK constraints hold every account within its
balance flags, triggers refuse UPDATE and DELETE of transfers and let posted totals only grow,
and one PL/pgSQL function (`funds.create_transfers`, in the migration) is the only writer of
transfers and totals. See `services/funds/ledger/service.py` for how Python calls it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.funds.models.base import NOW, Base, LedgerCode, Money, Timestamp
from shared.states import one_of

OWNER_KINDS = (
    "province",
    "program",
    "special_fund",
    "project",
    "organization",
    "enterprise",
    "provider",
    "external",
)
# single: posted at once; pending: a hold; post/void: resolve a hold; expire: its timeout passed.
TRANSFER_KINDS = ("single", "pending", "post", "void", "expire")


class Account(Base):
    """An account of one ledger. Only the ledger function changes the four totals."""

    __tablename__ = "accounts"
    __table_args__ = (
        sa.CheckConstraint(
            "debits_pending >= 0 AND debits_posted >= 0"
            " AND credits_pending >= 0 AND credits_posted >= 0",
            name="totals_non_negative",
        ),
        sa.CheckConstraint(
            "NOT (debits_must_not_exceed_credits AND credits_must_not_exceed_debits)",
            name="flags_exclusive",
        ),
        # Written as a difference: `debits_pending + debits_posted` could overflow BIGINT.
        sa.CheckConstraint(
            "NOT debits_must_not_exceed_credits"
            " OR debits_pending <= credits_posted - debits_posted",
            name="debits_within_credits",
        ),
        sa.CheckConstraint(
            "NOT credits_must_not_exceed_debits"
            " OR credits_pending <= debits_posted - credits_posted",
            name="credits_within_debits",
        ),
        sa.CheckConstraint(one_of("owner_kind", OWNER_KINDS), name="owner_kind"),
        sa.Index(None, "ledger", "code"),
        sa.Index(None, "owner_id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    ledger: Mapped[str] = mapped_column(LedgerCode)
    # What the account is for: "program_fund", "project_budget", "treasury", "voucher_pool"...
    code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(200))
    owner_kind: Mapped[str] = mapped_column(sa.String(20))
    owner_id: Mapped[str] = mapped_column(sa.String(100))
    program: Mapped[str | None] = mapped_column(sa.String(40))
    fiscal_year: Mapped[int | None] = mapped_column(sa.SmallInteger)
    debits_must_not_exceed_credits: Mapped[bool] = mapped_column(default=False)
    credits_must_not_exceed_debits: Mapped[bool] = mapped_column(default=False)
    # Money out of this account is paid only through maker-checker payment orders.
    requires_approval: Mapped[bool] = mapped_column(default=False)
    debits_pending: Mapped[int] = mapped_column(Money, server_default="0")
    debits_posted: Mapped[int] = mapped_column(Money, server_default="0")
    credits_pending: Mapped[int] = mapped_column(Money, server_default="0")
    credits_posted: Mapped[int] = mapped_column(Money, server_default="0")
    user_data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    created_by: Mapped[str] = mapped_column(sa.String(100))


class Transfer(Base):
    """One movement of money, never changed or removed (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "transfers"
    __table_args__ = (
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("debit_account_id <> credit_account_id", name="accounts_differ"),
        sa.CheckConstraint(one_of("kind", TRANSFER_KINDS), name="kind"),
        sa.CheckConstraint(
            "(pending_id IS NOT NULL) = (kind IN ('post', 'void', 'expire'))",
            name="pending_id_for_resolutions",
        ),
        sa.CheckConstraint(
            "kind = 'pending' OR (timeout_seconds IS NULL AND expires_at IS NULL)",
            name="timeout_for_pending",
        ),
        # A hold resolves exactly once: one post, void or expiry per pending transfer.
        sa.UniqueConstraint("pending_id"),
        # An account's transfers in the order they were applied (statements, balances as of).
        sa.Index(None, "debit_account_id", "seq"),
        sa.Index(None, "credit_account_id", "seq"),
        sa.Index(None, "ledger", "created_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)  # chosen by the client: idempotency
    # The order of application: taken from a sequence by the INSERT, which the ledger function
    # runs after locking the accounts, so an account's transfers follow it in the order they
    # changed its totals. `created_at` is when the request started (a request that waited
    # for a lock may have started before transfers applied ahead of it).
    seq: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), unique=True)
    debit_account_id: Mapped[UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    credit_account_id: Mapped[UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    amount: Mapped[int] = mapped_column(Money)
    pending_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("transfers.id"))
    ledger: Mapped[str] = mapped_column(LedgerCode)
    code: Mapped[str] = mapped_column(sa.String(40))
    kind: Mapped[str] = mapped_column(sa.String(8))
    linked: Mapped[bool] = mapped_column(default=False)
    timeout_seconds: Mapped[int | None] = mapped_column()
    expires_at: Mapped[datetime | None] = mapped_column(Timestamp)
    user_data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # md5 of the request body as the client sent it: the same id with another body is refused.
    body_hash: Mapped[UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    created_by: Mapped[str] = mapped_column(sa.String(100))


class TransferFailure(Base):
    """A transfer id whose request failed: a retry gets the same answer, never a late success."""

    __tablename__ = "transfer_failures"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    body_hash: Mapped[UUID] = mapped_column()
    code: Mapped[str] = mapped_column(sa.String(60))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    created_by: Mapped[str] = mapped_column(sa.String(100))


class PendingExpiry(Base):
    """Holds with a timeout that are not resolved yet: the expiry sweep's queue.

    Derived from `transfers` (the truth) and kept by the ledger function, so the sweep reads
    only what is due instead of every hold ever made.
    """

    __tablename__ = "pending_expiries"

    transfer_id: Mapped[UUID] = mapped_column(sa.ForeignKey("transfers.id"), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(Timestamp, index=True)


class IdempotencyKey(Base):
    """The answer to a batch sent with an `Idempotency-Key` header, per caller."""

    __tablename__ = "idempotency_keys"

    principal: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(Timestamp, server_default=NOW)
