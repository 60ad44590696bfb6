"""The most reviews: a maximum flow (scipy's Dinic) through the assignment network."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import maximum_flow

from services.projects.review.solver.problem import NO_GROUP, IntArray, Problem


def max_flow_pairs(problem: Problem, keys: IntArray, columns: IntArray) -> IntArray:
    """The pairs (among ``columns``) carrying one maximum flow: source -> expert (load) ->
    [(item, group) slot, capacity 1] -> item (demand) -> sink."""
    n_experts, n_items = len(problem.experts), len(problem.items)
    experts, items = problem.pair_expert[columns], problem.pair_item[columns]
    slot = _slots(keys[columns])
    n_slots = int(slot.max()) + 1 if slot.size else 0
    first_slot, first_item = 1 + n_experts, 1 + n_experts + n_slots
    sink = first_item + n_items
    slot_item = np.zeros(n_slots, dtype=np.int64)
    slot_item[slot[slot >= 0]] = items[slot >= 0]
    pair_from = 1 + experts
    pair_to = np.where(slot >= 0, first_slot + slot, first_item + items)
    tails = np.concatenate(
        [
            np.zeros(n_experts, dtype=np.int64),
            pair_from,
            first_slot + np.arange(n_slots),
            first_item + np.arange(n_items),
        ]
    )
    heads = np.concatenate(
        [1 + np.arange(n_experts), pair_to, first_item + slot_item, np.full(n_items, sink)]
    )
    capacity = np.concatenate(
        [problem.capacity, np.ones(len(columns) + n_slots, dtype=np.int64), problem.demand]
    )
    graph = sparse.csr_array(
        (capacity.astype(np.int32), (tails.astype(np.int32), heads.astype(np.int32))),
        shape=(sink + 1, sink + 1),
    )
    flow = maximum_flow(graph, 0, sink).flow.tocsr()
    carried = np.asarray(flow[pair_from, pair_to]).ravel()
    return columns[carried > 0]


def _slots(keys: IntArray) -> IntArray:
    """A slot number per pair whose (item, group) has two or more pairs here, -1 otherwise."""
    slot = np.full(len(keys), -1, dtype=np.int64)
    grouped = np.flatnonzero(keys != NO_GROUP)
    _, inverse, counts = np.unique(keys[grouped], return_inverse=True, return_counts=True)
    shared = counts >= 2
    numbers = np.cumsum(shared) - 1
    slot[grouped] = np.where(shared[inverse], numbers[inverse], -1)
    return slot
