"""What the funds service does with the projects service's events (see intake.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.grants.intake import GrantIntake
from shared.events.consumer import Handler
from shared.events.outbox import Event


def _handler(effect: Callable[[GrantIntake, Event], Awaitable[None]]) -> Handler:
    async def handle(session: AsyncSession, event: Event) -> None:
        await effect(GrantIntake(session), event)

    return handle


HANDLERS: dict[str, Handler] = {
    "project.contracted": _handler(GrantIntake.contracted),
    "project.midterm_passed": _handler(GrantIntake.midterm_passed),
    "project.accepted": _handler(GrantIntake.accepted),
    "project.acceptance_failed": _handler(GrantIntake.stopped),
    "project.terminated": _handler(GrantIntake.stopped),
    "project.changed": _handler(GrantIntake.changed),
}
