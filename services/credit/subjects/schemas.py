from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints, model_validator

from services.credit.subjects.national_id import is_valid_national_id
from shared.credit_code import is_valid_credit_code

SubjectKind = Literal["organization", "agency", "person"]
Relation = Literal["employed_by", "legal_representative_of"]


def _credit_code(value: str) -> str:
    value = value.strip().upper()
    if not is_valid_credit_code(value):
        raise ValueError("not a valid unified social credit code")
    return value


def _national_id(value: str) -> str:
    value = value.strip().upper()
    if not is_valid_national_id(value):
        raise ValueError("not a valid resident ID number (18 characters, check digit)")
    return value


CreditCode = Annotated[str, AfterValidator(_credit_code)]
NationalId = Annotated[str, AfterValidator(_national_id)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class SubjectRef(BaseModel):
    """Names a subject; it is created the first time it is named."""

    model_config = ConfigDict(extra="forbid")

    kind: SubjectKind
    name: Name
    credit_code: CreditCode | None = None
    gateway_org_id: UUID | None = None
    gateway_user_id: UUID | None = None
    national_id: NationalId | None = None

    @model_validator(mode="after")
    def _keys_fit_the_kind(self) -> SubjectRef:
        if self.kind == "person":
            if self.credit_code or self.gateway_org_id:
                raise ValueError("a person has no credit code or organization id")
            if not (self.gateway_user_id or self.national_id):
                raise ValueError("a person is named by gateway_user_id or national_id")
        else:
            if self.gateway_user_id or self.national_id:
                raise ValueError("an organization or agency has no user id or national id")
            if not self.credit_code:
                raise ValueError("an organization or agency is named by its credit_code")
        return self


class SubjectRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    kind: str
    name: str
    credit_code: str | None
    gateway_org_id: UUID | None
    gateway_user_id: UUID | None
    national_id_masked: str | None
    created_at: datetime


class LinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    unit_id: UUID
    relation: Relation


class LinkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    person_id: UUID
    unit_id: UUID
    relation: str
