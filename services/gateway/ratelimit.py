"""Token buckets kept in PostgreSQL, so the limits hold across every gateway process.

One statement refills and takes from all the buckets a request touches (per user and per
client address); it runs on a raw asyncpg pool because it sits on every request's path.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass

import asyncpg

from services.gateway.config import RateLimit
from shared.errors import ServiceUnavailable, Text

_REFILL = (
    "LEAST(EXCLUDED.burst, b.tokens"
    " + EXTRACT(EPOCH FROM clock_timestamp() - b.updated_at) * EXCLUDED.rate)"
)
_TAKE = f"""
INSERT INTO gateway.rate_buckets AS b (key, tokens, allowed, burst, rate, updated_at)
SELECT key, burst - 1, true, burst, rate, clock_timestamp()
FROM unnest($1::text[], $2::float8[], $3::float8[]) AS w(key, burst, rate)
ON CONFLICT (key) DO UPDATE SET
    tokens = CASE WHEN {_REFILL} >= 1 THEN {_REFILL} - 1 ELSE {_REFILL} END,
    allowed = {_REFILL} >= 1,
    burst = EXCLUDED.burst,
    rate = EXCLUDED.rate,
    updated_at = clock_timestamp()
RETURNING b.key, b.tokens, b.allowed
"""


_CANNOT_COUNT = Text(
    "限流计数暂不可用，请稍后重试", "Rate limiting is unavailable; try again shortly"
)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0


class RateLimiter:
    def __init__(self, pool: asyncpg.Pool, timeout_seconds: float, pool_size: int) -> None:
        self._pool = pool
        self._timeout = timeout_seconds
        # Requests queue here, in order (asyncio's semaphore is fair), rather than in asyncpg's
        # pool, where a newcomer can take a connection from under a woken waiter and the loser
        # goes to the back of the line (MagicStack/asyncpg#1247): that made the tail latency.
        self._turns = asyncio.Semaphore(pool_size)

    async def take(self, buckets: list[tuple[str, RateLimit]]) -> Decision:
        buckets = sorted(buckets, key=lambda bucket: bucket[0])  # fixed lock order: no deadlock
        keys = [key for key, _ in buckets]
        rates = {key: limit.per_second for key, limit in buckets}
        try:
            async with contextlib.AsyncExitStack() as turn:
                async with asyncio.timeout(self._timeout):
                    await turn.enter_async_context(self._turns)
                    conn = await turn.enter_async_context(self._pool.acquire())
                rows = await conn.fetch(
                    _TAKE, keys, [limit.burst for _, limit in buckets], list(rates.values())
                )
        except (
            OSError,
            TimeoutError,
            asyncpg.PostgresError,
            asyncpg.InterfaceError,
            # "cannot switch to state 12": a connection the server cut off mid-statement
            asyncpg.InternalClientError,
        ) as exc:
            # Cannot count: refuse quickly rather than let callers through unmetered or hang.
            raise ServiceUnavailable(_CANNOT_COUNT, headers={"Retry-After": "2"}) from exc
        wait = 0.0
        for row in rows:
            if not row["allowed"]:
                wait = max(wait, (1 - float(row["tokens"])) / rates[row["key"]])
        if wait > 0:
            return Decision(False, retry_after=max(1, math.ceil(wait)))
        return Decision(True)
