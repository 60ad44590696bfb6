"""A person's own notifications: list, read one, open (a formal notice's first opening delivers
it), mark read, acknowledge. Another person's notification does not exist for them (404).

A formal notice not delivered yet shows its subject only: whoever wants to read what it says
opens it (a deliberate POST), and that is its delivery. Listing or reading it (a prefetch, a
retried GET) records nothing and so reveals nothing of its content."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.contracts_out import acknowledged_event
from services.notify.exceptions import NotFormal, NotificationNotFound
from services.notify.inbox.schemas import DeliveryRead, NotificationRead
from services.notify.models import Delivery, Notification, events
from services.notify.notifications.repository import NotificationRepository
from services.notify.notifications.service import Notifier
from shared.events.outbox import publish
from shared.pagination import Page, PageParams, page_of, start_of


def read_model(notification: Notification, deliveries: Sequence[Delivery]) -> NotificationRead:
    sealed = notification.formal and notification.delivered_at is None
    return NotificationRead(
        id=notification.id,
        category=notification.category,
        template=notification.template,
        subject=notification.subject,
        body=None if sealed else notification.body,
        params={} if sealed else notification.params,
        sealed=sealed,
        locale=notification.locale,
        mandatory=notification.mandatory,
        formal=notification.formal,
        about_type=notification.about_type,
        about_id=notification.about_id,
        created_at=notification.created_at,
        read_at=notification.read_at,
        opened_at=notification.opened_at,
        acknowledged_at=notification.acknowledged_at,
        delivered_at=notification.delivered_at,
        delivered_by=notification.delivered_by,
        deliveries=[DeliveryRead.model_validate(d) for d in deliveries],
    )


class Inbox:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repository = NotificationRepository(session)

    async def page(
        self, user_id: UUID, page: PageParams, *, unread_only: bool
    ) -> Page[NotificationRead]:
        offset = start_of(page)
        found = await self.repository.inbox(
            user_id, unread_only=unread_only, offset=offset, limit=page.limit + 1
        )
        deliveries = await self.repository.deliveries_of([n.id for n in found[: page.limit]])
        by_notification: dict[UUID, list[Delivery]] = {}
        for delivery in deliveries:
            by_notification.setdefault(delivery.notification_id, []).append(delivery)
        return page_of(
            found, offset, page.limit, lambda n: read_model(n, by_notification.get(n.id, []))
        )

    async def unread(self, user_id: UUID) -> int:
        return await self.repository.unread_count(user_id)

    async def read(self, user_id: UUID, notification_id: UUID) -> NotificationRead:
        """The notification as it stands; reading changes nothing."""
        found = await self.repository.of_person(user_id, notification_id, lock=False)
        if found is None:
            raise NotificationNotFound()
        return await self._view(found)

    async def _own(self, user_id: UUID, notification_id: UUID) -> Notification:
        found = await self.repository.of_person(user_id, notification_id, lock=True)
        if found is None:
            raise NotificationNotFound()
        return found

    async def _view(self, notification: Notification) -> NotificationRead:
        return read_model(notification, await self.repository.deliveries_of([notification.id]))

    async def open(self, user_id: UUID, notification_id: UUID, now: datetime) -> NotificationRead:
        """Opening reads it; a formal notice opened for the first time is delivered by it."""
        notification = await self._own(user_id, notification_id)
        await self._opened(notification, now)
        return await self._view(notification)

    async def _opened(self, notification: Notification, now: datetime) -> None:
        if notification.opened_at is None:
            notification.opened_at = now
        if notification.read_at is None:
            notification.read_at = now
        await self.session.flush()
        await Notifier(self.session).delivered(notification, "inbox", now)

    async def mark_read(
        self, user_id: UUID, notification_id: UUID, now: datetime
    ) -> NotificationRead:
        notification = await self._own(user_id, notification_id)
        if notification.read_at is None:
            notification.read_at = now
            await self.session.flush()
        return await self._view(notification)

    async def acknowledge(
        self, user_id: UUID, notification_id: UUID, now: datetime
    ) -> NotificationRead:
        """A formal notice only; once (acknowledging again changes nothing). Acknowledging
        opens it: whoever acknowledges has it."""
        notification = await self._own(user_id, notification_id)
        if not notification.formal:
            raise NotFormal()
        if notification.acknowledged_at is None:
            await self._opened(notification, now)
            notification.acknowledged_at = now
            await self.session.flush()
            await publish(self.session, events, acknowledged_event(notification, now))
        return await self._view(notification)
