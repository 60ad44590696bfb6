from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Tier = Literal["positive", "minor", "general", "serious", "severe", "especially_severe"]
Capacity = Literal["organization", "agency", "researcher", "expert"]
RestrictionKind = Literal["apply", "review", "voucher"]
RuleCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_-]{2,39}$")]
# Confirmed records of these tiers are listed publicly (信息公开) for the disclosure period.
DISCLOSED_TIERS: tuple[Tier, ...] = ("severe", "especially_severe")


class RuleTerms(BaseModel):
    """What a rule says; a change of terms makes a new version."""

    model_config = ConfigDict(extra="forbid")

    description_zh: Annotated[str, StringConstraints(min_length=2, max_length=2000)]
    description_en: Annotated[str, StringConstraints(min_length=2, max_length=2000)]
    applies_to: Annotated[list[Capacity], Field(min_length=1)]
    tier: Tier
    score_effect: Annotated[int, Field(ge=-100, le=20)]
    validity_months: Annotated[int, Field(ge=1, le=600)]
    restrictions: list[RestrictionKind] = Field(default_factory=list)
    restriction_years: Annotated[int | None, Field(ge=1, le=50)] = None
    restriction_permanent: bool = False
    repairable: bool
    repair_after_months: Annotated[int, Field(ge=0, le=600)] = 0
    legal_basis: Annotated[str, StringConstraints(min_length=2, max_length=1000)]

    @model_validator(mode="after")
    def _consistent(self) -> RuleTerms:
        if (self.tier == "positive") != (self.score_effect > 0):
            raise ValueError("positive rules, and only they, raise the score")
        if self.restrictions and not (self.restriction_years or self.restriction_permanent):
            raise ValueError("a restriction needs restriction_years or restriction_permanent")
        if not self.restrictions and (self.restriction_years or self.restriction_permanent):
            raise ValueError("restriction_years and restriction_permanent need restrictions")
        if self.restriction_years and self.restriction_permanent:
            raise ValueError("a restriction is either for some years or permanent")
        return self


class RuleCreate(RuleTerms):
    code: RuleCode


class RuleRead(RuleTerms):
    model_config = ConfigDict(from_attributes=True)

    code: str
    version: int
    is_current: bool
    created_at: datetime
