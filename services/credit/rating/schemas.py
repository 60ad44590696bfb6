from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from services.credit.rating.model import Rating

Action = Literal["apply", "review", "voucher"]


class RestrictionRead(BaseModel):
    kind: str
    until: date | None = Field(description="last day is the day before; null: permanent")
    rule_code: str
    record_id: UUID


class ReasonRead(BaseModel):
    record_id: UUID
    rule_code: str
    tier: str
    contribution: int


class RatingRead(BaseModel):
    subject_id: UUID | None = Field(description="null for someone credit has never named")
    as_of: datetime
    level: str
    score: int
    restrictions: list[RestrictionRead]
    reasons: list[ReasonRead]
    next_change: date | None = Field(description="the next day the rating changes by itself")
    model_version: str

    @classmethod
    def of(cls, subject_id: UUID | None, rating: Rating) -> RatingRead:
        return cls(
            subject_id=subject_id,
            as_of=rating.as_of,
            level=rating.level,
            score=rating.score,
            restrictions=[
                RestrictionRead(
                    kind=r.kind, until=r.until, rule_code=r.rule_code, record_id=r.record_id
                )
                for r in rating.restrictions
            ],
            reasons=[
                ReasonRead(
                    record_id=r.record_id,
                    rule_code=r.rule_code,
                    tier=r.tier,
                    contribution=r.contribution,
                )
                for r in rating.reasons
            ],
            next_change=rating.next_change,
            model_version=rating.model_version,
        )


class BulkRatingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject_ids: Annotated[list[UUID], Field(min_length=1, max_length=1000)]
    as_of: AwareDatetime | None = None


class BulkRatingResponse(BaseModel):
    ratings: list[RatingRead]
    unknown: list[UUID]


class IneligibleReason(BaseModel):
    code: str
    rule_code: str | None = None
    until: date | None = None


class Eligibility(BaseModel):
    action: Action
    at: datetime
    subject_id: UUID | None
    eligible: bool
    level: str
    score: int
    reasons: list[IneligibleReason]
    model_version: str


class BulkEligibilityRequest(BaseModel):
    """Many people or organizations at once, by the ids the gateway gave them."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    at: AwareDatetime | None = None
    gateway_user_ids: Annotated[list[UUID], Field(max_length=1000)] = []
    gateway_org_ids: Annotated[list[UUID], Field(max_length=1000)] = []

    @model_validator(mode="after")
    def _some(self) -> BulkEligibilityRequest:
        total = len(self.gateway_user_ids) + len(self.gateway_org_ids)
        if not 1 <= total <= 1000:
            raise ValueError("give between 1 and 1,000 ids in all")
        return self


class BulkEligibility(BaseModel):
    action: Action
    at: datetime
    # Keyed by the gateway id given; someone credit has never named is eligible at level B.
    users: dict[UUID, Eligibility]
    organizations: dict[UUID, Eligibility]
