"""Innovation vouchers: programs, providers, enterprises, vouchers, orders, redemptions.

Money never lives in these tables: each program has a pool account, each voucher an account
and each provider a payable account in the program's ledger (`CQ-<year>-<code>`); the rows
here hold the business state and point at the transfers that moved the money.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column

from services.funds.models.base import Base, LedgerCode, Money, Timestamp
from shared.states import StateType, one_of


class ProviderReview(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class ProviderStatus(StrEnum):
    """What a provider shows: from its review, its suspension and the clock (never stored)."""

    pending_review = "pending_review"
    rejected = "rejected"
    in_publicity = "in_publicity"
    active = "active"
    suspended = "suspended"


class VoucherStatus(StrEnum):
    active = "active"
    expired = "expired"
    cancelled = "cancelled"


class OrderState(StrEnum):
    ordered = "ordered"
    delivered = "delivered"
    confirmed = "confirmed"
    redemption_filed = "redemption_filed"
    redeemed = "redeemed"
    cancelled = "cancelled"


# Orders whose voucher part is still held: not yet redeemed or cancelled.
LIVE_ORDER_STATES = (
    OrderState.ordered,
    OrderState.delivered,
    OrderState.confirmed,
    OrderState.redemption_filed,
)
# Orders with work under way or done, not yet filed for redemption.
UNFILED_ORDER_STATES = (OrderState.ordered, OrderState.delivered, OrderState.confirmed)

# Voucher numbers (CQ2026-000123) come from one sequence: unique without a hot counter row.
voucher_number_seq = sa.Sequence("voucher_number_seq", metadata=Base.metadata)


class VoucherProgram(Base):
    """One year's voucher scheme: its budget sits in the pool account of its own ledger."""

    __tablename__ = "voucher_programs"
    __table_args__ = (
        sa.CheckConstraint("budget_fen > 0", name="budget_positive"),
        sa.CheckConstraint("voucher_share_bp BETWEEN 4000 AND 7000", name="share_range"),
        sa.CheckConstraint("cap_per_group_fen > 0", name="cap_positive"),
        sa.CheckConstraint("validity_days BETWEEN 1 AND 366", name="validity_range"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)  # chosen by the client: idempotency
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    ledger: Mapped[str] = mapped_column(LedgerCode, unique=True)
    budget_fen: Mapped[int] = mapped_column(Money)
    voucher_share_bp: Mapped[int] = mapped_column()
    cap_per_group_fen: Mapped[int] = mapped_column(Money)
    validity_days: Mapped[int] = mapped_column()
    categories: Mapped[list[str]] = mapped_column(ARRAY(sa.String(40)))
    managing_agency: Mapped[str] = mapped_column(sa.String(200))
    # The code of the program (projects service) that runs the scheme: its managers admit
    # providers and oversee the scheme; None: finance, audit and admin staff only.
    run_by_program: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    treasury_account_id: Mapped[UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    pool_account_id: Mapped[UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    funding_transfer_id: Mapped[UUID] = mapped_column()
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class VoucherProvider(Base):
    """A service provider; it accepts vouchers once approved, publicised and not suspended."""

    __tablename__ = "voucher_providers"
    __table_args__ = (
        sa.CheckConstraint(one_of("review_state", ProviderReview), name="review_state"),
        sa.CheckConstraint(
            "(review_state = 'approved') = (publicity_ends_at IS NOT NULL)",
            name="publicity_when_approved",
        ),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    org_id: Mapped[UUID] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    credit_code: Mapped[str] = mapped_column(sa.String(18))
    services: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    actual_controller: Mapped[str] = mapped_column(sa.String(64))
    related_parties: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    review_state: Mapped[ProviderReview] = mapped_column(StateType(ProviderReview, 10))
    reviewed_by: Mapped[str | None] = mapped_column(sa.String(100))
    reviewed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    review_reason: Mapped[str | None] = mapped_column(sa.Text)
    publicity_ends_at: Mapped[datetime | None] = mapped_column(Timestamp)
    suspended: Mapped[bool] = mapped_column(default=False)
    suspension_reason: Mapped[str | None] = mapped_column(sa.Text)
    registered_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp)

    # Approved providers are publicised for a week before they accept vouchers; publicity ends by
    # the clock, so no job flips a flag. Each rule in Python and, next to it, in SQL.

    def _publicised_until(self) -> datetime | None:
        if self.review_state != ProviderReview.approved or self.suspended:
            return None
        return self.publicity_ends_at

    @classmethod
    def _publicised_in_sql(cls) -> sa.ColumnElement[bool]:
        return sa.and_(cls.review_state == ProviderReview.approved, sa.not_(cls.suspended))

    def _in_publicity(self, now: datetime) -> bool:
        ends = self._publicised_until()
        return ends is not None and now < ends

    @classmethod
    def _in_publicity_in_sql(cls, now: datetime) -> sa.ColumnElement[bool]:
        return sa.and_(cls._publicised_in_sql(), cls.publicity_ends_at > now)

    def _accepts_vouchers(self, now: datetime) -> bool:
        ends = self._publicised_until()
        return ends is not None and ends <= now

    @classmethod
    def _accepts_vouchers_in_sql(cls, now: datetime) -> sa.ColumnElement[bool]:
        return sa.and_(cls._publicised_in_sql(), cls.publicity_ends_at <= now)

    in_publicity = hybrid_method(_in_publicity, _in_publicity_in_sql)
    accepts_vouchers = hybrid_method(_accepts_vouchers, _accepts_vouchers_in_sql)


class VoucherEnterprise(Base):
    """An enterprise that may hold vouchers, with who controls it and whom it is related to."""

    __tablename__ = "voucher_enterprises"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    org_id: Mapped[UUID] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    credit_code: Mapped[str] = mapped_column(sa.String(18))
    actual_controller: Mapped[str] = mapped_column(sa.String(64), index=True)
    related_parties: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    registered_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class VoucherGroupUsage(Base):
    """What a program issued to one actual-controller group: the row the cap is kept on."""

    __tablename__ = "voucher_group_usage"
    __table_args__ = (
        sa.CheckConstraint("issued_fen >= 0 AND issued_fen <= cap_fen", name="within_cap"),
    )

    program_id: Mapped[UUID] = mapped_column(sa.ForeignKey("voucher_programs.id"), primary_key=True)
    actual_controller: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    cap_fen: Mapped[int] = mapped_column(Money)
    issued_fen: Mapped[int] = mapped_column(Money, default=0)


class Voucher(Base):
    """A voucher; its value is the balance of its own account (`account_id`)."""

    __tablename__ = "vouchers"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint(one_of("status", VoucherStatus), name="status"),
        sa.CheckConstraint("(status = 'active') = (closed_at IS NULL)", name="closed_when_over"),
        sa.Index(None, "status", "expires_at"),
        sa.Index(None, "enterprise_id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)  # chosen by the client: idempotency
    number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    program_id: Mapped[UUID] = mapped_column(sa.ForeignKey("voucher_programs.id"))
    enterprise_id: Mapped[UUID] = mapped_column(sa.ForeignKey("voucher_enterprises.id"))
    actual_controller: Mapped[str] = mapped_column(sa.String(64))
    amount_fen: Mapped[int] = mapped_column(Money)
    account_id: Mapped[UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    issue_transfer_id: Mapped[UUID] = mapped_column()
    status: Mapped[VoucherStatus] = mapped_column(StateType(VoucherStatus, 10))
    valid_until: Mapped[date] = mapped_column(sa.Date)  # the last day, in Asia/Shanghai
    expires_at: Mapped[datetime] = mapped_column(Timestamp)
    issued_by: Mapped[str] = mapped_column(sa.String(100))
    issued_at: Mapped[datetime] = mapped_column(Timestamp)
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp)
    closed_by: Mapped[str | None] = mapped_column(sa.String(100))
    close_reason: Mapped[str | None] = mapped_column(sa.Text)

    # Whether a voucher can pay for an order, in one definition for Python and SQL: active and
    # before `expires_at` (at that instant it has expired, whether or not the sweep ran yet).

    @hybrid_method
    def is_usable(self, now: datetime) -> bool:
        return (self.status == VoucherStatus.active) & (now < self.expires_at)

    @hybrid_method
    def is_due_to_expire(self, now: datetime) -> bool:
        """Past `expires_at` but still active: the sweep expires it."""
        return (self.status == VoucherStatus.active) & (self.expires_at <= now)


class VoucherOrder(Base):
    """A service bought partly with a voucher: its voucher part is held until redemption."""

    __tablename__ = "voucher_orders"
    __table_args__ = (
        sa.CheckConstraint(one_of("state", OrderState), name="state"),
        sa.CheckConstraint(
            "voucher_amount_fen > 0 AND voucher_amount_fen <= contract_amount_fen",
            name="voucher_part",
        ),
        sa.Index(None, "voucher_id"),
        sa.Index(None, "provider_id"),
        sa.Index(None, "enterprise_id"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)  # chosen by the client: idempotency
    voucher_id: Mapped[UUID] = mapped_column(sa.ForeignKey("vouchers.id"))
    provider_id: Mapped[UUID] = mapped_column(sa.ForeignKey("voucher_providers.id"))
    enterprise_id: Mapped[UUID] = mapped_column(sa.ForeignKey("voucher_enterprises.id"))
    program_id: Mapped[UUID] = mapped_column(sa.ForeignKey("voucher_programs.id"))
    service_name: Mapped[str] = mapped_column(sa.String(200))
    service_category: Mapped[str] = mapped_column(sa.String(40))
    contract_amount_fen: Mapped[int] = mapped_column(Money)
    voucher_amount_fen: Mapped[int] = mapped_column(Money)
    # No foreign key: its KEY SHARE lock would collide with the ledger function's FOR UPDATE
    # of the same account when many orders for one provider run at once.
    payable_account_id: Mapped[UUID] = mapped_column()
    hold_transfer_id: Mapped[UUID] = mapped_column()
    state: Mapped[OrderState] = mapped_column(StateType(OrderState, 20))
    ordered_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    # The redemption the provider filed (the latest one, after a rejection).
    invoice_number: Mapped[str | None] = mapped_column(sa.String(40))
    invoice_amount_fen: Mapped[int | None] = mapped_column(Money)
    contract_ref: Mapped[str | None] = mapped_column(sa.String(200))
    self_payment_ref: Mapped[str | None] = mapped_column(sa.String(200))
    delivery_proof_ref: Mapped[str | None] = mapped_column(sa.String(200))
    redemption_decided_by: Mapped[str | None] = mapped_column(sa.String(100))
    fraud_confirmed_by: Mapped[str | None] = mapped_column(sa.String(100))
    fraud_facts: Mapped[str | None] = mapped_column(sa.Text)


class VoucherInvoice(Base):
    """An invoice number, claimed by the order whose redemption it backs: once in the system."""

    __tablename__ = "voucher_invoices"

    invoice_number: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    order_id: Mapped[UUID] = mapped_column(sa.ForeignKey("voucher_orders.id"))
    created_at: Mapped[datetime] = mapped_column(Timestamp)


class VoucherHistory(Base):
    """Who changed what and why, for providers, vouchers and orders: append-only."""

    __tablename__ = "voucher_history"
    __table_args__ = (sa.Index(None, "subject_id", "at"),)

    id: Mapped[UUID] = mapped_column(primary_key=True)
    subject_kind: Mapped[str] = mapped_column(sa.String(20))
    subject_id: Mapped[UUID] = mapped_column()
    action: Mapped[str] = mapped_column(sa.String(40))
    from_state: Mapped[str | None] = mapped_column(sa.String(20))
    to_state: Mapped[str | None] = mapped_column(sa.String(20))
    actor: Mapped[str] = mapped_column(sa.String(100))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(Timestamp)
