"""Payment orders: money out of program funds, made by one finance officer, approved by another."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.funds.models.base import Base, LedgerCode, Money, Timestamp
from shared.states import StateType, one_of


class PaymentOrderStatus(StrEnum):
    pending_approval = "pending_approval"
    approved = "approved"
    rejected = "rejected"


class PaymentOrder(Base):
    """A hold on the paying account until a second officer approves (post) or rejects (void)."""

    __tablename__ = "payment_orders"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", PaymentOrderStatus), name="status"),
        # Maker-checker, kept by the database too: the maker never approves their own order.
        sa.CheckConstraint(
            "status <> 'approved' OR (decided_by IS NOT NULL AND decided_by <> maker_id)",
            name="checker_is_not_maker",
        ),
        sa.CheckConstraint(
            "(status = 'pending_approval') = (decided_at IS NULL)", name="decided_when_closed"
        ),
        sa.Index(None, "status", "created_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)  # chosen by the client: idempotency
    hold_transfer_id: Mapped[UUID] = mapped_column(sa.ForeignKey("transfers.id"), unique=True)
    resolution_transfer_id: Mapped[UUID | None] = mapped_column(sa.ForeignKey("transfers.id"))
    ledger: Mapped[str] = mapped_column(LedgerCode)
    debit_account_id: Mapped[UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    credit_account_id: Mapped[UUID] = mapped_column(sa.ForeignKey("accounts.id"))
    amount: Mapped[int] = mapped_column(Money)
    code: Mapped[str] = mapped_column(sa.String(40))
    purpose: Mapped[str] = mapped_column(sa.Text)
    user_data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    status: Mapped[PaymentOrderStatus] = mapped_column(
        StateType(PaymentOrderStatus, 20), default=PaymentOrderStatus.pending_approval
    )
    maker_id: Mapped[str] = mapped_column(sa.String(100))
    decided_by: Mapped[str | None] = mapped_column(sa.String(100))
    decided_at: Mapped[datetime | None] = mapped_column(Timestamp)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
