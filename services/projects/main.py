"""The projects service: `create_app(settings)` for uvicorn and for tests."""

from __future__ import annotations

from fastapi import FastAPI

from services.projects.config import ProjectsSettings
from services.projects.models import Base, directory, events
from shared.auth.jwks import FetchDocument
from shared.service_app import ServiceParts, create_service_app


def create_app(
    settings: ProjectsSettings | None = None, *, jwks_fetch: FetchDocument | None = None
) -> FastAPI:
    parts = ServiceParts(
        settings=settings or ProjectsSettings(),
        title="SciPlan projects",
        description=(
            "Programs (5 basic + X special funds), calls, applications, review, decisions "
            "and the project lifecycle."
        ),
        metadata=Base.metadata,
        events=events,
        directory=directory,
    )
    return create_service_app(parts, jwks_fetch=jwks_fetch)
