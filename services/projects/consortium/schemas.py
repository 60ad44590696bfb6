"""What the consortium API takes and gives."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.money import NonNegativeFen
from shared.validation_messages import InvalidValue

Work = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=5000)]


class PartWrite(BaseModel):
    """One organization's part: its share of the budget, its work, its co-PIs."""

    model_config = ConfigDict(extra="forbid")

    org_id: UUID
    budget_fen: NonNegativeFen
    work: Work = Field(description="the part of the work this organization undertakes")
    co_pi_ids: Annotated[
        list[UUID],
        Field(
            max_length=5,
            description="who leads this organization's part (课题负责人): people of that "
            "organization on the application's team; at least one for a participating "
            "organization",
        ),
    ] = Field(default_factory=list)


class ConsortiumWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parts: Annotated[list[PartWrite], Field(min_length=2, max_length=20)]

    @model_validator(mode="after")
    def _distinct(self) -> ConsortiumWrite:
        orgs = [p.org_id for p in self.parts]
        if len(set(orgs)) != len(orgs):
            raise InvalidValue("同一单位列出两次", "an organization is listed twice")
        people = [u for p in self.parts for u in p.co_pi_ids]
        if len(set(people)) != len(people):
            raise InvalidValue("同一人列为两个部分的负责人", "a person is named co-PI twice")
        return self


class PartRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    org_id: UUID
    org_name: str = Field(default="", description="empty while the directory has not heard of it")
    is_lead: bool
    budget_fen: int
    work: str
    co_pi_ids: list[UUID]
    endorsement: str | None = Field(
        description="pending, endorsed or declined; none for the lead organization, which "
        "endorses the whole application once submitted"
    )
    endorsed_by: UUID | None
    endorsed_at: datetime | None
    endorsed_version: int | None
    endorsement_reason: str | None
    set_by: UUID
    set_at: datetime


class ConsortiumRead(BaseModel):
    application_id: UUID
    lead_org_id: UUID
    budget_fen: int = Field(description="the application's requested budget")
    shares_fen: int = Field(description="the parts' shares added up")
    parts: list[PartRead]
    pending_org_ids: list[UUID] = Field(
        description="participating organizations that have not endorsed their part"
    )


class PartEndorsementWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["endorse", "decline"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""
