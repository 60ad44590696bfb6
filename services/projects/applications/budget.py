"""Indirect costs within the tiered limits of the 2021 reform.

国办发〔2021〕32号《关于改革完善中央财政科研经费管理的若干意见》: indirect costs are set as a
share of the direct costs *less equipment purchases*, by tiers of that base:

- up to 5 million yuan (500,000,000 fen): at most 30 %;
- the part between 5 and 10 million yuan: at most 25 %;
- the part above 10 million yuan: at most 20 %.

Everything is integer fen; each tier's share is rounded down, so the limit never exceeds what
the rule allows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

FIVE_MILLION_YUAN = 500_000_000  # fen
TEN_MILLION_YUAN = 1_000_000_000  # fen
TIERS: tuple[tuple[int, int | None, int], ...] = (
    # (from fen, to fen (None: no upper end), percent)
    (0, FIVE_MILLION_YUAN, 30),
    (FIVE_MILLION_YUAN, TEN_MILLION_YUAN, 25),
    (TEN_MILLION_YUAN, None, 20),
)
DIRECT_CATEGORIES = ("equipment", "business", "labour")


def indirect_base(budget: Mapping[str, int]) -> int:
    """Direct costs less equipment purchases: what the indirect share is computed on."""
    return budget.get("business", 0) + budget.get("labour", 0)


def indirect_limit(base_fen: int) -> int:
    """The most indirect costs (fen) allowed on `base_fen` of direct costs less equipment."""
    limit = 0
    for low, high, percent in TIERS:
        if base_fen <= low:
            break
        part = (base_fen if high is None else min(base_fen, high)) - low
        limit += part * percent // 100
    return limit


def total(budget: Mapping[str, int]) -> int:
    return sum(budget.get(k, 0) for k in (*DIRECT_CATEGORIES, "indirect"))


@dataclass(frozen=True)
class IndirectCheck:
    """A budget's indirect costs next to the most the tiers allow on it."""

    indirect_fen: int
    limit_fen: int

    @property
    def within(self) -> bool:
        return self.indirect_fen <= self.limit_fen


def check_indirect(budget: Mapping[str, int]) -> IndirectCheck:
    """The one place drafting and the formal check judge indirect costs against the tiers."""
    return IndirectCheck(budget.get("indirect", 0), indirect_limit(indirect_base(budget)))
