"""The expiry job of the standing reserve: an entry whose program's term (`reserve_months`)
has passed leaves the reserve unfunded, as a rejection with the reason, in its history, and
the applicant is told.

Each entry is claimed with FOR UPDATE SKIP LOCKED and leaves the reserve in the same
transaction: two replicas running the job at once never expire anything twice.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from services.projects.config import ProjectsSettings
from services.projects.reserve.repository import ReserveRepository
from services.projects.reserve.service import leave_reserve
from shared.periodic import every

ACTOR = "system:reserve-expiry"


async def expire_due(session: AsyncSession, now: datetime, limit: int) -> int:
    """Expires up to `limit` entries whose term ran out by `now`; returns how many."""
    claimed = await ReserveRepository(session).claim_expired(now, limit)
    for application, call, program in claimed:
        months = program.reserve_months
        await leave_reserve(
            session,
            application,
            call,
            now=now,
            action="reserve.expired",
            actor=ACTOR,
            actor_id=None,
            reason=f"在项目储备库中满 {months} 个月未获资助，移出储备库"
            f"（in the reserve for {months} months without funding）",
            details={"reserve_months": months},
        )
    return len(claimed)


async def expire_once(app: FastAPI, now: datetime) -> int:
    settings: ProjectsSettings = app.state.settings
    async with app.state.db.sessionmaker() as session, session.begin():
        return await expire_due(session, now, settings.reserve_expiry_batch)


async def reserve_expiry_worker(app: FastAPI, stop: asyncio.Event) -> None:
    settings: ProjectsSettings = app.state.settings

    async def full_batch() -> bool:  # more may be due than one batch
        return await expire_once(app, app.state.clock()) >= settings.reserve_expiry_batch

    await every(lambda: settings.reserve_expiry_seconds, full_batch, stop, "reserve expiry")
