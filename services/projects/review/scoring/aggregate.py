"""The arithmetic of review scores: no database, no clock, numbers in and numbers out.

Conventions (the API and its documentation say the same):

- An expert's weighted total is on a 0..100 scale: sum over criteria of
  weight * (score - min) / (max - min), the weights adding up to 100 (the template's rule; the
  sum is divided by the weights' total, times 100, so it stays on 0..100 regardless). Totals
  are rounded half up to 3 decimals, as stored.
- Per application: mean, median (the mean of the two middle values for an even count),
  trimmed mean (one highest and one lowest dropped when there are at least 5 reviews, else the
  mean), standard deviation as the sample one (n - 1; 0 for a single review) and the spread
  (max - min). Mean, median and trimmed mean are exact (fractions of the stored totals); only
  the standard deviation and the z-scores are floating point.
- Normalisation: each expert's totals over all their submitted sheets in the round become
  z-scores with that expert's own mean and sample standard deviation, so a harsh and a lenient
  expert count alike. An expert with fewer than 2 sheets, or whose sheets are all equal, gives
  z = 0 (nothing to calibrate against). An application's normalised score is its experts'
  mean z.
- Disagreement: the standard deviation above `disagreement_sd` or the spread above twice it.
- Rank: by the normalised mean when the round normalises, else by the trimmed mean; higher is
  better; ties go to the higher mean, then to the lower application id, so the order never
  depends on the order the rows came in. Applications without a submitted review get no rank.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Protocol

TRIM_FROM = 5  # reviews needed before the highest and the lowest are dropped
DEFAULT_DISAGREEMENT_SD = 15.0
TOTAL_SCALE = 100
TOTAL_PLACES = Decimal("0.001")
# Scores compare at this many decimals, so float noise in z-scores cannot break a tie.
RANK_PLACES = 9


class Scale(Protocol):
    """A criterion as the review template states it."""

    @property
    def code(self) -> str: ...
    @property
    def weight(self) -> int: ...
    @property
    def min(self) -> int: ...
    @property
    def max(self) -> int: ...


def weighted_total(scores: Mapping[str, int], criteria: Sequence[Scale]) -> Decimal:
    """The 0..100 total of a complete set of scores (one for every criterion)."""
    weights = sum(c.weight for c in criteria)
    total = sum(
        (Fraction(c.weight) * Fraction(scores[c.code] - c.min, c.max - c.min) for c in criteria),
        Fraction(0),
    )
    exact = total * TOTAL_SCALE / weights
    return (Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(
        TOTAL_PLACES, rounding=ROUND_HALF_UP
    )


# --- statistics of one application's totals ---------------------------------------------------


def mean(values: Sequence[Fraction]) -> Fraction:
    return sum(values, Fraction(0)) / len(values)


def median(values: Sequence[Fraction]) -> Fraction:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def trimmed_mean(values: Sequence[Fraction]) -> Fraction:
    if len(values) < TRIM_FROM:
        return mean(values)
    return mean(sorted(values)[1:-1])


def sample_sd(values: Sequence[Fraction]) -> float:
    if len(values) < 2:
        return 0.0
    centre = mean(values)
    variance = sum(((v - centre) ** 2 for v in values), Fraction(0)) / (len(values) - 1)
    return math.sqrt(variance)


@dataclass(frozen=True)
class Statistics:
    n: int
    mean: float
    median: float
    trimmed_mean: float
    sd: float
    spread: float  # max - min
    minimum: float
    maximum: float
    disagreement: bool
    normalised_mean: float | None  # None when the round does not normalise


def summarise(
    totals: Sequence[Decimal | Fraction | int],
    *,
    disagreement_sd: float = DEFAULT_DISAGREEMENT_SD,
    z_scores: Sequence[float] | None = None,
) -> Statistics:
    """The statistics of one application's totals (at least one)."""
    if not totals:
        raise ValueError("no totals to summarise")
    values = [Fraction(t) for t in totals]
    sd = sample_sd(values)
    spread = float(max(values) - min(values))
    return Statistics(
        n=len(values),
        mean=float(mean(values)),
        median=float(median(values)),
        trimmed_mean=float(trimmed_mean(values)),
        sd=sd,
        spread=spread,
        minimum=float(min(values)),
        maximum=float(max(values)),
        disagreement=sd > disagreement_sd or spread > 2 * disagreement_sd,
        normalised_mean=math.fsum(z_scores) / len(z_scores) if z_scores else None,
    )


# --- a whole round ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Review:
    """One submitted sheet: whose application, which expert, the weighted total."""

    item: str
    expert: str
    total: Decimal | Fraction | int


def expert_z_scores(reviews: Sequence[Review]) -> dict[tuple[str, str], float]:
    """(item, expert) -> z of that total among all of the expert's totals in the round."""
    by_expert: dict[str, list[Review]] = defaultdict(list)
    for review in reviews:
        by_expert[review.expert].append(review)
    z: dict[tuple[str, str], float] = {}
    for expert, own in by_expert.items():
        values = [Fraction(r.total) for r in own]
        centre, sd = mean(values), sample_sd(values)
        for review, value in zip(own, values, strict=True):
            z[(review.item, expert)] = 0.0 if sd == 0 else float(value - centre) / sd
    return z


@dataclass(frozen=True)
class Standing:
    item: str
    statistics: Statistics
    score: float  # what the rank is by: trimmed mean, or normalised mean
    rank: int  # 1 is the best
    z_scores: dict[str, float]  # expert -> z of their total here (0 when not normalising)


def rank(
    reviews: Sequence[Review],
    *,
    normalise: bool = False,
    disagreement_sd: float = DEFAULT_DISAGREEMENT_SD,
) -> list[Standing]:
    """Every item with at least one review, best first, ranked 1..n without shared places."""
    z = expert_z_scores(reviews) if normalise else {}
    by_item: dict[str, list[Review]] = defaultdict(list)
    for review in reviews:
        by_item[review.item].append(review)
    unranked: list[tuple[str, Statistics, float, dict[str, float]]] = []
    for item, own in by_item.items():
        own_z = {r.expert: z.get((item, r.expert), 0.0) for r in own}
        stats = summarise(
            [r.total for r in own],
            disagreement_sd=disagreement_sd,
            z_scores=list(own_z.values()) if normalise else None,
        )
        score = stats.normalised_mean if stats.normalised_mean is not None else stats.trimmed_mean
        unranked.append((item, stats, score, own_z))
    unranked.sort(key=lambda s: (-round(s[2], RANK_PLACES), -s[1].mean, s[0]))
    return [
        Standing(item=item, statistics=stats, score=score, rank=place, z_scores=own_z)
        for place, (item, stats, score, own_z) in enumerate(unranked, start=1)
    ]
