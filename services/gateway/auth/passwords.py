"""Password and client-secret hashing with argon2id, off the event loop."""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id with the library's current recommended parameters: about 0.1 s of CPU a hash.
STANDARD = PasswordHasher()
# The same algorithm at its lowest cost, for test runs only (GatewaySettings refuses it in any
# other environment): the test suite creates and logs in thousands of people, and at the
# standard cost their hashes alone took minutes of CPU. A stored hash names its parameters, so
# either hasher verifies the other's hashes.
FOR_TESTS = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
_hasher = STANDARD


def hash_cheaply_for_tests() -> None:
    global _hasher
    _hasher = FOR_TESTS


@cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    # Verified against when the user does not exist, so both failures cost the same time.
    return hasher.hash("sciplan-no-such-user")


async def hash_secret(secret: str) -> str:
    return await asyncio.to_thread(_hasher.hash, secret)


async def verify_secret(stored_hash: str | None, secret: str) -> bool:
    hasher = _hasher

    def check() -> bool:
        try:
            return (
                hasher.verify(stored_hash or _dummy_hash(hasher), secret)
                and stored_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)
