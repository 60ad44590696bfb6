"""Voucher programs, providers, enterprises, vouchers and orders as clients send and read them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from services.funds.ledger.schemas import MAX_FEN
from services.funds.models.vouchers import OrderState, ProviderReview, ProviderStatus, VoucherStatus

Fen = Annotated[int, Field(strict=True, ge=1, le=MAX_FEN, description="fen, > 0")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Category = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_]{0,39}$")
]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=2000)]


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


# Upper-cased before the pattern is checked (StringConstraints checks the pattern first).
CreditCode = Annotated[str, BeforeValidator(_upper), StringConstraints(pattern=r"^[0-9A-Z]{18}$")]
# The actual controller: a controlling company's credit code or an opaque id of a person.
Controller = Annotated[
    str, StringConstraints(strip_whitespace=True, to_upper=True, min_length=2, max_length=64)
]
ProgramCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Z0-9]{2,20}$"),
    Field(description="2 to 20 capital letters or digits; the ledger is CQ-<year>-<code>"),
]

RunningProgram = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Z][A-Z0-9]{1,11}$"),
    Field(
        description="the code of the program (projects service) that runs the scheme: its "
        "managers admit and suspend providers and oversee the scheme's vouchers and orders, "
        "and evaluators engaged on it read them; without one, only finance, audit and admin "
        "staff see the scheme"
    ),
]


class ProgramCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(description="the client's id: sending it again has no second effect")
    code: ProgramCode
    name: Name
    year: Annotated[int, Field(ge=2000, le=2100)]
    budget_fen: Fen
    voucher_share_bp: Annotated[
        int, Field(ge=4000, le=7000, description="the voucher's share of a contract, 5000 = 50%")
    ]
    cap_per_group_fen: Fen = Field(description="per actual-controller group and program")
    validity_days: Annotated[int, Field(ge=1, le=366)]
    categories: Annotated[list[Category], Field(min_length=1, max_length=50)]
    managing_agency: Name
    run_by_program: RunningProgram | None = None

    @field_validator("categories")
    @classmethod
    def _distinct(cls, categories: list[str]) -> list[str]:
        return sorted(set(categories))


class ProgramRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    code: str
    name: str
    year: int
    ledger: str
    budget_fen: int
    voucher_share_bp: int
    cap_per_group_fen: int
    validity_days: int
    categories: list[str]
    managing_agency: str
    run_by_program: str | None
    treasury_account_id: UUID
    pool_account_id: UUID
    created_at: datetime


class RelatedParty(BaseModel):
    model_config = ConfigDict(extra="forbid")

    credit_code: CreditCode
    relation: Literal["investment", "subordination", "ownership"]


class OfferedService(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    category: Category
    price_fen: Fen


class ProviderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID
    services: Annotated[list[OfferedService], Field(min_length=1, max_length=200)]
    actual_controller: Controller | None = Field(
        default=None, description="none: the organization controls itself"
    )
    related_parties: Annotated[list[RelatedParty], Field(max_length=200)] = []


class ProviderDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class ProviderRejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ProviderRead(BaseModel):
    id: UUID
    org_id: UUID
    name: str
    credit_code: str
    services: list[OfferedService]
    actual_controller: str
    related_parties: list[RelatedParty]
    status: ProviderStatus
    review_state: ProviderReview
    reviewed_at: datetime | None
    review_reason: str | None
    publicity_ends_at: datetime | None
    suspended: bool
    suspension_reason: str | None
    accepts_vouchers: bool
    created_at: datetime


class ProviderNotice(BaseModel):
    """A provider in its publicity period, as the public reads it."""

    id: UUID
    name: str
    credit_code: str
    services: list[OfferedService]
    publicity_ends_at: datetime


class EnterpriseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID
    actual_controller: Controller | None = Field(
        default=None, description="none: the organization controls itself"
    )
    related_parties: Annotated[list[RelatedParty], Field(max_length=200)] = []


class EnterpriseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    org_id: UUID
    name: str
    credit_code: str
    actual_controller: str
    related_parties: list[RelatedParty]
    created_at: datetime


class VoucherIssue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID
    amount_fen: Fen


class VoucherRead(BaseModel):
    id: UUID
    number: str
    program_id: UUID
    enterprise_id: UUID
    amount_fen: int
    account_id: UUID
    status: VoucherStatus
    valid_until: date
    expires_at: datetime
    issued_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    # From the voucher's account: what may still be ordered, what orders hold, what was paid
    # to providers (what went back to the pool is none of these).
    available_fen: int
    held_fen: int
    spent_fen: int


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID
    voucher_id: UUID
    provider_id: UUID
    service_name: Name
    service_category: Category
    contract_amount_fen: Fen
    voucher_amount_fen: Fen


class Redemption(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invoice_number: Annotated[
        str, BeforeValidator(_upper), StringConstraints(pattern=r"^[0-9A-Z-]{8,40}$")
    ]
    invoice_amount_fen: Fen
    contract_ref: Reference
    self_payment_ref: Reference
    delivery_proof_ref: Reference


class OrderDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason | None = None


class OrderRejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class FraudReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    facts: Reason


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    voucher_id: UUID
    provider_id: UUID
    enterprise_id: UUID
    program_id: UUID
    service_name: str
    service_category: str
    contract_amount_fen: int
    voucher_amount_fen: int
    payable_account_id: UUID
    hold_transfer_id: UUID
    state: OrderState
    created_at: datetime
    invoice_number: str | None
    invoice_amount_fen: int | None
    contract_ref: str | None
    self_payment_ref: str | None
    delivery_proof_ref: str | None
    redemption_decided_by: str | None
    fraud_confirmed_by: str | None
    fraud_facts: str | None


class HistoryEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    action: str
    from_state: str | None
    to_state: str | None
    actor: str
    reason: str | None
    at: datetime


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
