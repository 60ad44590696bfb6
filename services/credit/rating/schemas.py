from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from services.credit.rating.model import Rating
from shared.contracts import credit as contract
from shared.contracts.vocabulary import CreditLevel, EligibilityAction

# The eligibility question other services ask is a contract between services.
Action = EligibilityAction
IneligibleReason = contract.IneligibleReason
Eligibility = contract.EligibilityV1
BulkEligibilityRequest = contract.BulkEligibilityRequestV1
BulkEligibility = contract.BulkEligibilityV1


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
    level: CreditLevel
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
