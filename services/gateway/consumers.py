"""The events the gateway consumes: projects' feed, for the roles its decisions grant.

The feed is read with the gateway's own service token (`own_tokens.py`).
"""

from __future__ import annotations

import aiohttp
from opentelemetry.trace import Tracer

from services.gateway.config import GatewaySettings
from services.gateway.identity.admissions import admission_handlers
from services.gateway.models import events
from services.gateway.own_tokens import OwnServiceTokens
from shared.db import Database
from shared.events.consumer import EventConsumer
from shared.events.remote import http_feed


def projects_consumer(
    settings: GatewaySettings,
    tokens: OwnServiceTokens,
    db: Database,
    http: aiohttp.ClientSession,
    tracer: Tracer | None = None,
) -> EventConsumer:
    return EventConsumer(
        source="projects",
        fetch=http_feed(
            feed_url=f"{settings.projects_url.rstrip('/')}/internal/v1/events",
            audience="sciplan-projects",
            tokens=tokens,
            session=http,
        ),
        sessionmaker=db.sessionmaker,
        tables=events,
        handlers=admission_handlers(),
        tracer=tracer,
    )
