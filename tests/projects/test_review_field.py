"""`solver.field` scores every pair of a call as arrays: the same pairs and scores as calling
`match` on each pair of items and experts, one by one."""

from __future__ import annotations

import random

import numpy as np

from services.projects.review.solver.field import FieldIndex
from services.projects.review.solver.match import ExpertProfile, ItemProfile, match

CODES = ("110", "120", "130", "210.20", "210.2010", "520")
WORDS = (
    "小麦",
    " 小麦 ",
    "Wheat",
    "wheat",
    "WHEAT  rust",
    "wheat rust",
    "",
    "  ",
    "drought",
    "盐碱地",
)


def _items(rng: random.Random, count: int) -> list[ItemProfile]:
    items = []
    for n in range(count):
        # no code, repeated codes, the primary again among the further ones
        subjects = tuple(rng.choice(CODES) for _ in range(rng.choice((0, 1, 2, 3, 4))))
        keywords = frozenset(rng.sample(WORDS, rng.randint(0, 8)))
        items.append(ItemProfile(id=f"A{n}", subjects=subjects, keywords=keywords))
    return items


def _experts(rng: random.Random, count: int) -> list[ExpertProfile]:
    experts = []
    for n in range(count):
        primary = frozenset(rng.sample(CODES, rng.randint(0, 2)))
        secondary = frozenset(rng.sample(CODES, rng.randint(0, 3)))
        keywords = frozenset(rng.sample(WORDS, rng.randint(0, 9)))
        experts.append(
            ExpertProfile(id=f"E{n}", primary=primary, secondary=secondary, keywords=keywords)
        )
    return experts


def test_the_pairs_and_scores_are_matchs_for_every_pair() -> None:
    rng = random.Random(17)
    items, experts = _items(rng, 60), _experts(rng, 40)
    # more shared keywords than are counted
    many = frozenset(f"词{k}" for k in range(8))
    items.append(ItemProfile(id="A-many", subjects=("110",), keywords=many))
    experts.append(
        ExpertProfile(id="E-many", primary=frozenset({"110"}), secondary=frozenset(), keywords=many)
    )

    index = FieldIndex(items, experts)
    keys = index.pairs()
    pair_item, pair_expert = np.divmod(keys, len(experts))
    scores = index.scores(pair_item, pair_expert)
    found = {
        (items[i].id, experts[e].id): int(s)
        for i, e, s in zip(pair_item.tolist(), pair_expert.tolist(), scores.tolist(), strict=True)
    }

    expected = {}
    for item in items:
        for expert in experts:
            matched = match(item, expert)
            if matched is not None:
                expected[(item.id, expert.id)] = matched.score
    assert found == expected
    assert list(keys) == sorted(set(keys.tolist()))  # sorted, each pair once
    assert found[("A-many", "E-many")] == 400 + 50  # five keywords counted, not eight
    assert len(expected) > 500


def test_no_items_or_no_experts_give_no_pairs() -> None:
    rng = random.Random(3)
    assert FieldIndex([], _experts(rng, 5)).pairs().size == 0
    assert FieldIndex(_items(rng, 5), []).pairs().size == 0
