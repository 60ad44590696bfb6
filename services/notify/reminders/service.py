"""Reminders before a deadline, from the dates the events carry: a draft's call closing in a few
days (cancelled when the application is submitted, scheduled again when it comes back)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.models import ReminderState
from services.notify.notifications.service import About, Notifier
from services.notify.reminders.repository import ReminderRepository

CALL_CLOSING = "call_closing"
CALL_CLOSING_AHEAD = timedelta(days=3)


class Reminders:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = ReminderRepository(session)
        self.notifier = Notifier(session)

    async def call_closing(
        self,
        *,
        user_id: UUID,
        application_id: UUID,
        closes_at: datetime,
        params: dict[str, Any],
        source_event_id: UUID,
        now: datetime,
    ) -> None:
        """Reminds the applicant of an unsubmitted application before its call closes; not
        when the reminder's moment has already passed (a last-minute draft needs none)."""
        remind_at = closes_at - CALL_CLOSING_AHEAD
        if remind_at <= now:
            return
        await self.repository.schedule(
            kind=CALL_CLOSING,
            user_id=user_id,
            template="call_closing",
            params=params,
            about_type="application",
            about_id=str(application_id),
            remind_at=remind_at,
            source_event_id=source_event_id,
            now=now,
        )

    async def submitted(self, user_id: UUID, application_id: UUID, now: datetime) -> None:
        await self.repository.cancel(CALL_CLOSING, str(application_id), user_id, now)

    async def send_due(self, now: datetime, limit: int) -> int:
        """Makes the notification of every reminder due at `now`; returns how many."""
        due = await self.repository.claim_due(now, limit)
        for reminder in due:
            await self.notifier.notify(
                user_id=reminder.user_id,
                template_name=reminder.template,
                params={**reminder.params},
                dedupe_key=f"reminder:{reminder.id}",
                now=now,
                about=About(reminder.about_type, reminder.about_id),
                source_event_id=reminder.source_event_id,
            )
            reminder.state = ReminderState.sent
            reminder.updated_at = now
        await self.repository.session.flush()
        return len(due)
