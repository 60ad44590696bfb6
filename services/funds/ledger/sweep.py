"""The periodic job that releases holds whose timeout has passed."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from fastapi import FastAPI

from services.funds.config import FundsSettings
from services.funds.ledger.service import LedgerService

log = logging.getLogger(__name__)


async def expire_once(app: FastAPI) -> int:
    settings: FundsSettings = app.state.settings
    async with app.state.db.sessionmaker() as session, session.begin():
        released = await LedgerService(session).expire_due(app.state.clock(), settings.expiry_batch)
        return released


async def expiry_sweeper(app: FastAPI, stop: asyncio.Event) -> None:
    settings: FundsSettings = app.state.settings
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.expiry_sweep_seconds)
        if stop.is_set():
            return
        try:
            while await expire_once(app) >= settings.expiry_batch:
                pass  # a full batch: there may be more due
        except Exception:
            log.exception("expiry sweep failed; will try again")
