"""The periodic job that releases holds whose timeout has passed."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI

from services.funds.config import FundsSettings
from services.funds.ledger.service import LedgerService
from shared.periodic import every


async def expire_once(app: FastAPI) -> int:
    settings: FundsSettings = app.state.settings
    async with app.state.db.sessionmaker() as session, session.begin():
        released = await LedgerService(session).expire_due(app.state.clock(), settings.expiry_batch)
        return released


async def expiry_sweeper(app: FastAPI, stop: asyncio.Event) -> None:
    settings: FundsSettings = app.state.settings

    async def full_batch() -> bool:  # a full batch: there may be more due
        return await expire_once(app) >= settings.expiry_batch

    await every(lambda: settings.expiry_sweep_seconds, full_batch, stop, "expiry sweep")
