"""Telling someone something: the notification, once, and its deliveries on the channels the
person has (an address) and wants (preferences; a mandatory category's mail always goes).

A formal notice's first delivery (mail to a verified address accepted by the server, or opened
in the inbox) is recorded once and published as `notice.delivered` in notify's own outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.catalog import is_mandatory, template
from services.notify.contracts_out import delivered_event
from services.notify.models import Channel, Delivery, Notification, events
from services.notify.notifications.repository import NotificationRepository
from services.notify.rendering import render
from shared.contracts.notices import DeliveryChannel
from shared.events.outbox import publish
from shared.ids import uuid7


@dataclass(frozen=True)
class About:
    """What a notification is about, as its producer names the aggregate."""

    type: str
    id: str


# How far back a person's first mail address catches up on what they were told without one.
UNMAILED_CATCH_UP = timedelta(days=1)


class Notifier:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repository = NotificationRepository(session)

    async def notify(
        self,
        *,
        user_id: UUID,
        template_name: str,
        params: Mapping[str, Any],
        dedupe_key: str,
        now: datetime,
        about: About | None = None,
        source_event_id: UUID | None = None,
        locale: str = "zh",
        to_address: str | None = None,
    ) -> Notification:
        """The notification under `dedupe_key`: made now with its deliveries, or the one made
        before (a redelivered event, a repeated request) untouched."""
        existing = await self.repository.by_dedupe_key(dedupe_key)
        if existing is not None:
            return existing
        chosen = template(template_name)
        # Every text greets its reader by the name the directory knows (none: no name).
        person = await self.repository.person(user_id)
        params = {"display_name": person.display_name if person else "", **params}
        subject, body = render(template_name, locale, params)
        made = await self.repository.add_once(
            Notification(
                id=uuid7(),
                user_id=user_id,
                category=chosen.category,
                template=template_name,
                params=params,
                locale=locale,
                subject=subject,
                body=body,
                mandatory=is_mandatory(chosen.category),
                formal=chosen.formal,
                sensitive=chosen.sensitive,
                about_type=about.type if about else None,
                about_id=about.id if about else None,
                source_event_id=source_event_id,
                dedupe_key=dedupe_key,
                created_at=now,
            )
        )
        if made is None:  # made meanwhile by a concurrent transaction
            found = await self.repository.by_dedupe_key(dedupe_key)
            assert found is not None
            return found
        await self._queue(made, now, to_address)
        return made

    async def _queue(
        self,
        notification: Notification,
        now: datetime,
        to_address: str | None,
        only: Channel | None = None,
    ) -> None:
        if to_address is not None:
            addresses = {Channel.mail: to_address}
        else:
            addresses = await self.repository.addresses(notification.user_id)
        chosen = {
            (p.category, p.channel): p.enabled
            for p in await self.repository.preferences(notification.user_id)
        }
        for channel, address in addresses.items():
            if only is not None and channel is not only:
                continue
            # Mail is on unless switched off; SMS only when switched on. A mandatory category's
            # mail and a direct message always go.
            default = channel is Channel.mail
            wanted = chosen.get((notification.category, channel), default)
            forced = channel is Channel.mail and (notification.mandatory or to_address is not None)
            if wanted or forced:
                await self.repository.add_delivery(
                    Delivery(
                        notification_id=notification.id,
                        channel=channel,
                        address=address,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )

    async def address_arrived(self, user_id: UUID, now: datetime) -> None:
        """Mails what was told lately while the person had no mail address: the gateway
        publishes a new user (who is told at once) before the user's address."""
        address = (await self.repository.addresses(user_id)).get(Channel.mail)
        if address is None:
            return
        for notification in await self.repository.unmailed(user_id, now - UNMAILED_CATCH_UP):
            await self._queue(notification, now, None, only=Channel.mail)

    async def delivered(
        self, notification: Notification, channel: DeliveryChannel, at: datetime
    ) -> bool:
        """Records the first delivery of a formal notice and publishes it; False when it was
        delivered before (or is no formal notice)."""
        if not notification.formal or notification.delivered_at is not None:
            return False
        notification.delivered_at = at
        notification.delivered_by = channel
        await self.session.flush()
        await publish(self.session, events, delivered_event(notification, channel, at))
        return True
