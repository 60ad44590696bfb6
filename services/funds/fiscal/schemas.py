"""Carry-over rules, year-end closes and final accounts as clients send and read them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.funds.grants.schemas import ProgramCode, Text, Year
from services.funds.models.fiscal import CarryOverRule
from shared.contracts.vocabulary import BudgetCategory


class CarryOverRuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rule: CarryOverRule = Field(
        description="carry_all: all unspent money into the next year; carry_share: up to "
        "share_percent of it, the rest back to the treasury; return_all: all of it back"
    )
    share_percent: Annotated[int, Field(strict=True, ge=0, le=100)] | None = Field(
        default=None, description="only with carry_share: the most carried over, in percent"
    )
    reason: Text

    @model_validator(mode="after")
    def _share_with_carry_share(self) -> CarryOverRuleSet:
        if (self.rule == CarryOverRule.carry_share) != (self.share_percent is not None):
            raise ValueError("share_percent is given with carry_share, and only with it")
        return self


class CarryOverRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    program_code: str
    rule: CarryOverRule
    share_percent: int | None
    reason: str
    set_by: str
    set_at: datetime


class YearEndCloseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(description="the client's id: sending it again has no second effect")
    program_code: ProgramCode
    year: Year


class CloseTransfer(BaseModel):
    id: UUID
    code: str
    amount_fen: int
    ledger: str


class CloseLine(BaseModel):
    """What the close did to one program ledger's free money or one project's unspent money."""

    kind: Literal["program", "project"]
    ledger: str
    project_id: UUID | None = None
    project_number: str | None = None
    unspent_fen: int
    carried_fen: int
    returned_fen: int
    transfers: list[CloseTransfer]


class YearEndCloseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    program_code: str
    year: int
    next_ledger: str
    rule: CarryOverRule
    share_percent: int | None
    carried_fen: int
    returned_fen: int
    lines: list[CloseLine]
    cut_seq: int = Field(description="the last transfer counted in the closed year's books")
    closed_by: str
    closed_at: datetime


class CategoryAccounts(BaseModel):
    category: BudgetCategory
    budgeted_fen: int
    received_fen: int = Field(description="receipts of the year, by budget share")
    drawn_fen: int = Field(description="drawdowns of carried-over money paid in the year")
    spent_fen: int
    carried_over_fen: int | None = Field(
        description="by the category's unspent budget; null while the year is open"
    )
    self_raised_fen: int = Field(description="confirmed 自筹 put in this year")
    matching_fen: int = Field(description="confirmed 配套 put in this year")


class FinalAccounts(BaseModel):
    """A project's final accounts (决算) for one fiscal year; amounts in fen."""

    project_id: UUID
    project_number: str
    program_code: str
    ledger: str
    year: int
    closed: bool = Field(description="false: the year is still open and the figures so far")
    opening_fen: int = Field(description="carried in from the year before")
    received_fen: int = Field(description="tranches and post-subsidies paid in the year")
    drawn_fen: int
    spent_fen: int
    returned_fen: int = Field(description="given back to the treasury at the year-end close")
    recovered_fen: int = Field(description="recovered on termination (追回)")
    closing_fen: int = Field(description="unspent at the end of the year (or now)")
    carried_over_fen: int | None = Field(description="into the next year; null while open")
    self_raised_fen: int
    matching_fen: int
    categories: list[CategoryAccounts]
