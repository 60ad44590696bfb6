from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, StringConstraints

from services.gateway.identity.schemas import (
    CreditCode,
    DisplayName,
    Email,
    OrganizationKind,
    Phone,
)


class RequestStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    declined = "declined"


class OrganizationRequestCreate(BaseModel):
    """An organization asks to be registered (no login: it has no account yet)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    credit_code: CreditCode
    kind: OrganizationKind
    contact_name: DisplayName
    contact_email: Email
    contact_phone: Phone | None = None


class Decline(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=1000)]


class OrganizationRequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    name: str
    credit_code: str
    kind: str
    contact_name: str
    contact_email: str
    contact_phone: str | None
    status: RequestStatus
    reason: str | None
    decided_by: UUID | None
    decided_at: datetime | None
    organization_id: UUID | None
    created_at: datetime


class OrganizationRequestReceived(BaseModel):
    """What the asker is told, the same whatever the code: neither whether the organization is
    registered already nor whether others asked for it (no login: anyone may ask)."""

    status: Literal["received"] = "received"
    detail: str = (
        "The request was received. An administrator checks it and answers at the contact address."
    )
