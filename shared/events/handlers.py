"""What a consumer does with each event type: a `Subscription` pairs the event's contract with
the function that applies it, which receives the payload parsed with that contract."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.base import EventContract
from shared.contracts.feed import EventV1

P = TypeVar("P", bound=EventContract, covariant=True)
C = TypeVar("C", bound=EventContract)


class CannotApply(Exception):
    """Raised by a handler for an event it cannot apply (a project it never heard of, a grant
    already frozen): the consumer parks the event with this message, and the events of the same
    aggregate after it wait, until an operator retries or discards it."""


class UnfitPayload(CannotApply):
    """The payload does not fit the event's contract."""


def problems_of(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'payload'}: {error['msg']}"
        for error in exc.errors()[:5]
    )


@dataclass(frozen=True)
class Received(Generic[P]):
    """An event as a handler gets it: the envelope's facts and the parsed payload."""

    event_id: UUID
    event_type: str
    aggregate_type: str
    aggregate_id: str
    occurred_at: datetime
    payload: P


Apply = Callable[[AsyncSession, Received[C]], Awaitable[None]]


@dataclass(frozen=True)
class Subscription(Generic[C]):
    contract: type[C]
    apply: Apply[C]

    @property
    def event_type(self) -> str:
        return self.contract.event_type

    async def handle(self, session: AsyncSession, event: EventV1) -> None:
        """Parses the payload (`UnfitPayload` if it does not fit) and applies it."""
        try:
            payload = self.contract.model_validate(event.payload)
        except ValidationError as exc:
            raise UnfitPayload(
                f"payload does not fit {self.contract.__name__}: {problems_of(exc)}"
            ) from exc
        received = Received(
            event_id=event.event_id,
            event_type=event.event_type,
            aggregate_type=event.aggregate_type,
            aggregate_id=event.aggregate_id,
            occurred_at=event.occurred_at,
            payload=payload,
        )
        await self.apply(session, received)


Handlers = Mapping[str, Subscription[Any]]


def subscriptions(*subscribed: Subscription[Any]) -> dict[str, Subscription[Any]]:
    """The subscriptions by event type (each type once)."""
    by_type: dict[str, Subscription[Any]] = {}
    for subscription in subscribed:
        if subscription.event_type in by_type:
            raise ValueError(f"{subscription.event_type} is subscribed twice")
        by_type[subscription.event_type] = subscription
    return by_type
