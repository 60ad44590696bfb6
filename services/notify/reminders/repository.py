"""All SQL of reminders."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.models import Reminder, ReminderState
from shared.ids import uuid7


class ReminderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def schedule(
        self,
        *,
        kind: str,
        user_id: UUID,
        template: str,
        params: dict[str, Any],
        about_type: str,
        about_id: str,
        remind_at: datetime,
        source_event_id: UUID,
        now: datetime,
    ) -> None:
        """Scheduled (again, if it was cancelled); one already sent stays sent."""
        values = {
            "template": template,
            "params": params,
            "remind_at": remind_at,
            "source_event_id": source_event_id,
            "updated_at": now,
            "state": ReminderState.scheduled,
        }
        await self.session.execute(
            insert(Reminder)
            .values(
                id=uuid7(),
                kind=kind,
                user_id=user_id,
                about_type=about_type,
                about_id=about_id,
                **values,
            )
            .on_conflict_do_update(
                index_elements=[Reminder.kind, Reminder.about_id, Reminder.user_id],
                set_=values,
                where=Reminder.state != ReminderState.sent,
            )
        )

    async def cancel(self, kind: str, about_id: str, user_id: UUID, now: datetime) -> None:
        await self.session.execute(
            sa.update(Reminder)
            .where(
                Reminder.kind == kind,
                Reminder.about_id == about_id,
                Reminder.user_id == user_id,
                Reminder.state == ReminderState.scheduled,
            )
            .values(state=ReminderState.cancelled, updated_at=now)
        )

    async def claim_due(self, now: datetime, limit: int) -> Sequence[Reminder]:
        """Due reminders, locked (SKIP LOCKED: replicas take different ones)."""
        return (
            (
                await self.session.execute(
                    sa.select(Reminder)
                    .where(Reminder.state == ReminderState.scheduled, Reminder.remind_at <= now)
                    .order_by(Reminder.remind_at)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            .scalars()
            .all()
        )
