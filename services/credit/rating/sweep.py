"""The periodic job that announces level changes nobody triggers: expiries and ended bans."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import FastAPI

from services.credit.config import CreditSettings
from services.credit.rating.service import RatingService, policy_from

log = logging.getLogger(__name__)


async def sweep_once(app: FastAPI) -> int:
    settings: CreditSettings = app.state.settings
    async with app.state.db.sessionmaker() as session, session.begin():
        count: int = await RatingService(session, policy_from(settings)).sweep(app.state.clock())
        return count


async def rating_sweeper(app: FastAPI, stop: asyncio.Event) -> None:
    settings: CreditSettings = app.state.settings
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.rating_sweep_seconds)
        if stop.is_set():
            return
        try:
            while await sweep_once(app):
                pass  # there may be more due than one batch
        except Exception:
            log.exception("rating sweep failed; will try again")
