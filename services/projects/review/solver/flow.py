"""The optimal assignment: as many reviews as possible, then the highest total score.

The model is a flow: source -> expert (capacity: load left) -> [(item, group), capacity 1, when
one expert per group] -> item (capacity: demand) -> sink, one arc per allowed pair. Solved in two
steps, both exact:

1. The most reviews: the sum over items of their demand, capped by how many experts (groups,
   when one per group) each has. When a max flow (scipy's Dinic) reaches that cap it is proven;
   otherwise the max flow over all pairs is the number.
2. The highest total score with exactly that many reviews: a linear program (HiGHS) with one
   column per pair and one row per expert, per item, per (item, group) with two or more pairs,
   and, when some items must stay short, one row for the number of reviews. The expert rows and
   the nested item/group/total rows are two laminar families, so the matrix is totally
   unimodular and a vertex is an assignment; it is checked (every value within 1e-6 of 0 or 1)
   and solved as an integer program (``milp``) if it ever is not.

Certificate: from the LP duals, two upper bounds on the score of every assignment with that many
reviews, over ALL pairs (not only those in the LP): the LP dual objective extended to every pair
(``b.y + sum(min(0, reduced cost))``), and the tighter Lagrangian bound that relaxes only the
experts' loads (``PairSegments.item_bound``). Scores are integers, so a bound less than 1 above
the total proves that no assignment with as many reviews scores more.

Up to ``ALL_PAIRS_UP_TO`` pairs, one ``linprog`` over all of them (dual simplex, or interior
point with crossover when large). Beyond, column generation: the first LP takes each item's best
pairs, one per group; pairs of negative reduced cost join (a few per item and round) until the
bound proves the LP's assignment over all pairs. Those LPs live in one HiGHS instance
(``growing.GrowingLP``, through ``highspy``) so that a round adding few pairs restarts from the
last basis; if that fast path fails in any way (``highspy`` missing, an error, a status other
than optimal), column generation starts again from the same pairs with ``linprog``. The log and
the certificate (``lp_solver``) say which path ran.

Ties: each pair's cost gets a seeded tie-break in [0, 1/(reviews + 1)); summed over any
assignment it stays below 1, one unit of score, so it only chooses among equally good
assignments (in column generation, among those the LP's pairs allow). The same seed gives the
same assignment; another seed may pick another among ties.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Any

import numpy as np
import numpy.typing as npt

from services.projects.review.solver import growing
from services.projects.review.solver.greedy import greedy, greedy_problem
from services.projects.review.solver.lp import Duals, RestrictedLP, SolverFailed
from services.projects.review.solver.network import max_flow_pairs
from services.projects.review.solver.problem import NO_GROUP, IntArray, Pair, Problem, Solution
from services.projects.review.solver.segments import PairSegments, rank_within

__all__ = [
    "Pair",
    "Problem",
    "Solution",
    "SolverFailed",
    "greedy",
    "greedy_problem",
    "solve",
    "solve_problem",
]

log = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]
INTEGRAL = 1e-6
PRICE = 1e-7  # reduced costs above -PRICE do not join
ALL_PAIRS_UP_TO = 50_000
START_BEYOND_DEMAND = 15  # a large call's first LP takes demand + this many best pairs per item
PRICED_PER_ITEM = 3  # at most this many pairs per item join in one pricing round
PROVEN = 1 - 1e-9  # a bound less than this above an integer total proves it
HIGHSPY = "highspy"  # column generation in one HiGHS instance (the fast path)
LINPROG = "linprog"  # every LP solved anew by scipy


def solve(
    demand: Mapping[str, int],
    capacity: Mapping[str, int],
    pairs: Sequence[Pair],
    *,
    one_per_group: bool = False,
    seed: int = 0,
) -> Solution:
    problem = Problem.from_pairs(demand, capacity, pairs)
    chosen, certificate = solve_problem(problem, one_per_group=one_per_group, seed=seed)
    return problem.solution(chosen, certificate)


class _FromScratch:
    """Column generation with ``linprog``: every round solves the LP anew."""

    def __init__(
        self,
        problem: Problem,
        keys: IntArray,
        cost: FloatArray,
        columns: IntArray,
        limit: IntArray,
        reviews: int,
    ) -> None:
        self.args, self.cost = (problem, keys, cost), cost
        self.limit, self.reviews, self.columns = limit, reviews, columns

    def solve(self) -> FloatArray:
        self.lp = RestrictedLP(*self.args, self.columns, self.limit, self.reviews)
        self.result = self.lp.solve()
        return np.asarray(self.result.x, dtype=np.float64)

    def duals(self) -> Duals:
        return self.lp.duals(self.result)

    def add(self, pairs: IntArray) -> None:
        self.columns = np.concatenate([self.columns, pairs])

    @property
    def status(self) -> str:
        return str(self.result.message)


@dataclass
class _Priced:
    """Where column generation stopped: the LP's solution and the bounds its duals give."""

    columns: IntArray
    x: FloatArray
    status: str
    lp_bound: float
    item_bound: float
    rounds: int
    solver: str = LINPROG

    @property
    def bound(self) -> float:
        return min(self.lp_bound, self.item_bound)


