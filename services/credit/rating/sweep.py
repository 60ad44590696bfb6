"""The periodic job that announces level changes nobody triggers: expiries and ended bans."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from services.credit.config import CreditSettings
from services.credit.rating.service import RatingService, policy_from
from shared.periodic import every


async def sweep_once(app: FastAPI) -> int:
    settings: CreditSettings = app.state.settings
    async with app.state.db.sessionmaker() as session, session.begin():
        count: int = await RatingService(session, policy_from(settings)).sweep(app.state.clock())
        return count


async def rating_sweeper(app: FastAPI, stop: asyncio.Event) -> None:
    settings: CreditSettings = app.state.settings

    async def some_changed() -> bool:  # there may be more due than one batch
        return bool(await sweep_once(app))

    await every(lambda: settings.rating_sweep_seconds, some_changed, stop, "rating sweep")
