"""Drawdowns as organizations request them and finance decides them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from services.funds.grants.schemas import PositiveFen, Text
from shared.contracts.vocabulary import BudgetCategory


class DrawdownShown(StrEnum):
    """A drawdown as its payment order stands (never stored: the order is the truth)."""

    awaiting_approval = "awaiting_approval"
    paid = "paid"
    rejected = "rejected"


class DrawdownCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: UUID = Field(description="the client's id: sending it again has no second effect")
    category: BudgetCategory
    amount_fen: PositiveFen
    purpose: Text


class DrawdownRead(BaseModel):
    id: UUID
    project_id: UUID
    project_number: str
    category: BudgetCategory
    amount_fen: int
    purpose: str
    status: DrawdownShown
    order_id: UUID
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
