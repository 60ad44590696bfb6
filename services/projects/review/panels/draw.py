"""The random draw of panel members (随机抽取): no database, no clock, so that anyone holding the
pool and the seed can run it again and get the same members in the same order.

Algorithm `sha256-rank/v1`:

- the pool is the qualified experts' ids as lowercase hyphenated UUID strings, sorted; its
  hash is the SHA-256 (hex) of those strings joined by a newline ("\\n"), in UTF-8;
- each expert's draw key is the SHA-256 (hex) of `"{seed}:{expert id}"` (the seed in decimal);
- the draw order is the pool sorted by draw key (ties, which SHA-256 makes practically
  impossible, by id): the first `seats` are seated, the next `reserves` wait in that order.

The order depends only on the seed and the pool, never on the order the experts came from the
database, on the Python version or on a random generator's internals.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

ALGORITHM = "sha256-rank/v1"
SEED_BITS = 63  # fits a BIGINT


def canonical_pool(expert_ids: Iterable[object]) -> list[str]:
    return sorted({str(e).lower() for e in expert_ids})


def pool_hash(pool: Iterable[object]) -> str:
    return hashlib.sha256("\n".join(canonical_pool(pool)).encode()).hexdigest()


def draw_key(seed: int, expert_id: str) -> str:
    return hashlib.sha256(f"{seed}:{expert_id}".encode()).hexdigest()


def draw_order(pool: Iterable[object], seed: int) -> list[str]:
    """Every expert of the pool, in the order the seed draws them."""
    return sorted(canonical_pool(pool), key=lambda e: (draw_key(seed, e), e))


def draw(pool: Iterable[object], seed: int, count: int) -> list[str]:
    """The first `count` experts the seed draws (all of them if the pool is smaller)."""
    return draw_order(pool, seed)[:count]


def new_seed() -> int:
    """A seed nobody chose: the manager who draws cannot try seeds until one suits them."""
    return secrets.randbits(SEED_BITS)
