"""Payment orders as makers send them and checkers decide them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.funds.ledger.schemas import MAX_FEN, LedgerCode, ReasonCode, UserData
from services.funds.models.payments import PaymentOrderStatus

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=2000)]


class PaymentOrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(description="the client's id: sending it again has no second effect")
    debit_account_id: UUID = Field(description="the paying account (e.g. a program fund)")
    credit_account_id: UUID
    amount: Annotated[int, Field(strict=True, ge=1, le=MAX_FEN, description="fen")]
    ledger: LedgerCode
    code: ReasonCode
    purpose: Reason
    user_data: UserData = Field(default_factory=dict)

    @model_validator(mode="after")
    def _two_accounts(self) -> PaymentOrderCreate:
        if self.debit_account_id == self.credit_account_id:
            raise ValueError("the paying and the receiving account must differ")
        return self


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class PaymentOrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    hold_transfer_id: UUID
    resolution_transfer_id: UUID | None
    ledger: str
    debit_account_id: UUID
    credit_account_id: UUID
    amount: int
    code: str
    purpose: str
    user_data: dict[str, Any]
    status: PaymentOrderStatus
    maker_id: str
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    created_at: datetime
    # Who and which accounts, by name, so that a list needs no lookup per order.
    maker_name: str | None = Field(
        default=None, description="the maker's name (null: a service, or not yet known)"
    )
    decided_by_name: str | None = None
    debit_account_name: str | None = None
    credit_account_name: str | None = None
