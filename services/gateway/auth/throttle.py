"""Per-account login throttling: after N failures the account waits, doubling each time.

Failures are counted in the request's transaction; the 401 that follows keeps its writes.
"""

from __future__ import annotations

import asyncio
import math
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.gateway.auth.exceptions import LoginThrottled
from services.gateway.models import LoginFailure
from shared.clock import utcnow

MAX_LOCKOUT_SECONDS = 3600


class LoginThrottle:
    def __init__(self, *, max_failures: int, lockout_seconds: int, at_once: int = 4) -> None:
        self._max = max_failures
        self._lockout = lockout_seconds
        # Password checks that may run at once. Each holds a database connection while its hash
        # is checked (about a quarter of a second of CPU); a burst of logins beyond what the
        # CPUs can hash would otherwise hold the whole pool and turn other requests into 503s.
        self.slots = asyncio.Semaphore(at_once)

    async def check(self, session: AsyncSession, username: str) -> None:
        locked_until = await session.scalar(
            sa.select(LoginFailure.locked_until).where(LoginFailure.username == username)
        )
        if locked_until is not None and locked_until > utcnow():
            wait = math.ceil((locked_until - utcnow()).total_seconds())
            raise LoginThrottled(headers={"Retry-After": str(max(wait, 1))})

    async def failed(self, session: AsyncSession, username: str) -> None:
        failures = (
            await session.execute(
                insert(LoginFailure)
                .values(username=username, failures=1, updated_at=sa.func.now())
                .on_conflict_do_update(
                    index_elements=[LoginFailure.username],
                    set_={"failures": LoginFailure.failures + 1, "updated_at": sa.func.now()},
                )
                .returning(LoginFailure.failures)
            )
        ).scalar_one()
        if failures >= self._max:
            seconds = min(self._lockout * 2 ** (failures - self._max), MAX_LOCKOUT_SECONDS)
            await session.execute(
                sa.update(LoginFailure)
                .where(LoginFailure.username == username)
                .values(locked_until=utcnow() + timedelta(seconds=seconds))
            )

    async def succeeded(self, session: AsyncSession, username: str) -> None:
        await session.execute(sa.delete(LoginFailure).where(LoginFailure.username == username))


async def forget_failures(session: AsyncSession, username: str) -> None:
    """Clears every failure count and lock of an account (an operator reset its password)."""
    await session.execute(sa.delete(LoginFailure).where(LoginFailure.username == username))
