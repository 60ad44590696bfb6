"""Password checks take turns, and a burst beyond what the CPUs can hash is told to come back.

Each check costs about a quarter of a second of CPU and holds a database connection, so only
`at_once` run together. Without a bound on the line behind them, a burst of logins whose
clients give up after a few seconds and retry never drains: every check is done for a client
who has already left. So at most `queue` logins wait, none longer than `max_wait_seconds`, and
the others get 503 with a `Retry-After` at once; a login whose client left is not checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator

from services.gateway.auth.exceptions import LoginBusy

# What a check is assumed to take until one has been measured (seconds of wall time).
FIRST_GUESS_SECONDS = 0.25


class LoginGate:
    def __init__(self, *, at_once: int, queue: int, max_wait_seconds: float) -> None:
        self._at_once = at_once
        self._slots = asyncio.Semaphore(at_once)
        self._queue = queue
        self._max_wait = max_wait_seconds
        self._waiting = 0
        self._check_seconds = FIRST_GUESS_SECONDS

    def _busy(self) -> LoginBusy:
        ahead = self._waiting + self._at_once
        seconds = math.ceil(ahead * self._check_seconds / self._at_once)
        return LoginBusy(headers={"Retry-After": str(min(max(seconds, 1), 30))})

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if self._waiting >= self._queue:
            raise self._busy()
        self._waiting += 1
        try:
            async with asyncio.timeout(self._max_wait):
                await self._slots.acquire()
        except TimeoutError:
            raise self._busy() from None
        finally:
            self._waiting -= 1
        started = time.monotonic()
        try:
            yield
        finally:
            self._slots.release()
            took = time.monotonic() - started
            self._check_seconds = 0.8 * self._check_seconds + 0.2 * took
