"""Direct messages the gateway asks for (a password reset link, an address to verify)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.exceptions import NoAddress
from services.notify.models import Channel, Notification
from services.notify.notifications.repository import NotificationRepository
from services.notify.notifications.service import Notifier
from shared.contracts.notices import DirectMessageV1


class DirectMessages:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = NotificationRepository(session)
        self.notifier = Notifier(session)

    async def send(self, message: DirectMessageV1, now: datetime) -> Notification:
        key = f"direct:{message.idempotency_key}"
        existing = await self.repository.by_dedupe_key(key)
        if existing is not None:
            return existing
        address = message.to_address
        if address is None:
            address = (await self.repository.addresses(message.user_id)).get(Channel.mail)
        if address is None:
            raise NoAddress()
        return await self.notifier.notify(
            user_id=message.user_id,
            template_name=message.template,
            params=message.params,
            dedupe_key=key,
            now=now,
            locale=message.locale,
            to_address=address,
        )
