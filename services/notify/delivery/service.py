"""What an attempt to deliver came to: accepted (a formal notice mailed to a verified address is
then delivered, once), refused for good, or to be tried again after a pause that doubles with
each attempt (until the last)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.config import NotifySettings
from services.notify.models import FINAL_STATES, Channel, DeliveryState
from services.notify.notifications.repository import NotificationRepository
from services.notify.notifications.service import Notifier

# What last_error may hold of a server's answer.
MAX_ERROR_LENGTH = 1000


@dataclass(frozen=True)
class Outcome:
    accepted: bool
    permanent: bool = False
    error: str | None = None


ACCEPTED = Outcome(accepted=True)


def backoff(settings: NotifySettings, attempts: int) -> timedelta:
    seconds = settings.retry_first_seconds * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.retry_max_seconds))


class DeliveryRecorder:
    def __init__(self, session: AsyncSession, settings: NotifySettings) -> None:
        self.session = session
        self.settings = settings
        self.repository = NotificationRepository(session)

    async def record(
        self, delivery_id: UUID, attempt: int, outcome: Outcome, now: datetime
    ) -> None:
        delivery = await self.repository.leased_delivery(delivery_id, attempt)
        if delivery is None:  # the lease ran out and another worker took it over
            return
        notification = await self.repository.locked(delivery.notification_id)
        if outcome.accepted:
            delivery.state = DeliveryState.accepted
            delivery.accepted_at = now
            # Mail accepted for an address the person never proved theirs reached someone, not
            # necessarily them: a formal notice sent there is delivered only by opening it.
            if delivery.channel is Channel.mail and await self.repository.is_verified(
                notification.user_id, Channel.mail, delivery.address
            ):
                await Notifier(self.session).delivered(notification, "mail", now)
        elif outcome.permanent or delivery.attempts >= self.settings.max_attempts:
            delivery.state = DeliveryState.failed_permanently
        else:
            delivery.state = DeliveryState.queued
            delivery.next_attempt_at = now + backoff(self.settings, delivery.attempts)
        if outcome.error is not None:
            delivery.last_error = outcome.error[:MAX_ERROR_LENGTH]
        if notification.sensitive and delivery.state in FINAL_STATES:
            # A one-time link has no business staying in the database once it went (or never
            # will): only the subject and the delivery's facts remain.
            notification.params = {}
            notification.body = None
        await self.session.flush()
