from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.projects.applications.schemas import Keyword, SubjectCode
from services.projects.schema_types import Reason, ShanghaiTime
from shared.credit_code import is_valid_credit_code

Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
CreditCode = Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True)]


def _no_repeats(name: str, values: Sequence[str]) -> None:
    if len({v.casefold() for v in values}) != len(values):
        raise ValueError(f"{name}: an entry is listed twice")


def _check_code(code: str) -> None:
    if not is_valid_credit_code(code):
        raise ValueError(f"{code!r} is not a valid unified social credit code")


class Period(BaseModel):
    """When the expert can review, both days included."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    starts: date = Field(alias="from")
    ends: date = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.starts > self.ends:
            raise ValueError("availability: `from` is after `to`")
        return self


Availability = Annotated[list[Period], Field(max_length=20)]
Primary = Annotated[list[SubjectCode], Field(min_length=1, max_length=3)]
Secondary = Annotated[list[SubjectCode], Field(max_length=5)]
Keywords = Annotated[list[Keyword], Field(max_length=10)]


def check_subjects(
    primary: Sequence[str], secondary: Sequence[str], keywords: Sequence[str]
) -> None:
    """What a pool entry's fields must be (and an application to join the pool's)."""
    _no_repeats("primary_subjects", primary)
    _no_repeats("secondary_subjects", secondary)
    _no_repeats("keywords", keywords)
    if set(primary) & set(secondary):
        raise ValueError("a subject code is both primary and secondary")


class ExpertProfile(BaseModel):
    """What the agency records about an expert (name and organization come from the
    directory)."""

    model_config = ConfigDict(extra="forbid")

    title: Label = Field(description="职称, e.g. 研究员, 教授")
    region: Label
    primary_subjects: Primary
    secondary_subjects: Secondary = Field(default_factory=list)
    keywords: Keywords = Field(default_factory=list)
    max_load: Annotated[int, Field(ge=1, le=100, description="applications per call at most")] = 10
    availability: Availability = Field(default_factory=list)
    active: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> ExpertProfile:
        check_subjects(self.primary_subjects, self.secondary_subjects, self.keywords)
        return self


class ExpertPatch(BaseModel):
    """What experts keep up to date themselves."""

    model_config = ConfigDict(extra="forbid")

    availability: Availability | None = None
    keywords: Keywords | None = None
    secondary_subjects: Secondary | None = None

    @model_validator(mode="after")
    def _consistent(self) -> ExpertPatch:
        if self.keywords is not None:
            _no_repeats("keywords", self.keywords)
        if self.secondary_subjects is not None:
            _no_repeats("secondary_subjects", self.secondary_subjects)
        return self


class DeclarationCreate(BaseModel):
    """A person or an organization the expert must not review."""

    model_config = ConfigDict(extra="forbid")

    person_id: UUID | None = None
    credit_code: CreditCode | None = None
    reason: Reason

    @model_validator(mode="after")
    def _one_of(self) -> DeclarationCreate:
        if (self.person_id is None) == (self.credit_code is None):
            raise ValueError("give exactly one of person_id and credit_code")
        if self.credit_code is not None:
            _check_code(self.credit_code)
        return self


class DeclarationRead(BaseModel):
    id: UUID
    person_id: UUID | None
    person_name: str | None
    credit_code: str | None
    org_name: str | None
    reason: str
    declared_at: ShanghaiTime


class ExpertRead(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True)

    user_id: UUID
    name: str
    title: str
    org_id: UUID | None
    org_credit_code: str | None
    org_name: str | None
    region: str
    primary_subjects: list[str]
    secondary_subjects: list[str]
    keywords: list[str]
    max_load: int
    availability: list[Period]
    active: bool
    created_at: ShanghaiTime
    updated_at: ShanghaiTime
    declared_conflicts: list[DeclarationRead] | None = Field(
        None, description="in the detail view only"
    )


class OrganizationLinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parent_code: CreditCode
    child_code: CreditCode

    @model_validator(mode="after")
    def _valid(self) -> OrganizationLinkCreate:
        _check_code(self.parent_code)
        _check_code(self.child_code)
        if self.parent_code == self.child_code:
            raise ValueError("an organization is not its own parent")
        return self


class OrganizationLinkRead(BaseModel):
    parent_code: str
    parent_name: str | None
    child_code: str
    child_name: str | None
    declared_by: UUID
    declared_at: ShanghaiTime
