"""The inbox as a person reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    channel: str
    state: str
    attempts: int
    last_error: str | None
    accepted_at: datetime | None


class NotificationRead(BaseModel):
    id: UUID
    category: str
    template: str
    subject: str
    body: str | None = Field(
        description="none for a formal notice not yet delivered (open it to read it: "
        "POST .../{id}/open), and for a one-time link once it went"
    )
    params: dict[str, Any] = Field(description="empty while `body` is withheld")
    sealed: bool = Field(
        default=False,
        description="a formal notice not yet delivered: only its subject shows until it is "
        "opened (POST .../{id}/open), which is its delivery",
    )
    locale: str
    mandatory: bool
    formal: bool = Field(description="a formal notice: its delivery is evidence; acknowledge it")
    about_type: str | None
    about_id: str | None
    created_at: datetime
    read_at: datetime | None
    opened_at: datetime | None
    acknowledged_at: datetime | None
    delivered_at: datetime | None
    delivered_by: str | None
    deliveries: list[DeliveryRead] = Field(
        default_factory=list, description="mail and text messages, with any failure"
    )


class UnreadCount(BaseModel):
    unread: int
