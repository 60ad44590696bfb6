"""The random draw of experts (随机抽取), for a panel's members and for the written review's experts
of each application: no database, no clock, so that anyone holding the pool and the seed can run
it again and get the same experts in the same order.

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
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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


# --- the written review: each application's experts --------------------------------------------

PER_APPLICATION = "sha256-rank-per-application/v1"


def application_seed(seed: int, application_id: object) -> int:
    """The seed of one application's draw: the first 63 bits (big-endian) of the SHA-256 of
    `"{seed}:{application id}"`. Without it every application would rank the experts alike, and
    the same few would be drawn everywhere until their load ran out."""
    digest = hashlib.sha256(f"{seed}:{str(application_id).lower()}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


@dataclass(frozen=True)
class ApplicationDraw:
    """One application's draw: the experts drawn, the reserves after them, those passed over
    on the way (with why), and the part of the draw order walked to find them."""

    application_id: str
    wanted: int
    pool: list[str]
    drawn: list[str] = field(default_factory=list)
    reserves: list[str] = field(default_factory=list)
    passed_over: list[dict[str, str]] = field(default_factory=list)
    order: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "application_id": self.application_id,
            "wanted": self.wanted,
            "pool": self.pool,
            "pool_hash": pool_hash(self.pool),
            "order": self.order,
            "drawn": self.drawn,
            "reserves": self.reserves,
            "passed_over": self.passed_over,
        }


def draw_per_application(
    pools: Mapping[str, Iterable[object]],
    wanted: Mapping[str, int],
    seed: int,
    reserves: int,
    load_left: Mapping[str, int],
    organizations: Mapping[str, str] | None = None,
    taken: Mapping[str, Collection[str]] | None = None,
) -> list[ApplicationDraw]:
    """Algorithm `sha256-rank-per-application/v1`: the applications in order of their ids; for
    each, its pool in `sha256-rank/v1` order under `application_seed`; walking that order, an
    expert is drawn while the application wants more, unless their load in the round is used up
    (`load_left`, less one for each application they were drawn for before: `no_load_left`) or,
    when `organizations` is given (one expert per organization), an expert of their
    organization is on it already (`taken`) or was drawn for it (`same_organization`); once it
    has its experts, the next `reserves` of the order wait as its reserves."""
    loads = dict(load_left)
    orgs_of = organizations or {}
    drawn_all: list[ApplicationDraw] = []
    for application in sorted(pools, key=lambda a: str(a).lower()):
        pool = canonical_pool(pools[application])
        found = ApplicationDraw(str(application).lower(), wanted[application], pool)
        orgs = set((taken or {}).get(application, ()))
        for expert in draw_order(pool, application_seed(seed, found.application_id)):
            if len(found.drawn) >= found.wanted and len(found.reserves) >= reserves:
                break
            found.order.append(expert)
            if len(found.drawn) >= found.wanted:
                found.reserves.append(expert)
                continue
            org = orgs_of.get(expert)
            if loads.get(expert, 0) <= 0:
                found.passed_over.append({"expert_id": expert, "reason": "no_load_left"})
            elif org and org in orgs:
                found.passed_over.append({"expert_id": expert, "reason": "same_organization"})
            else:
                found.drawn.append(expert)
                loads[expert] = loads.get(expert, 0) - 1
                if org:
                    orgs.add(org)
        drawn_all.append(found)
    return drawn_all
