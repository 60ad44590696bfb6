"""The credit service: `create_app(settings)` for uvicorn and for tests."""

from __future__ import annotations

from fastapi import FastAPI

from services.credit.config import CreditSettings
from services.credit.files.endpoints import router as files_router
from services.credit.files.service import ME_DETAILS
from services.credit.inbound import credit_handlers, delivery_handlers
from services.credit.models import Base, directory, events, scope
from services.credit.queries.endpoints import router as queries_router
from services.credit.rating.endpoints import router as rating_router
from services.credit.rating.sweep import rating_sweeper
from services.credit.records.endpoints import router as records_router
from services.credit.rules.endpoints import router as rules_router
from services.credit.subjects.endpoints import router as subjects_router
from shared.auth.jwks import FetchDocument
from shared.clock import service_clock
from shared.pagination import strict_query
from shared.program_scope import scope_handlers
from shared.service_app import EventSource, ServiceParts, create_service_app

# Public by design: the disclosure list (信息公开) shows confirmed severe records to anyone.
PUBLIC_ROUTES = frozenset({("GET", "/v1/public/records")})


def create_app(
    settings: CreditSettings | None = None, *, jwks_fetch: FetchDocument | None = None
) -> FastAPI:
    settings = settings or CreditSettings()
    handlers = credit_handlers(settings)
    sources = {
        "projects": EventSource(settings.projects_url, {**handlers, **scope_handlers(scope)}),
        "funds": EventSource(settings.funds_url, handlers),
    }
    if settings.notify_url is not None:
        sources["notify"] = EventSource(settings.notify_url, delivery_handlers(settings))
    parts = ServiceParts(
        settings=settings,
        title="SciPlan credit",
        description="Research credit records, ratings, due process and audited queries.",
        metadata=Base.metadata,
        events=events,
        directory=directory,
        # A query parameter a route does not declare is refused, never silently ignored.
        routers=[
            strict_query(router)
            for router in (
                rules_router,
                files_router,
                subjects_router,
                records_router,
                rating_router,
                queries_router,
            )
        ],
        public_routes=PUBLIC_ROUTES,
        background=[rating_sweeper],
        me_details=ME_DETAILS,
        sources=sources,
    )
    app = create_service_app(parts, jwks_fetch=jwks_fetch)
    app.state.clock = service_clock(parts.settings.test_clock_file)
    return app
