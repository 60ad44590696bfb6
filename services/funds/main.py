"""The funds service: `create_app(settings)` for uvicorn and for tests."""

from __future__ import annotations

from fastapi import FastAPI

from services.funds.accounts.endpoints import router as accounts_router
from services.funds.config import FundsSettings
from services.funds.ledger.endpoints import router as transfers_router
from services.funds.ledger.sweep import expiry_sweeper
from services.funds.models import Base, directory, events
from services.funds.payments.endpoints import router as payments_router
from services.funds.reports.endpoints import router as reports_router
from shared.auth.jwks import FetchDocument
from shared.clock import utcnow
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
        routers=[accounts_router, transfers_router, payments_router, reports_router],
        background=[expiry_sweeper],
    )
    app = create_service_app(parts, jwks_fetch=jwks_fetch)
    app.state.clock = utcnow
    return app
