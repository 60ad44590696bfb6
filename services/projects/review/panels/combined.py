"""The arithmetic of a two-stage review: no database, numbers in and numbers out.

- The written part of an application is the trimmed mean of its experts' weighted totals in
  the written round (0..100; the written round's own rule for trimming), whatever the written
  round ranks by: a normalised mean (z-scores) is not on the panel's scale and cannot be
  weighted against it.
- The panel part is the trimmed mean of the seated members' scores (0..100), by the same rule:
  one highest and one lowest dropped from 5 scores on.
- Combined = (written weight * written part + panel weight * panel part) / 100, the weights
  (whole percentages adding up to 100) being the call's setting.
- Rank: the higher combined first; ties go to the higher panel part, then the higher written
  part, then the lower application id. Values are exact fractions until shown, rounded half
  up to 3 decimals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from uuid import UUID

from services.projects.review.scoring.aggregate import TOTAL_PLACES, mean, trimmed_mean


def shown(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
        TOTAL_PLACES, rounding=ROUND_HALF_UP
    )


def panel_part(scores: Sequence[int]) -> Fraction | None:
    """The trimmed mean of the members' scores; None without any."""
    if not scores:
        return None
    return trimmed_mean([Fraction(s) for s in scores])


def panel_mean(scores: Sequence[int]) -> Fraction | None:
    return mean([Fraction(s) for s in scores]) if scores else None


def combine(
    written: Fraction, panel: Fraction, *, written_weight: int, panel_weight: int
) -> Fraction:
    return (written_weight * written + panel_weight * panel) / 100


@dataclass(frozen=True)
class Entry:
    application_id: UUID
    written: Fraction
    panel: Fraction | None  # None until a member scored it


@dataclass(frozen=True)
class Placed:
    entry: Entry
    combined: Fraction | None
    rank: int | None  # None while it has no panel score


def rank(entries: Sequence[Entry], *, written_weight: int, panel_weight: int) -> list[Placed]:
    """Entries with a panel part ranked 1..n (no shared places), then those without, unranked."""
    scored = [
        (e, combine(e.written, e.panel, written_weight=written_weight, panel_weight=panel_weight))
        for e in entries
        if e.panel is not None
    ]
    scored.sort(key=lambda p: (-p[1], -(p[0].panel or 0), -p[0].written, p[0].application_id))
    placed = [Placed(e, c, place) for place, (e, c) in enumerate(scored, start=1)]
    waiting = sorted(
        (e for e in entries if e.panel is None), key=lambda e: (-e.written, e.application_id)
    )
    return placed + [Placed(e, None, None) for e in waiting]
