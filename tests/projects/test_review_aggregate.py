"""The arithmetic of review scores, against numbers worked out by hand (no database)."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest

from services.projects.programs.terms import Criterion
from services.projects.review.scoring.aggregate import Review, rank, summarise, weighted_total

TEMPLATE = [
    Criterion(code="innovation", name="创新性", weight=40, min=0, max=100),
    Criterion(code="feasibility", name="可行性", weight=35, min=0, max=100),
    Criterion(code="team", name="团队基础", weight=25, min=0, max=100),
]


def test_the_weighted_total_is_on_a_0_to_100_scale() -> None:
    # 40 * 0.80 + 35 * 0.70 + 25 * 0.90 = 32 + 24.5 + 22.5
    assert weighted_total({"innovation": 80, "feasibility": 70, "team": 90}, TEMPLATE) == Decimal(
        "79.000"
    )
    assert weighted_total({"innovation": 0, "feasibility": 0, "team": 0}, TEMPLATE) == 0
    assert weighted_total({"innovation": 100, "feasibility": 100, "team": 100}, TEMPLATE) == 100


def test_each_criterion_counts_within_its_own_range() -> None:
    criteria = [
        Criterion(code="merit", name="学术价值", weight=60, min=1, max=5),
        Criterion(code="budget", name="预算合理性", weight=40, min=0, max=10),
    ]
    # 60 * (4 - 1) / (5 - 1) + 40 * 7 / 10 = 45 + 28
    assert weighted_total({"merit": 4, "budget": 7}, criteria) == Decimal("73.000")
    # the lowest score of each range is 0, the highest 100
    assert weighted_total({"merit": 1, "budget": 0}, criteria) == 0
    assert weighted_total({"merit": 5, "budget": 10}, criteria) == 100


def test_totals_are_rounded_half_up_to_three_decimals() -> None:
    thirds = [
        Criterion(code="aa", name="甲", weight=50, min=0, max=3),
        Criterion(code="bb", name="乙", weight=50, min=0, max=3),
    ]
    assert weighted_total({"aa": 1, "bb": 1}, thirds) == Decimal("33.333")  # 100/3
    assert weighted_total({"aa": 2, "bb": 2}, thirds) == Decimal("66.667")  # 200/3
    tiny = [
        Criterion(code="aa", name="甲", weight=1, min=0, max=400),
        Criterion(code="bb", name="乙", weight=99, min=0, max=10),
    ]
    # 1 * 1/400 = 0.0025 exactly: half up gives 0.003 (half-even would give 0.002)
    assert weighted_total({"aa": 1, "bb": 0}, tiny) == Decimal("0.003")


def test_four_reviews_mean_median_and_no_trimming() -> None:
    stats = summarise([Decimal(50), Decimal(70), Decimal(80), Decimal(96)])
    assert stats.n == 4
    assert stats.mean == 74  # 296 / 4
    assert stats.median == 75  # (70 + 80) / 2
    assert stats.trimmed_mean == 74  # fewer than 5 reviews: the mean
    # deviations -24, -4, 6, 22: (576 + 16 + 36 + 484) / 3 = 370.67
    assert stats.sd == pytest.approx(math.sqrt(1112 / 3))
    assert stats.sd == pytest.approx(19.2527, abs=1e-4)
    assert (stats.minimum, stats.maximum, stats.spread) == (50, 96, 46)
    assert stats.disagreement  # sd above 15


def test_five_reviews_drop_the_highest_and_the_lowest() -> None:
    stats = summarise([Decimal(100), Decimal(70), Decimal(40), Decimal(80), Decimal(75)])
    assert stats.mean == 73  # 365 / 5
    assert stats.median == 75
    assert stats.trimmed_mean == 75  # (70 + 75 + 80) / 3, without 40 and 100
    # deviations -33, -3, 2, 7, 27: 1880 / 4 = 470
    assert stats.sd == pytest.approx(math.sqrt(470))
    assert stats.spread == 60


def test_one_review_has_no_spread() -> None:
    stats = summarise([Decimal("81.250")])
    assert (stats.mean, stats.median, stats.trimmed_mean) == (81.25, 81.25, 81.25)
    assert (stats.sd, stats.spread) == (0, 0)
    assert not stats.disagreement
    with pytest.raises(ValueError, match="no totals"):
        summarise([])


def test_disagreement_by_standard_deviation_or_by_spread() -> None:
    steady = [Decimal(60), Decimal(70), Decimal(80), Decimal(90)]  # sd 12.91, spread 30
    assert summarise(steady).sd == pytest.approx(math.sqrt(500 / 3))
    assert not summarise(steady).disagreement  # spread 30 is not above 2 * 15
    assert summarise(steady, disagreement_sd=10).disagreement  # sd 12.91 > 10
    # one outlier: sd 12.66 stays under 15, but the spread 31 exceeds 30
    outlier = [Decimal(50)] + [Decimal(81)] * 5
    stats = summarise(outlier)
    assert stats.sd == pytest.approx(12.656, abs=1e-3)
    assert stats.spread == 31
    assert stats.disagreement


def _reviews(rows: list[tuple[str, str, int]]) -> list[Review]:
    return [Review(item, expert, Decimal(total)) for item, expert, total in rows]


# A harsh expert H (A 40, B 60) and a lenient one L (A 90, C 80); M reviews only B (70).
HARSH_AND_LENIENT = _reviews(
    [
        ("app-a", "H", 40),
        ("app-b", "H", 60),
        ("app-a", "L", 90),
        ("app-c", "L", 80),
        ("app-b", "M", 70),
    ]
)


def test_without_normalisation_the_lenient_experts_application_comes_first() -> None:
    ranked = rank(HARSH_AND_LENIENT)
    # C 80 (only L), then A and B tie at 65 and at mean 65: the lower id first
    assert [(s.item, s.rank, s.score) for s in ranked] == [
        ("app-c", 1, 80),
        ("app-a", 2, 65),
        ("app-b", 3, 65),
    ]
    assert all(s.statistics.normalised_mean is None for s in ranked)


def test_z_scores_put_each_expert_on_their_own_scale() -> None:
    ranked = {s.item: s for s in rank(HARSH_AND_LENIENT, normalise=True)}
    z = 1 / math.sqrt(2)  # H: mean 50, sd 14.14; L: mean 85, sd 7.07; both +-10 / +-5 away
    assert ranked["app-a"].z_scores == pytest.approx({"H": -z, "L": z})
    assert ranked["app-b"].z_scores == pytest.approx({"H": z, "M": 0.0})  # M: one sheet, z 0
    assert ranked["app-c"].z_scores == pytest.approx({"L": -z})
    assert ranked["app-a"].score == pytest.approx(0.0)
    assert ranked["app-b"].score == pytest.approx(z / 2)
    assert ranked["app-c"].score == pytest.approx(-z)
    # B was H's better one; C was L's worse one: the order turns round
    assert [s.item for s in rank(HARSH_AND_LENIENT, normalise=True)] == ["app-b", "app-a", "app-c"]
    # the raw statistics stay as they are beside the normalised mean
    assert ranked["app-c"].statistics.mean == 80


def test_an_expert_who_gives_everyone_the_same_total_gets_z_zero() -> None:
    ranked = rank(_reviews([("app-a", "E", 70), ("app-b", "E", 70)]), normalise=True)
    assert [s.z_scores for s in ranked] == [{"E": 0.0}, {"E": 0.0}]
    assert [s.item for s in ranked] == ["app-a", "app-b"]  # all equal: by id


def test_ties_go_to_the_higher_mean_then_to_the_lower_id_whatever_the_input_order() -> None:
    rows = [
        *[("app-x", f"e{i}", t) for i, t in enumerate([20, 50, 50, 50, 60])],  # trimmed 50, mean 46
        *[("app-y", f"e{i}", t) for i, t in enumerate([40, 50, 50, 50, 100])],  # 50, mean 58
        ("app-z", "e0", 50),  # trimmed 50, mean 50
        ("app-w", "e1", 50),  # the same as z: the id decides
        ("app-v", "e2", 49),
    ]
    expected = [("app-y", 1), ("app-w", 2), ("app-z", 3), ("app-x", 4), ("app-v", 5)]
    for seed in range(5):
        shuffled = list(rows)
        random.Random(seed).shuffle(shuffled)
        assert [(s.item, s.rank) for s in rank(_reviews(shuffled))] == expected


def test_nothing_to_rank_without_reviews() -> None:
    assert rank([]) == []
    assert rank([], normalise=True) == []
