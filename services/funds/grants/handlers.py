"""What the funds service does with the projects service's events (see intake.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.funds.grants.intake import GrantIntake
from shared.contracts.projects import (
    ProjectAcceptanceFailedV1,
    ProjectAcceptedV1,
    ProjectChangedV1,
    ProjectContractedV1,
    ProjectMidtermPassedV1,
    ProjectTerminatedV1,
)
from shared.events.handlers import C, Received, Subscription, subscriptions


def _on(
    contract: type[C], effect: Callable[[GrantIntake, Received[C]], Awaitable[None]]
) -> Subscription[C]:
    async def handle(session: AsyncSession, event: Received[C]) -> None:
        await effect(GrantIntake(session), event)

    return Subscription(contract, handle)


HANDLERS: dict[str, Subscription[Any]] = subscriptions(
    _on(ProjectContractedV1, GrantIntake.contracted),
    _on(ProjectMidtermPassedV1, GrantIntake.midterm_passed),
    _on(ProjectAcceptedV1, GrantIntake.accepted),
    _on(ProjectAcceptanceFailedV1, GrantIntake.stopped),
    _on(ProjectTerminatedV1, GrantIntake.stopped),
    _on(ProjectChangedV1, GrantIntake.changed),
)