def solve_problem(
    problem: Problem,
    *,
    one_per_group: bool = False,
    seed: int = 0,
    start_per_item: int | None = None,
) -> tuple[IntArray, dict[str, Any]]:
    """The chosen pairs (positions into the problem's pairs) and how optimality was
    established. ``start_per_item`` forces column generation from that many best pairs per
    item (by default only calls with more than ``ALL_PAIRS_UP_TO`` pairs use it)."""
    started = perf_counter()
    limit = problem.served_limit(one_per_group=one_per_group)
    most = int(limit.sum())
    certificate: dict[str, Any] = {
        "method": "max flow for the number of reviews, then a linear program (HiGHS)",
        "seed": seed,
        "candidate_pairs": problem.n_pairs,
        "reviews_upper_bound": most,
    }
    if most == 0:
        return np.zeros(0, dtype=np.int64), certificate | _nothing_to_assign(started)

    keys = problem.group_keys() if one_per_group else np.full(problem.n_pairs, NO_GROUP)
    score = problem.pair_score.astype(np.float64)
    cost = -(score + problem.tie_breaks(seed) / (most + 1))
    segments = PairSegments(problem, keys)
    whole = start_per_item is None and problem.n_pairs <= ALL_PAIRS_UP_TO
    if whole:
        columns = np.ones(problem.n_pairs, dtype=bool)
    else:
        per_item = (
            problem.demand + START_BEYOND_DEMAND
            if start_per_item is None
            else np.full(len(problem.items), start_per_item)
        )
        columns = segments.best_pairs(-cost, per_item)
    reviews, proof = _most_reviews(problem, keys, columns, most, one_per_group, seed)
    certificate |= {"reviews": reviews, "reviews_proven_by": proof}

    priced = _column_generation(problem, segments, keys, cost, columns, limit, reviews, whole)
    x = priced.x
    integral = _is_integral(x)
    if not integral:
        x = RestrictedLP(problem, keys, cost, priced.columns, limit, reviews).solve_integer()
    chosen = priced.columns[np.round(x) == 1]
    total = int(problem.pair_score[chosen].sum())
    bound = priced.bound
    certificate |= {
        "method": certificate["method"]
        + ("" if whole else " over each item's best pairs, the others priced in with its duals"),
        "lp_solver": priced.solver,
        "solver_status": priced.status,
        "total": total,
        "lp_objective": float(problem.pair_score[priced.columns] @ priced.x),
        "lp_dual_bound": priced.lp_bound,
        "item_bound": priced.item_bound,
        "dual_bound": bound,
        "gap": bound - total,
        "optimal": bound - total < PROVEN,
        "pricing_rounds": priced.rounds,
        "columns": int(priced.columns.size),
        "integral": integral,
        "seconds": round(perf_counter() - started, 3),
    }
    if not integral:
        certificate["note"] = "the LP vertex was fractional: solved as an integer program"
    return chosen, certificate


