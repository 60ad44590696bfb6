"""The periodic job that returns the unused value of expired vouchers to their program."""

from __future__ import annotations

import asyncio
import logging

from fastapi import FastAPI

from services.funds.vouchers.issuing import VoucherService
from shared.periodic import every

log = logging.getLogger(__name__)

SWEEP_SECONDS = 60.0
BATCH = 100


async def expire_vouchers_once(app: FastAPI) -> int:
    """One pass, each voucher in its own transaction; how many vouchers changed (tests call
    it directly after moving the clock)."""
    sessions = app.state.db.sessionmaker
    now = app.state.clock()
    async with sessions() as session:
        due = await VoucherService(session).due(now, BATCH)
    changed = 0
    for step, voucher_id in due:
        try:
            async with sessions() as session, session.begin():
                changed += await VoucherService(session).settle(step, voucher_id, now)
        except Exception:
            log.exception("voucher %s: %s failed; will try again", voucher_id, step)
    return changed


def _interval(app: FastAPI) -> float:
    # Settings are shared with the ledger: no setting of its own, follow the ledger's sweep
    # when that is slower (tests slow it down to keep sweeps out of their way).
    ledger_sweep = getattr(getattr(app.state, "settings", None), "expiry_sweep_seconds", 0.0)
    return max(SWEEP_SECONDS, float(ledger_sweep or 0.0))


async def voucher_expiry_sweeper(app: FastAPI, stop: asyncio.Event) -> None:
    async def full_batch() -> bool:  # a full batch: there may be more due
        return await expire_vouchers_once(app) >= BATCH

    await every(lambda: _interval(app), full_batch, stop, "voucher expiry sweep")
