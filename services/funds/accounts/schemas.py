"""Accounts as clients open and read them; statements with running balances."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from services.funds.ledger.schemas import LedgerCode, ReasonCode, UserData

OwnerKind = Literal[
    "province",
    "program",
    "special_fund",
    "project",
    "organization",
    "enterprise",
    "provider",
    "external",
]


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID | None = Field(
        default=None, description="the client's id: sending it again returns the same account"
    )
    ledger: LedgerCode
    code: ReasonCode = Field(description="what the account is for, e.g. `program_fund`")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    owner_kind: OwnerKind
    owner_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    program: Annotated[str, StringConstraints(min_length=1, max_length=40)] | None = None
    fiscal_year: Annotated[int, Field(ge=2000, le=2100)] | None = None
    debits_must_not_exceed_credits: StrictBool = False
    credits_must_not_exceed_debits: StrictBool = False
    requires_approval: StrictBool = Field(
        default=False, description="money out only through approved payment orders"
    )
    user_data: UserData = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_limit(self) -> AccountCreate:
        if self.debits_must_not_exceed_credits and self.credits_must_not_exceed_debits:
            raise ValueError(
                "debits_must_not_exceed_credits and credits_must_not_exceed_debits exclude"
                " each other"
            )
        return self


class Balances(BaseModel):
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int

    @property
    def net_posted(self) -> int:
        return self.credits_posted - self.debits_posted


class AccountRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    ledger: str
    code: str
    name: str
    owner_kind: str
    owner_id: str
    program: str | None
    fiscal_year: int | None
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    requires_approval: bool
    user_data: dict[str, Any]
    created_at: datetime
    created_by: str
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    # credits_posted - debits_posted
    net_posted: int = 0
    # What may still leave (or enter) an account with a limit, holds deducted.
    available: int | None = None
    # Balances as of this moment (from the transfers), when asked for a past date.
    as_of: datetime | None = None

    @model_validator(mode="after")
    def _derived(self) -> AccountRead:
        self.net_posted = self.credits_posted - self.debits_posted
        if self.debits_must_not_exceed_credits:
            self.available = self.credits_posted - self.debits_posted - self.debits_pending
        elif self.credits_must_not_exceed_debits:
            self.available = self.debits_posted - self.credits_posted - self.credits_pending
        else:
            self.available = None
        return self


class StatementLine(BaseModel):
    transfer_id: UUID
    kind: str
    code: str
    side: Literal["debit", "credit"]
    amount: int
    counterparty_account_id: UUID
    pending_id: UUID | None
    pending_change: int
    posted_change: int
    created_at: datetime
    created_by: str
    user_data: dict[str, Any]
    # The account's totals right after this transfer (the running balance).
    debits_pending: int
    debits_posted: int
    credits_pending: int
    credits_posted: int
    net_posted: int


class Statement(BaseModel):
    account_id: UUID
    period_from: datetime | None
    period_to: datetime | None
    opening: Balances
    items: list[StatementLine]
    next_cursor: str | None = None
