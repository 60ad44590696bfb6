"""Money across fiscal years: carry-over rules, year-end closes, drawdowns, co-funding.

The money itself moves in the ledger (a year-end close and a drawdown are transfers); these
tables say under which rule a year was closed, which request a drawdown order pays, and what an
organization declared it adds of its own (自筹/配套, not public money: recorded, never in the
ledger).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.funds.models.base import Base, Money, Timestamp
from services.funds.models.grants import CATEGORIES
from shared.states import StateType, one_of


class CarryOverRule(StrEnum):
    """What a year-end close does with unspent money (结转结余)."""

    carry_all = "carry_all"  # everything into the next fiscal year
    carry_share = "carry_share"  # up to a percentage; the rest back to the treasury
    return_all = "return_all"  # everything back to the treasury


class CoFundingSource(StrEnum):
    self_raised = "self_raised"  # 自筹: the organization's own money
    matching = "matching"  # 配套: a local government's or a partner's matching money


class CoFundingStatus(StrEnum):
    declared = "declared"
    confirmed = "confirmed"


class CarryOverRuleVersion(Base):
    """A program's carry-over rule as set at one moment; the newest one applies (append-only)."""

    __tablename__ = "carry_over_rules"
    __table_args__ = (
        sa.CheckConstraint(one_of("rule", CarryOverRule), name="rule"),
        sa.CheckConstraint(
            "(rule = 'carry_share') = (share_percent IS NOT NULL)"
            " AND (share_percent IS NULL OR share_percent BETWEEN 0 AND 100)",
            name="share_for_carry_share",
        ),
        sa.Index(None, "program_code", "set_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)
    program_code: Mapped[str] = mapped_column(sa.String(40))
    rule: Mapped[CarryOverRule] = mapped_column(StateType(CarryOverRule, 12))
    share_percent: Mapped[int | None] = mapped_column(sa.SmallInteger)
    reason: Mapped[str] = mapped_column(sa.Text)
    set_by: Mapped[str] = mapped_column(sa.String(100))
    set_at: Mapped[datetime] = mapped_column(Timestamp)


class YearEndClose(Base):
    """The close of one program's fiscal year: once per program and year, never changed."""

    __tablename__ = "year_end_closes"
    __table_args__ = (
        sa.UniqueConstraint("program_code", "year"),
        sa.CheckConstraint(one_of("rule", CarryOverRule), name="rule"),
        sa.CheckConstraint("carried_fen >= 0 AND returned_fen >= 0", name="amounts_non_negative"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)  # the client's: idempotency
    program_code: Mapped[str] = mapped_column(sa.String(40))
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    next_ledger: Mapped[str] = mapped_column(sa.String(32))
    rule: Mapped[CarryOverRule] = mapped_column(StateType(CarryOverRule, 12))
    share_percent: Mapped[int | None] = mapped_column(sa.SmallInteger)
    rule_id: Mapped[UUID] = mapped_column(sa.ForeignKey("carry_over_rules.id"))
    carried_fen: Mapped[int] = mapped_column(Money)
    returned_fen: Mapped[int] = mapped_column(Money)
    # One line per program ledger and per project swept: amounts and the transfers made.
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    # The ledger's last transfer when the books of the year were closed: what a project's
    # final accounts count for this year is what came before it (and after the last close).
    cut_seq: Mapped[int] = mapped_column(sa.BigInteger)
    closed_by: Mapped[str] = mapped_column(sa.String(100))
    closed_at: Mapped[datetime] = mapped_column(Timestamp)


class GrantDrawdown(Base):
    """An organization's request for its project's carried-over money (用款申请), paid by a
    payment order out of the project's carry-over account: a finance officer approves."""

    __tablename__ = "grant_drawdowns"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint(one_of("category", CATEGORIES), name="category"),
        sa.Index(None, "project_id", "requested_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)  # the client's: idempotency
    project_id: Mapped[UUID] = mapped_column(sa.ForeignKey("grants.project_id"))
    category: Mapped[str] = mapped_column(sa.String(12))
    amount_fen: Mapped[int] = mapped_column(Money)
    purpose: Mapped[str] = mapped_column(sa.Text)
    order_id: Mapped[UUID] = mapped_column(sa.ForeignKey("payment_orders.id"), unique=True)
    requested_by: Mapped[str] = mapped_column(sa.String(100))
    requested_at: Mapped[datetime] = mapped_column(Timestamp)


class GrantCoFunding(Base):
    """Money an organization adds to a project's budget of its own or from a partner."""

    __tablename__ = "grant_co_funding"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint(one_of("category", CATEGORIES), name="category"),
        sa.CheckConstraint(one_of("source", CoFundingSource), name="source"),
        sa.CheckConstraint(one_of("status", CoFundingStatus), name="status"),
        sa.CheckConstraint(
            "(status = 'confirmed') = (confirmed_at IS NOT NULL)", name="confirmed_when"
        ),
        # The organization's second person confirms: never the one who declared.
        sa.CheckConstraint(
            "confirmed_by IS NULL OR confirmed_by <> declared_by", name="confirmer_is_not_declarer"
        ),
        sa.Index(None, "project_id", "declared_at"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True)  # the client's: idempotency
    project_id: Mapped[UUID] = mapped_column(sa.ForeignKey("grants.project_id"))
    category: Mapped[str] = mapped_column(sa.String(12))
    source: Mapped[CoFundingSource] = mapped_column(StateType(CoFundingSource, 12))
    fiscal_year: Mapped[int] = mapped_column(sa.SmallInteger)  # the year the money is put in
    amount_fen: Mapped[int] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(sa.Text)
    status: Mapped[CoFundingStatus] = mapped_column(StateType(CoFundingStatus, 12))
    declared_by: Mapped[str] = mapped_column(sa.String(100))
    declared_at: Mapped[datetime] = mapped_column(Timestamp)
    confirmed_by: Mapped[str | None] = mapped_column(sa.String(100))
    confirmed_at: Mapped[datetime | None] = mapped_column(Timestamp)
