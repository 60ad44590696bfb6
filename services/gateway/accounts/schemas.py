from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from services.gateway.identity.schemas import (
    MAX_PASSWORD_LENGTH,
    DisplayName,
    Email,
    Password,
    Phone,
)
from shared.validation_messages import InvalidValue

OneTimeToken = Annotated[str, StringConstraints(min_length=16, max_length=100)]


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[str, Field(min_length=1, max_length=MAX_PASSWORD_LENGTH)]
    new_password: Password


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=254),
        Field(description="the username or the account's e-mail address"),
    ]


class PasswordResetConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: OneTimeToken
    new_password: Password


class EmailVerificationConfirm(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: OneTimeToken


class Accepted(BaseModel):
    """The same answer whoever was asked for: whether a mail goes out is not told."""

    status: Literal["accepted"] = "accepted"
    detail: str = (
        "If an account matches and has an e-mail address, a link to set a new password was "
        "sent to it."
    )


class ProfileUpdate(BaseModel):
    """What a person changes of themselves; absent fields stay. A new e-mail address takes
    effect once confirmed from the mail sent to it and needs the current password (reset
    links go to that address); `phone: null` removes the number."""

    model_config = ConfigDict(extra="forbid")

    display_name: DisplayName | None = None
    phone: Phone | None = None
    email: Email | None = None
    current_password: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=MAX_PASSWORD_LENGTH,
            description="required with `email`; a wrong one counts as a failed login",
        ),
    ] = None

    @model_validator(mode="after")
    def _password_for_address(self) -> ProfileUpdate:
        if self.email is not None and self.current_password is None:
            raise InvalidValue(
                "更改邮箱地址需要提供当前密码（current_password）",
                "current_password is required to change the e-mail address",
            )
        return self


class Profile(BaseModel):
    id: UUID
    username: str
    display_name: str
    email: str | None
    phone: str | None
    # An address waiting for its owner's confirmation (the link sent to it).
    pending_email: str | None
    org_id: UUID | None
    roles: list[str]
