"""What the gateway hears back when it asks for a direct message."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel


class DirectMessageAccepted(BaseModel):
    id: UUID
    idempotency_key: str
