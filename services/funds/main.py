"""The funds service: `create_app(settings)` for uvicorn and for tests."""

from __future__ import annotations

from fastapi import FastAPI

from services.funds.config import FundsSettings
from services.funds.models import Base, directory, events
from shared.auth.jwks import FetchDocument
from shared.service_app import ServiceParts, create_service_app


def create_app(
    settings: FundsSettings | None = None, *, jwks_fetch: FetchDocument | None = None
) -> FastAPI:
    parts = ServiceParts(
        settings=settings or FundsSettings(),
        title="SciPlan funds",
        description="Double-entry ledger, budgets, disbursements and innovation vouchers.",
        metadata=Base.metadata,
        events=events,
        directory=directory,
    )
    return create_service_app(parts, jwks_fetch=jwks_fetch)
