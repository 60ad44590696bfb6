"""Grant money as clients send and read it, and the projects events as funds reads them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.funds.ledger.schemas import MAX_FEN
from services.funds.models.grants import GrantStatus, RecoveryStatus, TrancheShown
from services.funds.models.payments import PaymentOrderStatus
from shared.contracts.vocabulary import BudgetCategory, TrancheMilestone

ProgramCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_]{0,26}$")]
Year = Annotated[int, Field(strict=True, ge=2000, le=2100)]
QueryYear = Annotated[int, Field(ge=2000, le=2100)]  # query strings are text
PositiveFen = Annotated[int, Field(strict=True, ge=1, le=MAX_FEN, description="fen, > 0")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=2000)]
# An exact fraction rounded half-up to 4 decimal places ("0.3750"); null when nothing to divide.
Rate = Annotated[str | None, Field(description="exact ratio, 4 decimals, half-up; null if 0/0")]


# --- requests ----------------------------------------------------------------------------------


class EnvelopeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(description="the client's id: sending it again has no second effect")
    program_code: ProgramCode
    year: Year
    amount_fen: PositiveFen
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class PostSubsidyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(description="the client's id: sending it again has no second effect")
    amount_fen: PositiveFen
    reason: Text


class ExpenditureCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(description="the client's id: sending it again has no second effect")
    category: BudgetCategory
    amount_fen: PositiveFen
    description: Text
    spent_on: date


class RecoverySettle(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(description="the client's id: sending it again has no second effect")


# --- answers -----------------------------------------------------------------------------------


class Budget(BaseModel):
    equipment: int
    business: int
    labour: int
    indirect: int

    @property
    def total(self) -> int:
        return self.equipment + self.business + self.labour + self.indirect


class EnvelopeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    ledger: str
    program_code: str
    year: int
    amount_fen: int
    note: str | None
    transfer_id: UUID
    created_by: str
    created_at: datetime


class EnvelopeSummary(BaseModel):
    """A program's envelope for a year; amounts in fen."""

    program_code: str
    year: int
    ledger: str
    program_fund_account_id: UUID
    allocated: int = Field(description="envelopes allocated from the provincial budget")
    recovered: int = Field(description="unspent money recovered from frozen grants")
    paid_out: int = Field(description="tranches and post-subsidies paid (orders approved)")
    on_hold: int = Field(description="payment orders awaiting approval")
    committed: int = Field(description="tranches of active grants not paid yet (held or not)")
    available: int = Field(
        description="allocated + recovered - paid_out - committed - post-subsidies on hold;"
        " negative when the schedules promise more than the envelope holds"
    )
    envelopes: list[EnvelopeRead]


class TrancheRead(BaseModel):
    n: int
    name: str
    amount_fen: int
    on: TrancheMilestone
    status: TrancheShown
    payment_order_id: UUID | None
    attempts: int
    refusal_code: str | None = Field(
        description="why the latest attempt did not pay: a ledger code, or `payment_order.rejected`"
    )
    due_at: datetime | None


class PostSubsidyRead(BaseModel):
    id: UUID
    project_id: UUID
    amount_fen: int
    reason: str
    payment_order_id: UUID
    status: PaymentOrderStatus
    created_by: str
    created_at: datetime


class ExpenditureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    project_id: UUID
    category: BudgetCategory
    amount_fen: int
    description: str
    spent_on: date
    transfer_id: UUID
    created_by: str
    created_at: datetime


class RecoveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    amount_fen: int
    status: RecoveryStatus
    hold_transfer_id: UUID | None
    settle_transfer_id: UUID | None
    cause: str
    reason: str | None
    opened_at: datetime
    settled_by: str | None
    settled_at: datetime | None


class Party(BaseModel):
    id: UUID
    name: str
    credit_code: str | None = None


class ExecutionRates(BaseModel):
    """预算执行率: `of_released` = spent / released (the headline rate), `of_budget` = spent /
    budget."""

    of_released: Rate
    of_budget: Rate


class GrantSummary(BaseModel):
    project_id: UUID
    project_number: str
    program_code: str
    year: int
    org: Party
    pi: Party
    status: GrantStatus
    approved_budget_fen: int


class GrantRead(GrantSummary):
    """A grant; amounts in fen. `released` is all that reached the project's account (tranches
    and post-subsidies paid); `available` is what may still be spent."""

    ledger: str
    budget: Budget
    starts_on: date
    ends_on: date
    funds_account_id: UUID
    spent_account_id: UUID
    tranches: list[TrancheRead]
    post_subsidies: list[PostSubsidyRead]
    released: int
    spent: int
    spent_by_category: Budget
    available: int
    frozen: int = Field(description="unspent money held for recovery")
    recovery: RecoveryRead | None
    execution: ExecutionRates
    contracted_at: datetime
    accepted_at: datetime | None
    frozen_at: datetime | None
    frozen_cause: str | None


class ExecutionRow(BaseModel):
    program_code: str
    year: int
    grants: int
    budget: int
    released: int
    spent: int
    execution: ExecutionRates


class HistoryEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    actor: str
    at: datetime
    from_state: str | None
    to_state: str | None
    reason: str | None
    details: dict[str, Any]


# --- the projects service's events (contracts: services/projects/execution/events.py) ----------


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EventParty(_Payload):
    id: UUID
    name: str
    credit_code: str | None = None


class EventTranche(_Payload):
    name: str
    amount_fen: PositiveFen
    on: TrancheMilestone


class EventBudget(_Payload):
    equipment: Annotated[int, Field(ge=0)]
    business: Annotated[int, Field(ge=0)]
    labour: Annotated[int, Field(ge=0)]
    indirect: Annotated[int, Field(ge=0)]


class Contracted(_Payload):
    project_id: UUID
    project_number: str
    program_id: UUID
    program_code: ProgramCode
    year: Year
    org: EventParty
    pi: EventParty
    approved_budget_fen: Annotated[int, Field(ge=0)]
    budget: EventBudget
    tranches: list[EventTranche]
    starts_on: date
    ends_on: date

    @model_validator(mode="after")
    def _adds_up(self) -> Contracted:
        # The task book guarantees it; money is never paid on a schedule that does not.
        budget = self.budget
        total = budget.equipment + budget.business + budget.labour + budget.indirect
        if total != self.approved_budget_fen:
            raise ValueError("the budget does not add up to the approved budget")
        if sum(t.amount_fen for t in self.tranches) != self.approved_budget_fen:
            raise ValueError("the tranches do not add up to the approved budget")
        return self


class ProjectEvent(_Payload):
    project_id: UUID
    reason: str | None = None


class Changed(_Payload):
    project_id: UUID
    change_id: UUID
    kind: str
    details: dict[str, Any]
