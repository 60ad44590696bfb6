"""What funds keeps of the projects service's programs: the code each one goes by."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.access.repository import AccessRepository
from shared.events.consumer import Handler
from shared.events.outbox import Event


async def program_created(session: AsyncSession, event: Event) -> None:
    payload = event.payload
    if not payload.get("program_id") or not payload.get("code"):
        return  # nothing to join a code to
    await AccessRepository(session).remember_code(
        UUID(str(payload["program_id"])), str(payload["code"])
    )


HANDLERS: dict[str, Handler] = {"program.created": program_created}
