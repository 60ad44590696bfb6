"""The delivery worker: takes due deliveries (leased, so replicas share the work and a crash
only delays), sends each outside any transaction, then records what happened."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from fastapi import FastAPI

from services.notify.config import NotifySettings
from services.notify.delivery.senders import (
    LoggingSmsSender,
    MailSender,
    PermanentFailure,
    SmsSender,
    TemporaryFailure,
    mail_message,
    mail_sender,
)
from services.notify.delivery.service import ACCEPTED, DeliveryRecorder, Outcome
from services.notify.models import Channel
from services.notify.notifications.repository import NotificationRepository
from shared.periodic import every

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    delivery_id: UUID
    attempt: int
    channel: Channel
    address: str
    subject: str
    body: str


def senders(app: FastAPI) -> tuple[MailSender, SmsSender]:
    """The app's senders, made on first use (tests and operators may set their own)."""
    if getattr(app.state, "mail_sender", None) is None:
        app.state.mail_sender = mail_sender(app.state.settings)
    if getattr(app.state, "sms_sender", None) is None:
        app.state.sms_sender = LoggingSmsSender()
    return app.state.mail_sender, app.state.sms_sender


async def deliver_due(app: FastAPI, now: datetime) -> int:
    """One pass: every delivery due at `now` is tried once. Returns how many were tried."""
    settings: NotifySettings = app.state.settings
    sessionmaker = app.state.db.sessionmaker
    lease_until = now + timedelta(seconds=settings.sending_lease_seconds)
    async with sessionmaker() as session:
        claimed = await NotificationRepository(session).claim_due(
            now, lease_until, settings.delivery_batch, settings.max_attempts
        )
        attempts = [
            Attempt(
                delivery_id=delivery.id,
                attempt=delivery.attempts,
                channel=delivery.channel,
                address=delivery.address,
                subject=notification.subject,
                body=notification.body or "",
            )
            for delivery, notification in claimed
        ]
        await session.commit()
    mail, sms = senders(app)
    for attempt in attempts:
        outcome = await _send(settings, mail, sms, attempt)
        async with sessionmaker() as session:
            await DeliveryRecorder(session, settings).record(
                attempt.delivery_id, attempt.attempt, outcome, app.state.clock()
            )
            await session.commit()
    return len(attempts)


async def _send(
    settings: NotifySettings, mail: MailSender, sms: SmsSender, attempt: Attempt
) -> Outcome:
    try:
        if attempt.channel is Channel.mail:
            await mail.send(
                mail_message(
                    settings,
                    delivery_id=attempt.delivery_id,
                    to=attempt.address,
                    subject=attempt.subject,
                    body=attempt.body,
                )
            )
        else:
            await sms.send(attempt.address, attempt.subject)
    except PermanentFailure as exc:
        log.warning("delivery %s refused for good: %s", attempt.delivery_id, exc)
        return Outcome(accepted=False, permanent=True, error=str(exc))
    except TemporaryFailure as exc:
        log.info("delivery %s to be tried again: %s", attempt.delivery_id, exc)
        return Outcome(accepted=False, error=str(exc))
    except Exception as exc:
        # A message that cannot even be made (an address the mail library refuses, a bug)
        # fails alone and for good: the rest of the pass still goes out. The log names the
        # delivery, never what it says: an error's text may quote the address or the subject.
        log.error("delivery %s failed for good: %s", attempt.delivery_id, type(exc).__name__)
        return Outcome(accepted=False, permanent=True, error=f"not sent: {type(exc).__name__}")
    return ACCEPTED


async def delivery_worker(app: FastAPI, stop: asyncio.Event) -> None:
    """Runs `deliver_due` every `delivery_poll_seconds` until the app stops."""
    settings: NotifySettings = app.state.settings

    async def full_batch() -> bool:  # a full batch: more may be due
        return await deliver_due(app, app.state.clock()) >= settings.delivery_batch

    await every(lambda: settings.delivery_poll_seconds, full_batch, stop, "delivery pass")
