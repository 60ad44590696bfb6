"""Tables of the funds service, all in the PostgreSQL schema `funds`."""

from __future__ import annotations

from services.funds.models.base import Base, directory, events
from services.funds.models.ledger import (
    Account,
    IdempotencyKey,
    PendingExpiry,
    Transfer,
    TransferFailure,
)
from services.funds.models.payments import PaymentOrder

__all__ = [
    "Account",
    "Base",
    "IdempotencyKey",
    "PaymentOrder",
    "PendingExpiry",
    "Transfer",
    "TransferFailure",
    "directory",
    "events",
]
