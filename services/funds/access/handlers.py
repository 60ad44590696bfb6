"""What funds keeps of the projects service's programs: who manages or evaluates which
(`shared.program_scope`), and the code each program goes by.

Funds names programs by code (ledgers `{code}-{year}`, envelopes, voucher schemes); every event
that names a program by id also gives its code, so the join is learnt from whichever comes
first (the basic programs, seeded by a migration, are never `program.created`).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.access.repository import AccessRepository
from services.funds.models import scope
from shared.contracts.base import EventContract
from shared.contracts.programs import ProgramCreatedV1
from shared.events.handlers import Received, Subscription, subscriptions
from shared.program_scope import scope_handlers


def _program_of(payload: EventContract) -> tuple[UUID | None, str | None]:
    """The (program id, code) an event names, where it names both."""
    program_id = getattr(payload, "program_id", None)
    code = getattr(payload, "code", None) or getattr(payload, "program_code", None)
    return program_id, code


async def _remember(session: AsyncSession, payload: EventContract) -> None:
    program_id, code = _program_of(payload)
    if program_id is not None and code:
        await AccessRepository(session).remember_code(program_id, code)


async def program_created(session: AsyncSession, event: Received[ProgramCreatedV1]) -> None:
    await _remember(session, event.payload)


def _remembering(subscription: Subscription[Any]) -> Subscription[Any]:
    async def handle(session: AsyncSession, event: Received[Any]) -> None:
        await subscription.apply(session, event)
        await _remember(session, event.payload)

    return Subscription(subscription.contract, handle)


HANDLERS: dict[str, Subscription[Any]] = subscriptions(
    *(_remembering(subscription) for subscription in scope_handlers(scope).values()),
    Subscription(ProgramCreatedV1, program_created),
)