def _column_generation(
    problem: Problem,
    segments: PairSegments,
    keys: IntArray,
    cost: FloatArray,
    columns: Mask,
    limit: IntArray,
    reviews: int,
    whole: bool,
) -> _Priced:
    """The LP over ``columns`` (grown by pricing): in one HiGHS instance unless it holds every
    pair already; with ``linprog`` from the same start if that fails."""
    if not whole:
        start = columns.copy()
        try:
            fast = growing.GrowingLP(problem, keys, cost, np.flatnonzero(columns), limit, reviews)
            priced = _price_in(problem, segments, fast, columns, limit, reviews)
        except Exception:
            # Slower, never wrong: the same column generation, each LP solved by linprog.
            log.warning(
                "assignment LP: the highspy path failed, falling back to linprog", exc_info=True
            )
            columns[:] = start
        else:
            log.info("assignment LP: column generation with highspy (%d pairs)", problem.n_pairs)
            priced.solver = HIGHSPY
            return priced
    lp = _FromScratch(problem, keys, cost, np.flatnonzero(columns), limit, reviews)
    priced = _price_in(problem, segments, lp, columns, limit, reviews)
    log.info(
        "assignment LP: %s with linprog (%d pairs)",
        "one LP over all pairs" if whole else "column generation",
        problem.n_pairs,
    )
    return priced


def _most_reviews(
    problem: Problem,
    keys: IntArray,
    columns: Mask,
    most: int,
    one_per_group: bool,
    seed: int,
) -> tuple[int, str]:
    """The most reviews any assignment gives, and the pairs of one such assignment join
    ``columns`` (so that the LP over them is feasible)."""
    flow = max_flow_pairs(problem, keys, np.flatnonzero(columns))
    if len(flow) < most and not columns.all():
        # the baseline's pairs spread over the experts' loads: usually enough
        columns[greedy_problem(problem, one_per_group=one_per_group, seed=seed)[0]] = True
        flow = max_flow_pairs(problem, keys, np.flatnonzero(columns))
    if len(flow) < most and not columns.all():
        flow = max_flow_pairs(problem, keys, np.arange(problem.n_pairs))
    columns[flow] = True
    if len(flow) == most:
        return most, "a max flow reaches the upper bound"
    return len(flow), "max flow over all pairs"


def _price_in(
    problem: Problem,
    segments: PairSegments,
    lp: _FromScratch | growing.GrowingLP,
    columns: Mask,
    limit: IntArray,
    reviews: int,
) -> _Priced:
    """Column generation until the duals prove the LP's assignment (or nothing prices in)."""
    exact = reviews == int(limit.sum())
    takes = limit if exact else problem.demand
    rounds = 0
    while True:
        rounds += 1
        x = lp.solve()
        duals = lp.duals()
        # the bounds are on the score alone: reduced costs without the tie-breaks
        without_ties = duals.reduced - problem.pair_score - lp.cost
        priced = _Priced(
            columns=lp.columns,
            x=x,
            status=lp.status,
            lp_bound=-float(duals.rows_value + np.minimum(0.0, without_ties).sum()),
            item_bound=segments.item_bound(
                duals.price, duals.per_review, takes, exact=exact, reviews=reviews
            ),
            rounds=rounds,
        )
        chosen = lp.columns[np.round(x) == 1]
        if _is_integral(x) and priced.bound - problem.pair_score[chosen].sum() < PROVEN:
            return priced  # no assignment scores more; what could still join are ties
        joining = _joining(problem, duals.reduced, columns)
        if joining.size == 0:
            return priced
        columns[joining] = True
        lp.add(joining)


def _joining(problem: Problem, reduced: FloatArray, columns: Mask) -> IntArray:
    """Pairs left out whose reduced cost is negative, the most negative per item first."""
    candidates = np.flatnonzero(~columns & (reduced < -PRICE))
    if candidates.size == 0:
        return candidates
    rank = rank_within(problem.pair_item[candidates], reduced[candidates])
    return candidates[rank < PRICED_PER_ITEM]


def _is_integral(x: FloatArray) -> bool:
    return bool(np.all(np.abs(x - np.round(x)) <= INTEGRAL))


def _nothing_to_assign(started: float) -> dict[str, Any]:
    return {
        "reviews": 0,
        "reviews_proven_by": "no item has an allowed pair (or any demand)",
        "total": 0,
        "dual_bound": 0.0,
        "gap": 0.0,
        "optimal": True,
        "pricing_rounds": 0,
        "columns": 0,
        "integral": True,
        "seconds": round(perf_counter() - started, 3),
    }
