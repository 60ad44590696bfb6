"""Transfers as clients send them, and what the ledger answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    TypeAdapter,
    model_validator,
)

MAX_FEN = 2**63 - 1  # BIGINT
MAX_BATCH = 8190  # as in TigerBeetle: one request carries at most this many transfers
MAX_TIMEOUT_SECONDS = 366 * 24 * 3600

LedgerCode = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,31}$"),
    Field(description="ledger: a fiscal year or fund code; transfers stay inside one"),
]
ReasonCode = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_.]{0,39}$"),
    Field(description="why the money moves, e.g. `disbursement`, `voucher_redemption`"),
]
Amount = Annotated[
    int,
    Field(
        strict=True,
        ge=0,
        le=MAX_FEN,
        description="fen; > 0, except a post (0 = the whole hold) or a void (0 or the hold)",
    ),
]
UserValue = str | int | bool | None
UserData = Annotated[
    dict[Annotated[str, StringConstraints(max_length=40)], UserValue],
    Field(max_length=16, description="the caller's references: project id, voucher id ..."),
]


class TransferIn(BaseModel):
    """One transfer. Its id is the client's: sending it again has no second effect."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: UUID
    debit_account_id: UUID | None = None
    credit_account_id: UUID | None = None
    amount: Amount
    pending_id: UUID | None = None
    ledger: LedgerCode
    code: ReasonCode
    pending: StrictBool = False
    post_pending: StrictBool = False
    void_pending: StrictBool = False
    linked: StrictBool = Field(
        default=False, description="this transfer and the next succeed or fail together"
    )
    timeout: Annotated[int | None, Field(strict=True, ge=1, le=MAX_TIMEOUT_SECONDS)] = Field(
        default=None, description="seconds until a pending transfer expires (none: never)"
    )
    user_data: UserData = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> TransferIn:
        if self.pending + self.post_pending + self.void_pending > 1:
            raise ValueError("at most one of pending, post_pending and void_pending")
        if self.timeout is not None and not self.pending:
            raise ValueError("only a pending transfer has a timeout")
        if self.post_pending or self.void_pending:
            if self.pending_id is None:
                raise ValueError("a post or void names the pending transfer in pending_id")
            return self
        if self.pending_id is not None:
            raise ValueError("pending_id is only for posting or voiding a pending transfer")
        if self.debit_account_id is None or self.credit_account_id is None:
            raise ValueError("debit_account_id and credit_account_id are required")
        if self.debit_account_id == self.credit_account_id:
            raise ValueError("the debit and credit accounts must differ")
        if self.amount == 0:
            raise ValueError("the amount must be positive (at least 1 fen)")
        return self


TransferBatch = Annotated[list[TransferIn], Field(min_length=1, max_length=MAX_BATCH)]
batch_adapter: TypeAdapter[list[TransferIn]] = TypeAdapter(list[TransferIn])


class TransferResult(BaseModel):
    index: int
    id: UUID
    result: Literal["created", "exists", "failed"]
    # The status this transfer would have had alone (201, 200, 409, 422, 403).
    status: int
    code: str | None = None

    @property
    def ok(self) -> bool:
        return self.result != "failed"


class BatchResults(BaseModel):
    created: int
    exists: int
    failed: int
    results: list[TransferResult]


class TransferRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    debit_account_id: UUID
    credit_account_id: UUID
    amount: int
    pending_id: UUID | None
    ledger: str
    code: str
    kind: Literal["single", "pending", "post", "void", "expire"]
    linked: bool
    timeout_seconds: int | None
    expires_at: datetime | None
    user_data: dict[str, Any]
    created_at: datetime
    created_by: str


class TransferView(TransferRead):
    """A transfer; a pending one also says whether and how it was resolved."""

    hold_state: Literal["pending", "posted", "voided", "expired"] | None = None
    resolved_by: UUID | None = None
