"""The event feed every service offers the others (`GET /internal/v1/events`): each event's
envelope, its payload as the producer's event contract wrote it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from shared.contracts.base import Contract


class EventV1(Contract):
    event_id: UUID
    event_type: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]
    occurred_at: datetime
    request_id: str | None = None
    position: str


class EventFeedPageV1(Contract):
    events: list[EventV1]
    next_position: str


class EventV2(EventV1):
    """V1 and the trace the event was published in, so that applying it joins that trace."""

    trace_context: dict[str, str] | None = Field(
        default=None,
        description=(
            "W3C trace context (`traceparent`, `tracestate`) of the span that published the "
            "event; absent when the producer was not tracing"
        ),
    )


class EventFeedPageV2(Contract):
    events: list[EventV2]
    next_position: str
