"""The funds service: `create_app(settings)` for uvicorn and for tests."""

from __future__ import annotations

from fastapi import FastAPI

from services.funds.access.handlers import HANDLERS as access_handlers
from services.funds.accounts.endpoints import router as accounts_router
from services.funds.cofunding.endpoints import router as co_funding_router
from services.funds.config import FundsSettings
from services.funds.drawdowns.endpoints import router as drawdowns_router
from services.funds.exports.endpoints import router as exports_router
from services.funds.fiscal.endpoints import router as fiscal_router
from services.funds.grants.endpoints import router as grants_router
from services.funds.grants.handlers import HANDLERS as grant_handlers
from services.funds.ledger.endpoints import router as transfers_router
from services.funds.ledger.sweep import expiry_sweeper
from services.funds.models import Base, directory, events
from services.funds.payments.endpoints import router as payments_router
from services.funds.reports.endpoints import router as reports_router
from services.funds.vouchers.endpoints import PUBLIC_ROUTES as VOUCHER_PUBLIC_ROUTES
from services.funds.vouchers.endpoints import router as vouchers_router
from services.funds.vouchers.sweep import voucher_expiry_sweeper
from shared.auth.jwks import FetchDocument
from shared.clock import service_clock
from shared.pagination import strict_query
from shared.service_app import EventSource, ServiceParts, create_service_app


def create_app(
    settings: FundsSettings | None = None, *, jwks_fetch: FetchDocument | None = None
) -> FastAPI:
    settings = settings or FundsSettings()
    parts = ServiceParts(
        settings=settings,
        title="SciPlan funds",
        description="Double-entry ledger, budgets, disbursements and innovation vouchers.",
        metadata=Base.metadata,
        events=events,
        directory=directory,
        routers=[
            strict_query(accounts_router),
            strict_query(transfers_router),
            strict_query(payments_router),
            strict_query(reports_router),
            strict_query(grants_router),
            strict_query(vouchers_router),
            strict_query(fiscal_router),
            strict_query(drawdowns_router),
            strict_query(co_funding_router),
            strict_query(exports_router),
        ],
        public_routes=VOUCHER_PUBLIC_ROUTES,
        background=[expiry_sweeper, voucher_expiry_sweeper],
        sources={
            "projects": EventSource(
                settings.projects_url,
                {**grant_handlers, **access_handlers},
            )
        },
    )
    app = create_service_app(parts, jwks_fetch=jwks_fetch)
    app.state.clock = service_clock(parts.settings.test_clock_file)
    app.state.credit_client = None  # made at the first question (tests put their own)
    return app
