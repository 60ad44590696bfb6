"""The assignment problem: items with a demand, experts with a capacity, and the allowed pairs
with their scores, held as arrays (a call's candidate pairs run into the millions)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
NO_GROUP = -1


@dataclass(frozen=True)
class Pair:
    item: str
    expert: str
    score: int
    group: str | None = None  # the expert's organization, for the one-per-organization rule


@dataclass
class Solution:
    assigned: list[Pair]
    total: int
    min_item_score: int  # smallest per-item sum among fully served items
    unassignable: dict[str, int]  # item -> how many experts it is short of
    certificate: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class Problem:
    """Items, experts and groups are referred to by position; pair ``p`` is
    (``pair_item[p]``, ``pair_expert[p]``) with ``pair_score[p]`` and ``pair_group[p]``
    (``NO_GROUP`` when the pair belongs to none)."""

    items: tuple[str, ...]
    experts: tuple[str, ...]
    groups: tuple[str, ...]
    demand: IntArray
    capacity: IntArray
    pair_item: IntArray
    pair_expert: IntArray
    pair_score: IntArray
    pair_group: IntArray

    def __post_init__(self) -> None:
        n_items, n_experts, n_pairs = len(self.items), len(self.experts), len(self.pair_item)
        if self.demand.shape != (n_items,) or self.capacity.shape != (n_experts,):
            raise ValueError("one demand per item and one capacity per expert")
        if any(len(a) != n_pairs for a in (self.pair_expert, self.pair_score, self.pair_group)):
            raise ValueError("pair arrays differ in length")
        if (self.demand < 0).any() or (self.capacity < 0).any():
            raise ValueError("demands and capacities must not be negative")
        if n_pairs == 0:
            return
        if self.pair_item.min() < 0 or self.pair_item.max() >= n_items:
            raise ValueError("a pair names an unknown item")
        if self.pair_expert.min() < 0 or self.pair_expert.max() >= n_experts:
            raise ValueError("a pair names an unknown expert")
        if self.pair_group.min() < NO_GROUP or self.pair_group.max() >= len(self.groups):
            raise ValueError("a pair names an unknown group")
        keys = np.sort(self.pair_item * n_experts + self.pair_expert)
        if (keys[1:] == keys[:-1]).any():
            raise ValueError("the same item and expert appear in more than one pair")

    @property
    def n_pairs(self) -> int:
        return len(self.pair_item)

    @classmethod
    def from_pairs(
        cls, demand: Mapping[str, int], capacity: Mapping[str, int], pairs: Sequence[Pair]
    ) -> Problem:
        """Ids in sorted order and pairs sorted by (item, expert), so that the order the caller
        lists things in never changes the result."""
        items = tuple(sorted(demand))
        experts = tuple(sorted(capacity))
        groups = tuple(sorted({p.group for p in pairs if p.group is not None}))
        item_at = {item: i for i, item in enumerate(items)}
        expert_at = {expert: e for e, expert in enumerate(experts)}
        group_at = {group: g for g, group in enumerate(groups)}
        try:
            pair_item = [item_at[p.item] for p in pairs]
            pair_expert = [expert_at[p.expert] for p in pairs]
        except KeyError as missing:
            raise ValueError(f"a pair names an unknown item or expert: {missing}") from None
        order = np.lexsort((np.array(pair_expert, dtype=np.int64), np.array(pair_item)))
        return cls(
            items=items,
            experts=experts,
            groups=groups,
            demand=np.array([demand[i] for i in items], dtype=np.int64),
            capacity=np.array([capacity[e] for e in experts], dtype=np.int64),
            pair_item=np.array(pair_item, dtype=np.int64)[order],
            pair_expert=np.array(pair_expert, dtype=np.int64)[order],
            pair_score=np.array([p.score for p in pairs], dtype=np.int64)[order],
            pair_group=np.array(
                [NO_GROUP if p.group is None else group_at[p.group] for p in pairs],
                dtype=np.int64,
            )[order],
        )

    def pair(self, p: int) -> Pair:
        group = int(self.pair_group[p])
        return Pair(
            item=self.items[self.pair_item[p]],
            expert=self.experts[self.pair_expert[p]],
            score=int(self.pair_score[p]),
            group=None if group == NO_GROUP else self.groups[group],
        )

    def group_keys(self) -> IntArray:
        """One number per (item, group) for the pairs that have a group, NO_GROUP otherwise."""
        return np.where(
            self.pair_group == NO_GROUP,
            NO_GROUP,
            self.pair_item * max(len(self.groups), 1) + self.pair_group,
        )

    def served_limit(self, *, one_per_group: bool) -> IntArray:
        """Per item, the most experts any assignment can give it: its demand, or fewer when it
        has fewer allowed experts (or, one per group, fewer groups and ungrouped experts)."""
        if one_per_group:
            keys = self.group_keys()
            grouped = sorted_unique(keys[keys != NO_GROUP])
            lanes = np.bincount(
                grouped // max(len(self.groups), 1), minlength=len(self.items)
            ) + np.bincount(self.pair_item[keys == NO_GROUP], minlength=len(self.items))
        else:
            lanes = np.bincount(self.pair_item, minlength=len(self.items))
        return np.minimum(self.demand, lanes)

    def tie_breaks(self, seed: int) -> npt.NDArray[np.float64]:
        """A seeded number in [0, 1) per pair: the order among equally good pairs."""
        return np.random.default_rng(seed).random(self.n_pairs)

    def solution(self, chosen: IntArray, certificate: dict[str, Any]) -> Solution:
        """The caller's view of the chosen pairs (positions into the pair arrays)."""
        chosen = np.asarray(chosen, dtype=np.int64)
        order = np.lexsort((-self.pair_score[chosen], self.pair_item[chosen]))
        chosen = chosen[order]
        served = np.bincount(self.pair_item[chosen], minlength=len(self.items))
        sums = np.bincount(
            self.pair_item[chosen], weights=self.pair_score[chosen], minlength=len(self.items)
        )
        full = (served >= self.demand) & (self.demand > 0)
        short = np.flatnonzero(served < self.demand)
        return Solution(
            assigned=[self.pair(int(p)) for p in chosen],
            total=int(self.pair_score[chosen].sum()),
            min_item_score=int(sums[full].min()) if full.any() else 0,
            unassignable={self.items[i]: int(self.demand[i] - served[i]) for i in short},
            certificate=certificate,
        )


def sorted_unique(values: IntArray) -> IntArray:
    """``np.unique`` by sorting: numpy 2's default hashing takes seconds on millions of keys."""
    ordered = np.sort(values)
    if ordered.size == 0:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
