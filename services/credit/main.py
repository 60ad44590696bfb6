"""The credit service: `create_app(settings)` for uvicorn and for tests."""

from __future__ import annotations

from fastapi import FastAPI

from services.credit.config import CreditSettings
from services.credit.models import Base, directory, events
from shared.auth.jwks import FetchDocument
from shared.service_app import ServiceParts, create_service_app


def create_app(
    settings: CreditSettings | None = None, *, jwks_fetch: FetchDocument | None = None
) -> FastAPI:
    parts = ServiceParts(
        settings=settings or CreditSettings(),
        title="SciPlan credit",
        description="Research credit records, ratings, due process and audited queries.",
        metadata=Base.metadata,
        events=events,
        directory=directory,
    )
    return create_service_app(parts, jwks_fetch=jwks_fetch)
