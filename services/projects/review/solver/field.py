"""``match`` for every pair of a call at once: the pairs that share a subject code, and their
scores, as arrays. A large call has millions of such pairs; scoring them one by one (a Python
call, sets and an explanation dict each) took about 45 us and 1.4 KB per pair. Here a pair
costs a few array operations and 24 bytes, and its explanation is asked of ``match`` only for
the pairs someone looks at.

Codes and keywords are numbered (only those some item names: the others cannot score), each
expert's keywords are a row of bits, and the pairs come from an index of experts by code: per
code, the items naming it times the experts holding it, never all items times all experts.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from services.projects.review.solver.match import (
    FURTHER_CODE,
    KEYWORD,
    KEYWORDS_COUNTED,
    PRIMARY_IN_PRIMARY,
    PRIMARY_IN_SECONDARY,
    ExpertProfile,
    ItemProfile,
    normalise_keyword,
)
from services.projects.review.solver.problem import IntArray, sorted_unique

Bits = npt.NDArray[np.uint8]
NONE = -1


def _further(subjects: tuple[str, ...]) -> list[str]:
    """The item's codes after the primary one, once each (as ``match`` counts them)."""
    seen = {subjects[0]}
    further = []
    for code in subjects[1:]:
        if code not in seen:
            seen.add(code)
            further.append(code)
    return further


def _padded(rows: Sequence[Sequence[int]]) -> IntArray:
    width = max((len(r) for r in rows), default=0)
    table = np.full((len(rows), width), NONE, dtype=np.int64)
    for i, row in enumerate(rows):
        table[i, : len(row)] = row
    return table


def _bits(rows: Sequence[Sequence[int]], width: int) -> Bits:
    """One row of bits per expert (bit k: holds number k), packed 8 to a byte."""
    dense = np.zeros((len(rows), max(width, 1)), dtype=bool)
    for e, row in enumerate(rows):
        dense[e, list(row)] = True
    return np.packbits(dense, axis=1, bitorder="little")


def _holds(bits: Bits, experts: IntArray, numbers: IntArray) -> npt.NDArray[np.bool_]:
    """Per pair: does the expert hold the number (NONE: no)?"""
    valid = numbers >= 0
    at = np.where(valid, numbers, 0)
    held = (bits[experts, at >> 3] >> (at & 7).astype(np.uint8)) & 1
    return valid & held.astype(bool)


class FieldIndex:
    """The items and experts of a call, numbered by position, ready to score pairs."""

    def __init__(self, items: Sequence[ItemProfile], experts: Sequence[ExpertProfile]) -> None:
        self.n_items, self.n_experts = len(items), len(experts)
        code_at: dict[str, int] = {}
        for item in items:
            for code in item.subjects:
                code_at.setdefault(code, len(code_at))
        self.n_codes = len(code_at)
        self.primary = np.array(
            [code_at[i.subjects[0]] if i.subjects else NONE for i in items], dtype=np.int64
        )
        self.further = _padded(
            [[code_at[c] for c in _further(i.subjects)] if i.subjects else [] for i in items]
        )
        self.item_codes = [
            sorted({code_at[c] for c in i.subjects}) if i.subjects else [] for i in items
        ]
        word_at: dict[str, int] = {}
        item_words = []
        for item in items:
            words = {normalise_keyword(k) for k in item.keywords} - {""}
            item_words.append([word_at.setdefault(w, len(word_at)) for w in sorted(words)])
        self.words = _padded(item_words)

        def numbered(codes: frozenset[str]) -> list[int]:
            return [code_at[c] for c in codes if c in code_at]

        self.expert_primary = _bits([numbered(e.primary) for e in experts], self.n_codes)
        self.expert_secondary = _bits([numbered(e.secondary) for e in experts], self.n_codes)
        self.expert_words = _bits(
            [
                [word_at[w] for w in {normalise_keyword(k) for k in e.keywords} if w in word_at]
                for e in experts
            ],
            len(word_at),
        )

    def pairs(self) -> IntArray:
        """``item * n_experts + expert`` for every pair sharing a subject code, sorted."""
        holders: list[list[int]] = [[] for _ in range(self.n_codes)]
        codes_held = self.expert_primary | self.expert_secondary
        for code in range(self.n_codes):
            column = (codes_held[:, code >> 3] >> (code & 7)) & 1
            holders[code] = np.flatnonzero(column).tolist()
        naming: list[list[int]] = [[] for _ in range(self.n_codes)]
        for i, codes in enumerate(self.item_codes):
            for code in codes:
                naming[code].append(i)
        keys = [
            (
                np.array(naming[c], dtype=np.int64)[:, None] * self.n_experts
                + np.array(holders[c], dtype=np.int64)[None, :]
            ).ravel()
            for c in range(self.n_codes)
            if naming[c] and holders[c]
        ]
        if not keys:
            return np.zeros(0, dtype=np.int64)
        return sorted_unique(np.concatenate(keys))

    def scores(self, pair_item: IntArray, pair_expert: IntArray) -> IntArray:
        """``match(item, expert).score`` for each pair (all sharing a code)."""
        primary = self.primary[pair_item]
        score = np.where(
            _holds(self.expert_primary, pair_expert, primary),
            PRIMARY_IN_PRIMARY,
            np.where(_holds(self.expert_secondary, pair_expert, primary), PRIMARY_IN_SECONDARY, 0),
        ).astype(np.int64)
        codes_held = self.expert_primary | self.expert_secondary
        for slot in range(self.further.shape[1]):
            score += FURTHER_CODE * _holds(codes_held, pair_expert, self.further[pair_item, slot])
        shared = np.zeros(len(pair_item), dtype=np.int64)
        for slot in range(self.words.shape[1]):
            shared += _holds(self.expert_words, pair_expert, self.words[pair_item, slot])
        score += KEYWORD * np.minimum(shared, KEYWORDS_COUNTED)
        return score
