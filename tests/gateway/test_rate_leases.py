"""Rate limits with leases: a gateway takes several tokens of a roomy bucket at once and spends
them in memory, yet two gateways on one database never let through more than the bucket holds,
and a small bucket stays exact."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest

from services.gateway.config import RateLimit
from services.gateway.ratelimit import RateLimiter, lease_size
from shared.db import asyncpg_dsn

# No refill to speak of during a test: what is let through is what the bucket held.
ROOMY = RateLimit(per_minute=0.001, burst=100)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    async with asyncpg.create_pool(asyncpg_dsn(database_url), min_size=1, max_size=2) as pool:
        yield pool


def two_gateways(pool: asyncpg.Pool, fraction: float) -> list[RateLimiter]:
    return [RateLimiter(pool, 5, 2, lease_fraction=fraction) for _ in range(2)]


async def test_two_gateways_with_leases_let_through_exactly_what_the_bucket_holds(
    pool: asyncpg.Pool,
) -> None:
    assert lease_size(ROOMY, 0.05) == 5
    key = f"api:sub:{uuid4()}"
    allowed = refused = 0
    for limiter in itertools.islice(itertools.cycle(two_gateways(pool, 0.05)), 300):
        decision = await limiter.take([(key, ROOMY)])
        if decision.allowed:
            allowed += 1
        else:
            refused += 1
            assert decision.retry_after >= 1
    assert allowed == 100
    assert refused == 200
    # Every token left PostgreSQL, in leases of 5: none is left there to take.
    async with pool.acquire() as conn:
        tokens = await conn.fetchval("SELECT tokens FROM gateway.rate_buckets WHERE key = $1", key)
    assert tokens < 1


async def test_a_request_is_refused_if_any_of_its_buckets_is_empty_and_spends_none(
    pool: asyncpg.Pool,
) -> None:
    [limiter, _] = two_gateways(pool, 0.05)
    user, address = f"api:sub:{uuid4()}", f"api:addr:{uuid4()}"
    tight = RateLimit(per_minute=0.001, burst=2)
    assert (await limiter.take([(user, ROOMY), (address, tight)])).allowed
    assert (await limiter.take([(user, ROOMY), (address, tight)])).allowed
    assert not (await limiter.take([(user, ROOMY), (address, tight)])).allowed
    # The user's bucket paid for two requests only: 98 more go through from another address.
    other = f"api:addr:{uuid4()}"
    results = [(await limiter.take([(user, ROOMY), (other, ROOMY)])).allowed for _ in range(99)]
    assert results.count(True) == 98


async def test_without_leases_every_request_asks_the_database(pool: asyncpg.Pool) -> None:
    [first, second] = two_gateways(pool, 0.0)
    key = f"auth:addr:{uuid4()}"
    small = RateLimit(per_minute=0.001, burst=3)
    assert [(await first.take([(key, small)])).allowed for _ in range(2)] == [True, True]
    assert (await second.take([(key, small)])).allowed
    assert not (await first.take([(key, small)])).allowed
    assert not (await second.take([(key, small)])).allowed
