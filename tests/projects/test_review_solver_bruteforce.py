"""The assignment solver against brute force on small instances: as many reviews as possible,
then the highest total score; always feasible; reproducible from its seed."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from services.projects.review.solver.flow import solve, solve_problem
from services.projects.review.solver.greedy import greedy
from services.projects.review.solver.match import ExpertProfile, ItemProfile, match
from services.projects.review.solver.problem import Pair, Problem


def _instance(
    rng: random.Random,
) -> tuple[dict[str, int], dict[str, int], list[Pair]]:
    items = [f"a{i}" for i in range(rng.randint(2, 5))]
    experts = [f"e{j}" for j in range(rng.randint(2, 6))]
    groups = ["g1", "g2", "g3"]
    demand = {i: rng.randint(1, 3) for i in items}
    capacity = {e: rng.randint(1, 3) for e in experts}
    group_of = {e: rng.choice(groups) for e in experts}
    pairs = [
        Pair(i, e, rng.randint(1, 9), group_of[e])
        for i in items
        for e in experts
        if rng.random() < 0.6
    ][:13]  # brute force over 2^13 subsets at most
    return demand, capacity, pairs


def _feasible(
    chosen: list[Pair], demand: dict[str, int], capacity: dict[str, int], one_per_group: bool
) -> bool:
    if len({(p.item, p.expert) for p in chosen}) != len(chosen):
        return False
    per_item, per_expert = Counter(p.item for p in chosen), Counter(p.expert for p in chosen)
    if any(per_item[i] > demand[i] for i in per_item):
        return False
    if any(per_expert[e] > capacity[e] for e in per_expert):
        return False
    if one_per_group:
        groups = Counter((p.item, p.group) for p in chosen)
        if any(n > 1 for n in groups.values()):
            return False
    return True


def _best(
    demand: dict[str, int], capacity: dict[str, int], pairs: list[Pair], one_per_group: bool
) -> tuple[int, int]:
    """(most reviews, best total with that many) over every subset of the allowed pairs."""
    best = (0, 0)
    for size in range(len(pairs) + 1):
        for subset in itertools.combinations(pairs, size):
            chosen = list(subset)
            if _feasible(chosen, demand, capacity, one_per_group):
                best = max(best, (len(chosen), sum(p.score for p in chosen)))
    return best


@pytest.mark.parametrize("one_per_group", [False, True])
def test_solve_matches_brute_force(one_per_group: bool) -> None:
    rng = random.Random(2026 + one_per_group)
    for _ in range(40):
        demand, capacity, pairs = _instance(rng)
        solution = solve(demand, capacity, pairs, one_per_group=one_per_group, seed=3)
        assert set(solution.assigned) <= set(pairs)  # only allowed pairs
        assert _feasible(solution.assigned, demand, capacity, one_per_group)
        count, total = _best(demand, capacity, pairs, one_per_group)
        assert (len(solution.assigned), solution.total) == (count, total)
        assert solution.total == sum(p.score for p in solution.assigned)
        short = {
            i: d - n
            for i, d in demand.items()
            if (n := sum(p.item == i for p in solution.assigned)) < d
        }
        assert solution.unassignable == short

        baseline = greedy(demand, capacity, pairs, one_per_group=one_per_group, seed=3)
        assert _feasible(baseline.assigned, demand, capacity, one_per_group)
        assert (len(baseline.assigned), baseline.total) <= (count, total)


def test_the_same_seed_gives_the_same_assignment_and_seeds_break_ties() -> None:
    # Two experts, one seat, equal scores: either is optimal.
    demand, capacity = {"a": 1}, {"x": 1, "y": 1}
    pairs = [Pair("a", "x", 5), Pair("a", "y", 5)]
    chosen = {solve(demand, capacity, pairs, seed=s).assigned[0].expert for s in range(12)}
    assert chosen == {"x", "y"}  # the seed picks among equally good assignments
    for seed in range(5):
        first = solve(demand, capacity, pairs, seed=seed).assigned
        assert solve(demand, capacity, pairs, seed=seed).assigned == first


def test_the_count_of_reviews_comes_before_the_score() -> None:
    # Giving b its only expert costs a its best one: two reviews beat one better review.
    demand, capacity = {"a": 1, "b": 1}, {"x": 1, "y": 1}
    pairs = [Pair("a", "x", 9), Pair("a", "y", 1), Pair("b", "x", 1)]
    solution = solve(demand, capacity, pairs)
    assert sorted((p.item, p.expert) for p in solution.assigned) == [("a", "y"), ("b", "x")]
    assert solution.unassignable == {}


def test_pricing_from_a_few_columns_still_finds_the_optimum() -> None:
    """Starting from each item's best pair only, the duals bring in what is missing."""
    rng = random.Random(7)
    for _ in range(15):
        demand, capacity, pairs = _instance(rng)
        problem = Problem.from_pairs(demand, capacity, pairs)
        chosen, certificate = solve_problem(problem, start_per_item=1, seed=1)
        solution = problem.solution(chosen, certificate)
        assert (len(solution.assigned), solution.total) == _best(demand, capacity, pairs, False)


def test_match_puts_subject_codes_before_keywords() -> None:
    item = ItemProfile("a", ("210.2010", "210.2020"), frozenset({"小麦", "节水", "栽培", "土壤"}))
    in_field = ExpertProfile("x", frozenset({"210.2010"}), frozenset(), frozenset())
    by_keywords = ExpertProfile(
        "y", frozenset({"999.10"}), frozenset({"210.2020"}), frozenset(item.keywords)
    )
    outsider = ExpertProfile("z", frozenset({"999.10"}), frozenset(), frozenset(item.keywords))
    first, second = match(item, in_field), match(item, by_keywords)
    assert first is not None
    assert second is not None
    assert first.score > second.score  # the primary code outweighs every shared keyword
    assert match(item, outsider) is None  # no code shared: not in the field
    assert first.explanation
