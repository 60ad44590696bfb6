from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.projects.programs.terms import Eligibility, ReviewTemplate, Year
from services.projects.schema_types import Reason, ShanghaiTime
from shared.money import NonNegativeFen

ProgramCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9]{1,11}$")]
# Names of programs and agencies: at least two characters (no one-character fund names).
ProgramName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
ProgramKind = Literal["basic", "special"]


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)

    year: Year
    amount_fen: NonNegativeFen


class ProgramCreate(BaseModel):
    """A special fund ("X"); the five basic programs are seeded and permanent."""

    model_config = ConfigDict(extra="forbid")

    code: ProgramCode
    name_zh: ProgramName
    name_en: ProgramName
    parent_id: UUID | None = None
    managing_agency: ProgramName
    active_from_year: Year
    active_to_year: Year | None = None
    envelopes: Annotated[
        list[Envelope],
        Field(max_length=100, description="admins only (the budget authority); managers leave out"),
    ] = Field(default_factory=list)
    eligibility: Eligibility = Field(default_factory=Eligibility)
    review_template: ReviewTemplate | None = None

    @model_validator(mode="after")
    def _years(self) -> ProgramCreate:
        if self.active_to_year is not None and self.active_to_year < self.active_from_year:
            raise ValueError("active_to_year must not be before active_from_year")
        years = [e.year for e in self.envelopes]
        if len(set(years)) != len(years):
            raise ValueError("one envelope per year")
        for year in years:
            if not active_in(year, self.active_from_year, self.active_to_year):
                raise ValueError(f"envelope year {year} is outside the active years")
        return self


def active_in(year: int, first: int, last: int | None) -> bool:
    return first <= year and (last is None or year <= last)


class EnvelopeSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount_fen: NonNegativeFen


class Retirement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ProgramRef(BaseModel):
    id: UUID
    code: str


class Retired(BaseModel):
    retired: bool
    at: ShanghaiTime | None = None
    reason: str | None = None


class ProgramRead(BaseModel):
    id: UUID
    code: str
    kind: ProgramKind
    name_zh: str
    name_en: str
    parent: ProgramRef | None
    managing_agency: str
    active_from_year: int
    active_to_year: int | None
    retired: Retired
    envelopes: list[Envelope]
    eligibility: dict[str, Any]
    review_template: dict[str, Any] | None
    created_at: ShanghaiTime


class ProgramManagerRead(BaseModel):
    user_id: UUID
    display_name: str | None
    granted_by: UUID | None
    granted_at: ShanghaiTime
