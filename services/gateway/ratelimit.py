"""Token buckets kept in PostgreSQL, so the limits hold across every gateway process.

One statement refills and takes from all the buckets a request touches (per user and per
client address); it runs on a raw asyncpg pool because it sits on every request's path.

A roomy bucket is not asked on every request: the gateway takes a small lease of its tokens at
once (`lease_fraction` of the burst, 30 of the API's 600) and spends them in memory, so one
statement serves many requests. The limit still holds across gateways, since a token is spent
only once it has left PostgreSQL; the price is that a lease one gateway holds is not available
to another until spent, at most a lease per bucket and gateway. Small buckets (logins, password
resets, public writes) lease one token at a time: exact, as before.
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
INSERT INTO gateway.rate_buckets AS b (key, tokens, taken, burst, rate, updated_at)
SELECT key, burst - want, want, burst, rate, clock_timestamp()
FROM unnest($1::text[], $2::float8[], $3::float8[], $4::float8[]) AS w(key, burst, rate, want)
ON CONFLICT (key) DO UPDATE SET
    tokens = {_REFILL} - CASE WHEN {_REFILL} >= 1 THEN LEAST(EXCLUDED.taken, FLOOR({_REFILL}))
        ELSE 0 END,
    taken = CASE WHEN {_REFILL} >= 1 THEN LEAST(EXCLUDED.taken, FLOOR({_REFILL})) ELSE 0 END,
    burst = EXCLUDED.burst,
    rate = EXCLUDED.rate,
    updated_at = clock_timestamp()
RETURNING b.key, b.tokens, b.taken
"""
# Buckets whose leftover leases are remembered; past this many, the oldest are forgotten (their
# tokens are lost, which only ever makes the limit stricter).
MAX_LEASED_BUCKETS = 100_000


_CANNOT_COUNT = Text(
    "限流计数暂不可用，请稍后重试", "Rate limiting is unavailable; try again shortly"
)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0


def lease_size(limit: RateLimit, fraction: float) -> int:
    """Tokens taken from PostgreSQL at once for this bucket (at least one)."""
    return max(1, min(math.floor(limit.burst), math.floor(limit.burst * fraction)))


class RateLimiter:
    def __init__(
        self,
        pool: asyncpg.Pool,
        timeout_seconds: float,
        pool_size: int,
        lease_fraction: float = 0.0,
    ) -> None:
        self._pool = pool
        self._timeout = timeout_seconds
        self._lease_fraction = lease_fraction
        # Tokens this process has taken from PostgreSQL and not spent yet, by bucket.
        self._leased: dict[str, int] = {}
        # Requests queue here, in order (asyncio's semaphore is fair), rather than in asyncpg's
        # pool, where a newcomer can take a connection from under a woken waiter and the loser
        # goes to the back of the line (MagicStack/asyncpg#1247): that made the tail latency.
        self._turns = asyncio.Semaphore(pool_size)

    async def take(self, buckets: list[tuple[str, RateLimit]]) -> Decision:
        while True:
            # Checked again after each lease: meanwhile another request may have spent a token
            # this one counted on. No await between the last check and the spending below.
            short = [(key, limit) for key, limit in buckets if self._leased.get(key, 0) < 1]
            if not short:
                break
            decision = await self._lease(short)
            if not decision.allowed:
                return decision
        for key, _ in buckets:
            self._spend(key)
        return Decision(True)

    def _spend(self, key: str) -> None:
        left = self._leased.pop(key) - 1
        if left:
            self._leased[key] = left  # re-inserted: the dict's order is the order of use

    async def _lease(self, buckets: list[tuple[str, RateLimit]]) -> Decision:
        """Takes a lease of each bucket; refused if any bucket has not even one token."""
        buckets = sorted(buckets, key=lambda bucket: bucket[0])  # fixed lock order: no deadlock
        rates = {key: limit.per_second for key, limit in buckets}
        try:
            async with contextlib.AsyncExitStack() as turn:
                async with asyncio.timeout(self._timeout):
                    await turn.enter_async_context(self._turns)
                    conn = await turn.enter_async_context(self._pool.acquire())
                rows = await conn.fetch(
                    _TAKE,
                    [key for key, _ in buckets],
                    [limit.burst for _, limit in buckets],
                    list(rates.values()),
                    [float(lease_size(limit, self._lease_fraction)) for _, limit in buckets],
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
            taken = int(row["taken"])
            if taken:
                self._leased[row["key"]] = self._leased.pop(row["key"], 0) + taken
            else:
                wait = max(wait, (1 - float(row["tokens"])) / rates[row["key"]])
        while len(self._leased) > MAX_LEASED_BUCKETS:
            del self._leased[next(iter(self._leased))]
        if wait > 0:
            return Decision(False, retry_after=max(1, math.ceil(wait)))
        return Decision(True)
