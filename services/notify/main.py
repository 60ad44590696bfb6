"""The notify service: `create_app(settings)` for uvicorn and for tests."""

from __future__ import annotations

from fastapi import FastAPI

from services.notify.config import NotifySettings
from services.notify.delivery.worker import delivery_worker
from services.notify.inbox.endpoints import router as inbox_router
from services.notify.messages.endpoints import router as messages_router
from services.notify.models import Base, directory, events
from shared.auth.jwks import FetchDocument
from shared.clock import service_clock
from shared.pagination import strict_query
from shared.service_app import ServiceParts, create_service_app


def create_app(
    settings: NotifySettings | None = None, *, jwks_fetch: FetchDocument | None = None
) -> FastAPI:
    settings = settings or NotifySettings()
    parts = ServiceParts(
        settings=settings,
        title="SciPlan notify",
        description="Notifications: the inbox, mail, preferences and proof of delivery.",
        metadata=Base.metadata,
        events=events,
        directory=directory,
        routers=[strict_query(router) for router in (inbox_router, messages_router)],
        background=[delivery_worker],
    )
    app = create_service_app(parts, jwks_fetch=jwks_fetch)
    app.state.clock = service_clock(settings.test_clock_file)
    return app
