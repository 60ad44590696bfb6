"""The reminder worker: every `delivery_poll_seconds`, the reminders due become notifications
(their mail then goes with the delivery worker)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import FastAPI

from services.notify.config import NotifySettings
from services.notify.reminders.service import Reminders
from shared.periodic import every


async def remind_due(app: FastAPI, now: datetime) -> int:
    settings: NotifySettings = app.state.settings
    async with app.state.db.sessionmaker() as session:
        sent = await Reminders(session).send_due(now, settings.delivery_batch)
        await session.commit()
    return sent


async def reminder_worker(app: FastAPI, stop: asyncio.Event) -> None:
    settings: NotifySettings = app.state.settings

    async def one_pass() -> bool:  # what is due now; more comes with the next tick
        await remind_due(app, app.state.clock())
        return False

    await every(lambda: settings.delivery_poll_seconds, one_pass, stop, "reminder pass")
