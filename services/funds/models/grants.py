"""Grant money: per-project budgets, tranche schedules, post-subsidies, recoveries.

The money itself lives in the ledger (accounts and transfers); these tables say what it is
for: which project a ledger account belongs to, which tranche a payment order pays, which
budget category an expenditure was spent on, and the who/when/why of every change.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.funds.models.base import Base, LedgerCode, Money, Timestamp
from shared.contracts.vocabulary import BudgetCategory, TrancheMilestone
from shared.states import StateType, one_of

CATEGORIES = tuple(category.value for category in BudgetCategory)
MILESTONES = tuple(milestone.value for milestone in TrancheMilestone)


class GrantStatus(StrEnum):
    active = "active"
    accepted = "accepted"
    frozen = "frozen"


class TrancheStatus(StrEnum):
    """Stored states; `ordered` shows as awaiting approval, paid or due again after a rejection,
    depending on its payment order (decided through the payment-order API)."""

    scheduled = "scheduled"
    due = "due"
    ordered = "ordered"
    cancelled = "cancelled"


class TrancheShown(StrEnum):
    """What a client sees of a tranche: an `ordered` one by its payment order (never stored)."""

    scheduled = "scheduled"
    due = "due"
    awaiting_approval = "awaiting_approval"
    paid = "paid"
    cancelled = "cancelled"


class RecoveryStatus(StrEnum):
    open = "open"
    settled = "settled"


class GrantEnvelope(Base):
    """Money the province allocates to a program for a year (treasury -> program fund)."""

    __tablename__ = "grant_envelopes"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.Index(None, "program_code", "year"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)  # the client's: idempotency
    ledger: Mapped[str] = mapped_column(LedgerCode)
    program_code: Mapped[str] = mapped_column(sa.String(40))
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    amount_fen: Mapped[int] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(sa.Text)
    transfer_id: Mapped[UUID] = mapped_column(sa.ForeignKey("transfers.id"), unique=True)
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class Grant(Base):
    """The money side of a contracted project: its budget by category and its two accounts."""

    __tablename__ = "grants"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", GrantStatus), name="status"),
        sa.CheckConstraint("approved_budget_fen >= 0", name="budget_non_negative"),
        sa.CheckConstraint("(status = 'frozen') = (frozen_at IS NOT NULL)", name="frozen_when"),
        sa.Index(None, "program_code", "year"),
        sa.Index(None, "org_id"),
        # Who reads which grants (`services.funds.access.scope`): by program, by PI.
        sa.Index(None, "program_id"),
        sa.Index(None, "pi_id"),
    )

    project_id: Mapped[UUID] = mapped_column(primary_key=True)
    project_number: Mapped[str] = mapped_column(sa.String(40))
    program_id: Mapped[UUID] = mapped_column()
    program_code: Mapped[str] = mapped_column(sa.String(40))
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    ledger: Mapped[str] = mapped_column(LedgerCode)
    org_id: Mapped[UUID] = mapped_column()
    org_name: Mapped[str] = mapped_column(sa.String(200))
    org_credit_code: Mapped[str | None] = mapped_column(sa.String(18))
    pi_id: Mapped[UUID] = mapped_column()
    pi_name: Mapped[str] = mapped_column(sa.String(200))
    approved_budget_fen: Mapped[int] = mapped_column(Money)
    # {equipment, business, labour, indirect} in fen; replaced by budget reallocations.
    budget: Mapped[dict[str, int]] = mapped_column(JSONB)
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date] = mapped_column()
    status: Mapped[GrantStatus] = mapped_column(StateType(GrantStatus, 12))
    funds_account_id: Mapped[UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    spent_account_id: Mapped[UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    contracted_at: Mapped[datetime] = mapped_column(Timestamp)
    accepted_at: Mapped[datetime | None] = mapped_column(Timestamp)
    frozen_at: Mapped[datetime | None] = mapped_column(Timestamp)
    frozen_cause: Mapped[str | None] = mapped_column(sa.String(60))
    frozen_reason: Mapped[str | None] = mapped_column(sa.Text)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class GrantTranche(Base):
    """One disbursement of the schedule, due when its milestone passes."""

    __tablename__ = "grant_tranches"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint(one_of("milestone", MILESTONES), name="milestone"),
        sa.CheckConstraint(one_of("status", TrancheStatus), name="status"),
        sa.CheckConstraint("status <> 'ordered' OR order_id IS NOT NULL", name="ordered_has_order"),
        sa.UniqueConstraint("project_id", "n"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)  # uuid5 of project and position
    project_id: Mapped[UUID] = mapped_column(sa.ForeignKey("grants.project_id"))
    n: Mapped[int] = mapped_column(sa.SmallInteger)  # 1-based position in the schedule
    name: Mapped[str] = mapped_column(sa.String(200))
    amount_fen: Mapped[int] = mapped_column(Money)
    milestone: Mapped[str] = mapped_column(sa.String(12))
    status: Mapped[TrancheStatus] = mapped_column(StateType(TrancheStatus, 12))
    # The latest payment order; each attempt has its own (a refused order id stays refused).
    order_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("payment_orders.id"))
    attempts: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    refusal_code: Mapped[str | None] = mapped_column(sa.String(60))
    due_at: Mapped[datetime | None] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)


class GrantPostSubsidy(Base):
    """A post-award subsidy (后补助), paid through a maker-checker payment order."""

    __tablename__ = "grant_post_subsidies"
    __table_args__ = (sa.CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[UUID] = mapped_column(primary_key=True)  # the client's: idempotency
    project_id: Mapped[UUID] = mapped_column(sa.ForeignKey("grants.project_id"), index=True)
    amount_fen: Mapped[int] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(sa.Text)
    order_id: Mapped[UUID] = mapped_column(sa.ForeignKey("payment_orders.id"), unique=True)
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class GrantExpenditure(Base):
    """Money the organization reports spent on a budget category (project funds -> spent)."""

    __tablename__ = "grant_expenditures"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint(one_of("category", CATEGORIES), name="category"),
        sa.Index(None, "project_id", "category"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)  # the client's: idempotency
    project_id: Mapped[UUID] = mapped_column(sa.ForeignKey("grants.project_id"))
    category: Mapped[str] = mapped_column(sa.String(12))
    amount_fen: Mapped[int] = mapped_column(Money)
    description: Mapped[str] = mapped_column(sa.Text)
    spent_on: Mapped[date] = mapped_column()
    transfer_id: Mapped[UUID] = mapped_column(sa.ForeignKey("transfers.id"), unique=True)
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class GrantRecovery(Base):
    """The recovery receivable (追回) of a frozen grant: its unspent balance, held until settled."""

    __tablename__ = "grant_recoveries"
    __table_args__ = (
        sa.CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
        sa.CheckConstraint(one_of("status", RecoveryStatus), name="status"),
        sa.CheckConstraint("(status = 'settled') = (settled_at IS NOT NULL)", name="settled_when"),
        sa.CheckConstraint("(amount_fen > 0) = (hold_transfer_id IS NOT NULL)", name="held"),
    )

    project_id: Mapped[UUID] = mapped_column(sa.ForeignKey("grants.project_id"), primary_key=True)
    amount_fen: Mapped[int] = mapped_column(Money)
    status: Mapped[RecoveryStatus] = mapped_column(StateType(RecoveryStatus, 12))
    hold_transfer_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("transfers.id"))
    settle_transfer_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("transfers.id"))
    cause: Mapped[str] = mapped_column(sa.String(60))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    opened_at: Mapped[datetime] = mapped_column(Timestamp)
    settle_request_id: Mapped[UUID | None] = mapped_column()
    settled_by: Mapped[str | None] = mapped_column(sa.String(100))
    settled_at: Mapped[datetime | None] = mapped_column(Timestamp)


class GrantHistory(Base):
    """Who changed what of a grant, when and why (append-only: a trigger refuses changes)."""

    __tablename__ = "grant_history"
    __table_args__ = (sa.Index(None, "project_id", "at"),)

    id: Mapped[UUID] = mapped_column(primary_key=True)
    project_id: Mapped[UUID] = mapped_column(sa.ForeignKey("grants.project_id"))
    action: Mapped[str] = mapped_column(sa.String(60))
    actor: Mapped[str] = mapped_column(sa.String(100))
    at: Mapped[datetime] = mapped_column(Timestamp)
    from_state: Mapped[str | None] = mapped_column(sa.String(20))
    to_state: Mapped[str | None] = mapped_column(sa.String(20))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
