"""The reminder worker: every `delivery_poll_seconds`, the reminders due become notifications
(their mail then goes with the delivery worker)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from fastapi import FastAPI

from services.notify.config import NotifySettings
from services.notify.reminders.service import Reminders
from shared.db import is_database_outage

log = logging.getLogger(__name__)


async def remind_due(app: FastAPI, now: datetime) -> int:
    settings: NotifySettings = app.state.settings
    async with app.state.db.sessionmaker() as session:
        sent = await Reminders(session).send_due(now, settings.delivery_batch)
        await session.commit()
    return sent


async def reminder_worker(app: FastAPI, stop: asyncio.Event) -> None:
    settings: NotifySettings = app.state.settings
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.delivery_poll_seconds)
        if stop.is_set():
            return
        try:
            await remind_due(app, app.state.clock())
        except Exception as exc:  # the loop outlives a database outage or a bug in one pass
            if is_database_outage(exc):
                log.warning("reminder pass stopped: database unreachable")
            else:
                log.exception("reminder pass failed")
