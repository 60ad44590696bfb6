"""Preferences: mail is on and text messages off unless the person says otherwise; a mandatory
category's mail stays on (asking to switch it off is refused, not ignored)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.catalog import CATEGORIES
from services.notify.exceptions import MandatoryCategory, UnknownCategory
from services.notify.models import Channel
from services.notify.notifications.repository import NotificationRepository
from services.notify.preferences.schemas import CategoryPreference, Preferences, PreferencesUpdate
from shared.errors import Text


class PreferenceService:
    def __init__(self, session: AsyncSession) -> None:
        self.repository = NotificationRepository(session)

    async def of(self, user_id: UUID, language: str) -> Preferences:
        chosen = {
            (p.category, p.channel): p.enabled for p in await self.repository.preferences(user_id)
        }
        return Preferences(
            items=[
                CategoryPreference(
                    category=category.name,
                    title=category.title.pick(language),
                    mandatory=category.mandatory,
                    mail=category.mandatory or chosen.get((category.name, Channel.mail), True),
                    sms=chosen.get((category.name, Channel.sms), False),
                )
                for category in CATEGORIES.values()
            ]
        )

    async def update(
        self, user_id: UUID, update: PreferencesUpdate, now: datetime, language: str
    ) -> Preferences:
        for change in update.items:
            category = CATEGORIES.get(change.category)
            if category is None:
                raise UnknownCategory(
                    Text(f"没有通知类别 {change.category}", f"no category {change.category}")
                )
            if category.mandatory and change.channel == "mail" and not change.enabled:
                raise MandatoryCategory(
                    Text(
                        f"“{category.title.zh}”的邮件通知不可关闭",
                        f"mail about {category.title.en} cannot be switched off",
                    )
                )
        for change in update.items:
            await self.repository.set_preference(
                user_id, change.category, Channel(change.channel), change.enabled, now
            )
        return await self.of(user_id, language)
