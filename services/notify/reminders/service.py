"""Reminders before (and at) a deadline, from the dates the events carry:
- a draft's call closing in a few days (cancelled when the application is submitted, scheduled
  again when it comes back);
- an expert's review due in two days, and overdue once its deadline passed (both cancelled when
  the score sheet is submitted, the invitation declined, or the expert taken off the review).

Each is one row per kind, subject and person: sent at most once, whatever the events repeat."""

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
REVIEW_DUE_SOON = "review_due_soon"
REVIEW_DUE_AHEAD = timedelta(days=2)
REVIEW_OVERDUE = "review_overdue"


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
        """Reminds the applicant of an unsubmitted application before its call closes."""
        await self._schedule(
            CALL_CLOSING,
            user_id=user_id,
            about=About("application", str(application_id)),
            remind_at=closes_at - CALL_CLOSING_AHEAD,
            params=params,
            source_event_id=source_event_id,
            now=now,
        )

    async def submitted(self, user_id: UUID, application_id: UUID, now: datetime) -> None:
        await self.repository.cancel(CALL_CLOSING, str(application_id), user_id, now)

    async def review_assigned(
        self,
        *,
        expert_id: UUID,
        assignment_id: UUID,
        due_at: datetime,
        params: dict[str, Any],
        source_event_id: UUID,
        now: datetime,
    ) -> None:
        """Reminds the expert two days before the review is due, and once when it is overdue."""
        about = About("assignment", str(assignment_id))
        for kind, remind_at in (
            (REVIEW_DUE_SOON, due_at - REVIEW_DUE_AHEAD),
            (REVIEW_OVERDUE, due_at),
        ):
            await self._schedule(
                kind,
                user_id=expert_id,
                about=about,
                remind_at=remind_at,
                params=params,
                source_event_id=source_event_id,
                now=now,
            )

    async def review_done(self, expert_id: UUID, assignment_id: UUID, now: datetime) -> None:
        """Submitted, declined, or the expert was taken off it: nothing more is due from them."""
        for kind in (REVIEW_DUE_SOON, REVIEW_OVERDUE):
            await self.repository.cancel(kind, str(assignment_id), expert_id, now)

    async def _schedule(
        self,
        kind: str,
        *,
        user_id: UUID,
        about: About,
        remind_at: datetime,
        params: dict[str, Any],
        source_event_id: UUID,
        now: datetime,
    ) -> None:
        # None when its moment has already passed: a last-minute draft or assignment would be
        # reminded at once of what it was just told.
        if remind_at <= now:
            return
        await self.repository.schedule(
            kind=kind,
            user_id=user_id,
            template=kind,
            params=params,
            about_type=about.type,
            about_id=about.id,
            remind_at=remind_at,
            source_event_id=source_event_id,
            now=now,
        )

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
