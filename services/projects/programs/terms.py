"""What a program lays down as defaults and a call as its terms, validated the same way in both
places: who may apply, how much, the 限项, the credit level, the attachments and the review
template (criteria, weights, score ranges)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.contracts.vocabulary import CreditLevel
from shared.money import NonNegativeFen

OrgKind = Literal[
    "university", "research_institute", "enterprise", "hospital", "agency", "government", "other"
]
AttachmentKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
Year = Annotated[int, Field(ge=2000, le=2100)]
ProjectLimit = Annotated[int, Field(ge=1, le=20)]
ExpertCount = Annotated[int, Field(ge=1, le=15)]
NoticeDays = Annotated[int, Field(ge=1, le=60)]
OrgKinds = Annotated[list[OrgKind], Field(min_length=1, max_length=7)]
AttachmentKinds = Annotated[list[AttachmentKind], Field(max_length=30)]

WEIGHT_TOTAL = 100


class Criterion(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    weight: Annotated[int, Field(ge=1, le=WEIGHT_TOTAL)]
    min: Annotated[int, Field(ge=0, le=1000)]
    max: Annotated[int, Field(ge=1, le=1000)]

    @model_validator(mode="after")
    def _range(self) -> Criterion:
        if self.min >= self.max:
            raise ValueError(f"criterion {self.code}: min must be below max")
        return self


class ReviewTemplate(BaseModel):
    """How experts score an application: weighted criteria, each with its score range."""

    model_config = ConfigDict(extra="forbid")

    criteria: Annotated[list[Criterion], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _consistent(self) -> ReviewTemplate:
        codes = [c.code for c in self.criteria]
        if len(set(codes)) != len(codes):
            raise ValueError("criterion codes must be unique")
        total = sum(c.weight for c in self.criteria)
        if total != WEIGHT_TOTAL:
            raise ValueError(f"criterion weights must add up to {WEIGHT_TOTAL}, not {total}")
        return self


def refuse_repeats(values: Sequence[str] | None, what: str) -> None:
    if values is not None and len(set(values)) != len(values):
        raise ValueError(f"{what} must not repeat")


class Eligibility(BaseModel):
    """A program's defaults for its calls; a call may override each of them."""

    model_config = ConfigDict(extra="forbid")

    eligible_org_kinds: OrgKinds | None = None
    max_active_projects_per_pi: ProjectLimit | None = None
    min_credit_level: CreditLevel | None = None
    budget_min_fen: NonNegativeFen | None = None
    budget_max_fen: NonNegativeFen | None = None
    required_attachments: AttachmentKinds | None = None
    experts_per_application: ExpertCount | None = None
    notice_days: NoticeDays | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Eligibility:
        refuse_repeats(self.eligible_org_kinds, "eligible_org_kinds")
        refuse_repeats(self.required_attachments, "required_attachments")
        low, high = self.budget_min_fen, self.budget_max_fen
        if low is not None and high is not None and low > high:
            raise ValueError("budget_min_fen must not exceed budget_max_fen")
        return self
