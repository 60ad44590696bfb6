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
from shared.events.consumer import Handler
from shared.events.outbox import Event
from shared.program_scope import scope_handlers


async def _remember(session: AsyncSession, payload: dict[str, Any]) -> None:
    program_id = payload.get("program_id")
    code = payload.get("code") or payload.get("program_code")
    if program_id and code:
        await AccessRepository(session).remember_code(UUID(str(program_id)), str(code))


async def program_created(session: AsyncSession, event: Event) -> None:
    await _remember(session, event.payload)


def _remembering(apply: Handler) -> Handler:
    async def handle(session: AsyncSession, event: Event) -> None:
        await apply(session, event)
        await _remember(session, event.payload)

    return handle


HANDLERS: dict[str, Handler] = {
    **{kind: _remembering(apply) for kind, apply in scope_handlers(scope).items()},
    "program.created": program_created,
}
