"""Each item's pairs, grouped by owner, for the per-item work on millions of pairs.

An owner is what an item can take at most one of: its (item, group) when one expert per group
is the rule, otherwise the pair alone. An item's best choice at given values is then its best
pair per owner (the owner's lead), and of the leads, the best ones.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from services.projects.review.solver.problem import NO_GROUP, IntArray, Problem

FloatArray = npt.NDArray[np.float64]


def rank_within(owner: IntArray, cost: FloatArray) -> IntArray:
    """Each entry's position among the entries of the same owner, cheapest first."""
    order = np.lexsort((cost, owner))
    sorted_owners = owner[order]
    first = np.searchsorted(sorted_owners, sorted_owners)
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - first
    return rank


class PairSegments:
    def __init__(self, problem: Problem, keys: IntArray) -> None:
        self.problem = problem
        n = problem.n_pairs
        owner = np.where(keys == NO_GROUP, -2 - np.arange(n), keys)
        self.order = np.lexsort((owner, problem.pair_item))  # by item, then owner
        owner = owner[self.order]
        self.owner_starts = np.flatnonzero(np.concatenate(([True], owner[1:] != owner[:-1])))
        sizes = np.diff(np.append(self.owner_starts, n))
        self.owner_item = problem.pair_item[self.order][self.owner_starts]
        self.owner_at = np.repeat(np.arange(len(self.owner_starts)), sizes)  # sorted position

    def best_per_owner(self, value: FloatArray) -> FloatArray:
        return np.maximum.reduceat(value[self.order], self.owner_starts)

    def owner_rank(self, best: FloatArray) -> IntArray:
        """Each owner's place among its item's owners, best lead first."""
        return rank_within(self.owner_item, -best)

    def best_pairs(
        self, value: FloatArray, per_item: IntArray, per_owner: int = 1
    ) -> npt.NDArray[np.bool_]:
        """As a mask: the ``per_owner`` best pairs of each item's ``per_item`` best owners
        (ranked by their best pair)."""
        in_order = value[self.order].copy()
        mask = np.zeros(self.problem.n_pairs, dtype=bool)
        wanted: npt.NDArray[np.bool_] | None = None
        for _ in range(per_owner):
            best = np.maximum.reduceat(in_order, self.owner_starts)
            if wanted is None:
                wanted = self.owner_rank(best) < per_item[self.owner_item]
            at = np.flatnonzero((in_order == best[self.owner_at]) & np.isfinite(in_order))
            first = at[np.concatenate(([True], self.owner_at[at][1:] != self.owner_at[at][:-1]))]
            first = first[wanted[self.owner_at[first]]]
            mask[self.order[first]] = True
            in_order[first] = -np.inf
        return mask

    def item_bound(
        self, price: FloatArray, per_review: float, takes: IntArray, *, exact: bool, reviews: int
    ) -> float:
        """The Lagrangian bound that relaxes only the experts' loads (prices ``price`` >= 0)
        and the number of reviews (``per_review``): each item keeps its own rules exactly and
        takes its best ``takes`` leads valued ``score - price - per_review`` (when items may
        stay short, only those of positive value). No assignment with ``reviews`` reviews
        scores more, whatever the prices."""
        problem = self.problem
        value = problem.pair_score - price[problem.pair_expert] - per_review
        best = self.best_per_owner(value)
        taken = self.owner_rank(best) < takes[self.owner_item]
        if not exact:
            taken &= best > 0
        return float(problem.capacity @ price + reviews * per_review + best[taken].sum())
