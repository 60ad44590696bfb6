"""Co-funding as organizations declare and everyone reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.funds.grants.schemas import PositiveFen, Year
from services.funds.models.fiscal import CoFundingSource, CoFundingStatus
from shared.contracts.vocabulary import BudgetCategory


class CoFundingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(description="the client's id: sending it again has no second effect")
    category: BudgetCategory
    source: CoFundingSource
    amount_fen: PositiveFen
    fiscal_year: Year = Field(description="the fiscal year the money is put in")
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class CoFundingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    project_id: UUID
    category: BudgetCategory
    source: CoFundingSource
    amount_fen: int
    fiscal_year: int
    note: str | None
    status: CoFundingStatus
    declared_by: str
    declared_at: datetime
    confirmed_by: str | None
    confirmed_at: datetime | None
