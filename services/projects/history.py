"""Writing and reading the append-only history of state changes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.models import Transition


async def record(
    session: AsyncSession,
    *,
    entity: str,
    entity_id: UUID,
    action: str,
    actor: str,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    application_id: UUID | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Write one transition in the caller's transaction (it commits or fails with the change)."""
    session.add(
        Transition(
            entity=entity,
            entity_id=entity_id,
            application_id=application_id,
            action=action,
            from_state=from_state,
            to_state=to_state,
            actor_id=actor,
            reason=reason,
            details=details or {},
        )
    )
    await session.flush()


async def record_all(session: AsyncSession, transitions: Sequence[Transition]) -> None:
    """Write many transitions at once (one flush, sent in batches), e.g. one per application
    when an assignment run is applied."""
    session.add_all(transitions)
    await session.flush()


async def story(
    session: AsyncSession, application_id: UUID, *, offset: int, limit: int
) -> Sequence[Transition]:
    """Everything that happened to an application and the project it became, in order."""
    return (
        await session.scalars(
            sa.select(Transition)
            .where(Transition.application_id == application_id)
            .order_by(Transition.id)
            .offset(offset)
            .limit(limit)
        )
    ).all()
