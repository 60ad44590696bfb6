"""A slow credit service, and what PostgreSQL says a service holds while it waits for it.

`SlowCredit` wraps a credit client (the real credit app, in-process) and makes every question
wait `DELAY` seconds, or until the test releases it; `while_credit_thinks` starts a request
that asks it, and checks, while that request waits, that the service holds no lock and no open
transaction and that another request goes through.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.contracts.credit import EligibilityV1
from shared.credit_client import CreditClient

DELAY = 5.0  # a slow credit service answers after this many seconds
T = TypeVar("T")


class SlowCredit:
    """While `slow`, each question waits DELAY seconds (or for `release()`) before it goes on
    to the real credit service; `asked` is set once one waits."""

    def __init__(self, inner: CreditClient) -> None:
        self.inner = inner
        self.slow = False
        self.waiting = 0
        self.asked = asyncio.Event()
        self._released = asyncio.Event()

    def release(self) -> None:
        self._released.set()

    async def _think(self) -> None:
        if not self.slow:
            return
        self.waiting += 1
        self.asked.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), DELAY)
        finally:
            self.waiting -= 1

    async def eligibility(
        self,
        *,
        action: str,
        at: datetime,
        gateway_user_id: UUID | None = None,
        gateway_org_id: UUID | None = None,
    ) -> EligibilityV1:
        await self._think()
        return await self.inner.eligibility(
            action=action, at=at, gateway_user_id=gateway_user_id, gateway_org_id=gateway_org_id
        )

    async def people_eligibility(
        self, *, action: str, at: datetime, user_ids: list[UUID]
    ) -> dict[UUID, EligibilityV1]:
        await self._think()
        return await self.inner.people_eligibility(action=action, at=at, user_ids=user_ids)


HELD = sa.text(
    """
    SELECT a.pid, a.state, l.locktype, l.mode, l.relation::regclass::text AS relation
    FROM pg_stat_activity a
    LEFT JOIN pg_locks l ON l.pid = a.pid
    WHERE a.datname = current_database()
      AND a.application_name = :name
      AND (l.pid IS NOT NULL OR a.state <> 'idle')
    ORDER BY a.pid
    """
)


async def held_by(engine: AsyncEngine, service: str) -> list[str]:
    """What the service's connections hold now: any lock, or a transaction left open (`idle in
    transaction`), one line each; [] when they are all idle."""
    async with engine.connect() as connection:
        rows = await connection.execute(HELD, {"name": f"sciplan-{service}"})
        return [f"{r.pid} {r.state}: {r.locktype} {r.mode} {r.relation}" for r in rows]


async def while_credit_thinks(
    credit: SlowCredit,
    engine: AsyncEngine,
    service: str,
    slow_request: Awaitable[httpx.Response],
    other_request: Callable[[], Awaitable[T]],
) -> tuple[httpx.Response, T]:
    """Runs `slow_request` with the credit service slow; once it waits for credit, checks that
    `service` holds nothing in PostgreSQL and that `other_request` goes through while the slow
    one still waits (ordering, not durations). The slow response and what the other gave."""
    credit.slow = True
    slow = asyncio.ensure_future(slow_request)
    asked = asyncio.ensure_future(credit.asked.wait())
    await asyncio.wait([slow, asked], return_when=asyncio.FIRST_COMPLETED)
    if not asked.done():
        asked.cancel()
        raise AssertionError(f"the request never asked the credit service: {slow.result().text}")
    try:
        held = await held_by(engine, service)
        other = await other_request()
        # Before the slow request's answer came: the credit service still thinks.
        other_went_first = credit.waiting > 0 and not slow.done()
    finally:
        credit.slow = False
        credit.release()
        answered = await slow
    assert held == [], "held while the credit service thinks"
    assert other_went_first, "the other request finished only once credit had answered"
    return answered, other
