"""Tables of the funds service, all in the PostgreSQL schema `funds`."""

from __future__ import annotations

# grants and vouchers: imported so that their tables join Base.metadata (migrations, tests)
from services.funds.models import fiscal, grants, vouchers  # noqa: F401
from services.funds.models.base import Base, directory, events, scope
from services.funds.models.ledger import (
    Account,
    IdempotencyKey,
    PendingExpiry,
    Transfer,
    TransferFailure,
)
from services.funds.models.payments import PaymentOrder
from services.funds.models.programs import ProgramCode

__all__ = [
    "Account",
    "Base",
    "IdempotencyKey",
    "PaymentOrder",
    "PendingExpiry",
    "ProgramCode",
    "Transfer",
    "TransferFailure",
    "directory",
    "events",
    "scope",
]
