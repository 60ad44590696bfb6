"""The HTTP event feed a service offers to the others (service accounts only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from shared.auth.dependencies import ServicePrincipal
from shared.db import SessionDep
from shared.events.outbox import EventFeedPage, read_feed
from shared.events.tables import EventTables


def event_feed_router(tables: EventTables) -> APIRouter:
    router = APIRouter(prefix="/internal/v1", tags=["events"])

    @router.get(
        "/events", response_model=EventFeedPage, summary="Ordered feed of this service's events"
    )
    async def events(
        request: Request,
        session: SessionDep,
        caller: ServicePrincipal,
        after: Annotated[
            str, Query(max_length=60, description="position of the last event read")
        ] = "",
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> EventFeedPage:
        # Where each reader stands, for the outbox-backlog metric.
        request.app.state.feed_readers[caller.subject] = after
        return await read_feed(session, tables, after=after, limit=limit)

    return router
