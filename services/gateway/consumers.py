"""The events the gateway consumes: projects' feed, for the roles its decisions grant.

The feed is read with the gateway's own service token (`own_tokens.py`), from the projects
replicas in turn (every replica serves the same feed, from the database).
"""

from __future__ import annotations

import aiohttp
from opentelemetry.trace import Tracer

from services.gateway.identity.admissions import admission_handlers
from services.gateway.models import events
from services.gateway.own_tokens import OwnServiceTokens
from services.gateway.replicas import Replicas
from shared.db import Database
from shared.events.consumer import EventConsumer
from shared.events.outbox import EventFeedPage
from shared.events.remote import http_feed


def projects_consumer(
    projects: Replicas,
    tokens: OwnServiceTokens,
    db: Database,
    http: aiohttp.ClientSession,
    tracer: Tracer | None = None,
) -> EventConsumer:
    feeds = {
        base: http_feed(
            feed_url=f"{base}/internal/v1/events",
            audience="sciplan-projects",
            tokens=tokens,
            session=http,
        )
        for base in projects.urls
    }

    async def fetch(position: str, limit: int) -> EventFeedPage:
        _, page = await projects.ask("GET", lambda base: feeds[base](position, limit))
        return page

    return EventConsumer(
        source="projects",
        fetch=fetch,
        sessionmaker=db.sessionmaker,
        tables=events,
        handlers=admission_handlers(),
        tracer=tracer,
    )
