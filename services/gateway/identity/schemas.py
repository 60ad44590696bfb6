from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from shared.auth.roles import Role
from shared.credit_code import is_valid_credit_code
from shared.validation_messages import InvalidValue


class OrganizationKind(StrEnum):
    university = "university"
    research_institute = "research_institute"
    enterprise = "enterprise"
    hospital = "hospital"
    agency = "agency"  # intermediary / project-management agency
    government = "government"
    other = "other"


def _credit_code(value: str) -> str:
    value = value.strip().upper()
    if not is_valid_credit_code(value):
        raise ValueError("not a valid unified social credit code (18 characters, check digit)")
    return value


def _person_role(value: Role) -> Role:
    if value is Role.service:
        raise ValueError("the service role belongs to service accounts only")
    return value


# One "@", something on each side, a dot in the domain, no spaces: the mail server is the
# real check (the address is used only once its owner proved to read it).
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]+$")
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,30}$")


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value):
        raise InvalidValue("应为有效的电子邮件地址", "not a valid e-mail address")
    return value


def _phone(value: str) -> str:
    value = value.strip()
    if not _PHONE.match(value):
        raise InvalidValue(
            "应为有效的电话号码（数字，可带 + 和空格）",
            "not a valid phone number (digits, optionally + and spaces)",
        )
    return value


CreditCode = Annotated[str, AfterValidator(_credit_code)]
Email = Annotated[str, StringConstraints(max_length=254), AfterValidator(_email)]
Phone = Annotated[str, StringConstraints(max_length=32), AfterValidator(_phone)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
PersonRole = Annotated[Role, AfterValidator(_person_role)]
Username = Annotated[
    str, StringConstraints(min_length=3, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
]


MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200
# The password policy, the same wherever a password is set (creation, change, reset, operator).
Password = Annotated[str, Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)]


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    credit_code: CreditCode
    kind: OrganizationKind
    parent_id: UUID | None = None


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    credit_code: str
    kind: str
    parent_id: UUID | None
    created_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Password
    display_name: DisplayName
    # An address the administrator vouches for (from a checked registration); a person who
    # changes it later proves the new one by mail.
    email: Email | None = None
    org_id: UUID | None = None
    roles: Annotated[list[PersonRole], Field(default_factory=list, max_length=10)]


class UserUpdate(BaseModel):
    """Fields an admin may change; absent ones stay as they are."""

    model_config = ConfigDict(extra="forbid")

    display_name: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = None
    # False ends the person's access: no login, no refresh (their sessions are revoked).
    is_active: bool | None = None


class UserRead(BaseModel):
    id: UUID
    username: str
    display_name: str
    email: str | None
    phone: str | None
    org_id: UUID | None
    roles: list[str]
    is_active: bool
    created_at: datetime
