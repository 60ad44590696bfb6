"""The natural baseline: the scarcest items first, each takes its best experts still free."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from time import perf_counter
from typing import Any

import numpy as np

from services.projects.review.solver.problem import NO_GROUP, IntArray, Pair, Problem, Solution


def greedy(
    demand: Mapping[str, int],
    capacity: Mapping[str, int],
    pairs: Sequence[Pair],
    *,
    one_per_group: bool = False,
    seed: int = 0,
) -> Solution:
    problem = Problem.from_pairs(demand, capacity, pairs)
    chosen, certificate = greedy_problem(problem, one_per_group=one_per_group, seed=seed)
    return problem.solution(chosen, certificate)


def greedy_problem(
    problem: Problem, *, one_per_group: bool = False, seed: int = 0
) -> tuple[IntArray, dict[str, Any]]:
    """Items with the fewest spare candidates go first (ties in a seeded order); each takes its
    best-scoring experts that still have load left, one per group if asked."""
    started = perf_counter()
    n_items = len(problem.items)
    tie = problem.tie_breaks(seed)
    best_first = np.lexsort((-(problem.pair_score + tie), problem.pair_item))
    starts = np.searchsorted(problem.pair_item[best_first], np.arange(n_items + 1))
    spare = np.diff(starts) - problem.demand
    item_order = np.lexsort((np.random.default_rng(seed).random(n_items), spare))

    left = problem.capacity.copy()
    chosen: list[int] = []
    for item in item_order.tolist():
        need = int(problem.demand[item])
        used_groups: set[int] = set()
        for p in best_first[starts[item] : starts[item + 1]].tolist():
            if need == 0:
                break
            expert, group = problem.pair_expert[p], int(problem.pair_group[p])
            if left[expert] <= 0 or (one_per_group and group in used_groups):
                continue
            if group != NO_GROUP:
                used_groups.add(group)
            left[expert] -= 1
            chosen.append(p)
            need -= 1
    return np.array(chosen, dtype=np.int64), {
        "method": "greedy: scarcest items first, each takes its best free experts",
        "seed": seed,
        "seconds": round(perf_counter() - started, 3),
    }
