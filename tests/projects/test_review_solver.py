"""The assignment engine (pure, no database): optimal against exhaustive search on many small
random calls, feasible, reproducible from its seed, honest about short items, better than or
equal to the greedy baseline; the match score; the JSON export."""

from __future__ import annotations

import importlib.metadata
import io
import itertools
import logging
import random
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from services.projects.review.solver import flow, growing
from services.projects.review.solver.export import (
    Conflict,
    Instance,
    dump,
    load,
    violations,
)
from services.projects.review.solver.flow import Pair, Problem, greedy, solve, solve_problem
from services.projects.review.solver.match import (
    KEYWORDS_COUNTED,
    ExpertProfile,
    ItemProfile,
    match,
)

Demand = dict[str, int]
PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def random_call(rng: random.Random) -> tuple[Demand, Demand, list[Pair]]:
    items = [f"app{i}" for i in range(rng.randint(3, 6))]
    experts = [f"exp{e}" for e in range(rng.randint(3, 7))]
    organization = {e: f"org{rng.randint(1, 3)}" for e in experts}
    density = rng.choice([0.3, 0.5, 0.8])
    pairs = [
        # few distinct scores, so that ties are common
        Pair(item, expert, rng.choice([100, 200, 210, 300, 400, 450]), organization[expert])
        for item in items
        for expert in experts
        if rng.random() < density
    ]
    rng.shuffle(pairs)
    demand = {item: rng.randint(1, 3) for item in items}
    capacity = {expert: rng.randint(1, 3) for expert in experts}
    return demand, capacity, pairs


def exhaustive(
    demand: Demand, capacity: Demand, pairs: list[Pair], one_per_group: bool
) -> tuple[int, int]:
    """(most reviews, best total with that many) over every feasible assignment: each item in
    turn tries every subset of its pairs (at most its demand, one per group if asked) that
    the loads left allow; the loads left are remembered, the choices are not."""
    items, experts = sorted(demand), sorted(capacity)
    options: dict[str, list[tuple[Pair, ...]]] = {}
    for item in items:
        own = [p for p in pairs if p.item == item]
        options[item] = [
            subset
            for size in range(min(demand[item], len(own)) + 1)
            for subset in itertools.combinations(own, size)
            if not one_per_group or len({p.group for p in subset}) == len(subset)
        ]

    @cache
    def best(position: int, left: tuple[int, ...]) -> tuple[int, int]:
        if position == len(items):
            return (0, 0)
        found = (-1, -1)
        for subset in options[items[position]]:
            used = Counter(p.expert for p in subset)
            rest = tuple(n - used[e] for e, n in zip(experts, left, strict=True))
            if min(rest, default=0) < 0:
                continue
            count, total = best(position + 1, rest)
            found = max(found, (count + len(subset), total + sum(p.score for p in subset)))
        return found

    return best(0, tuple(capacity[e] for e in experts))


def infeasibilities(
    demand: Demand, capacity: Demand, pairs: list[Pair], assigned: list[Pair], one_per_group: bool
) -> list[str]:
    allowed = set(pairs)
    problems = [f"{p} is not allowed" for p in assigned if p not in allowed]
    chosen = Counter((p.item, p.expert) for p in assigned)
    problems += [f"{key} twice" for key, n in chosen.items() if n > 1]
    per_item, per_expert = Counter(p.item for p in assigned), Counter(p.expert for p in assigned)
    problems += [f"{i} over demand" for i, n in per_item.items() if n > demand[i]]
    problems += [f"{e} over load" for e, n in per_expert.items() if n > capacity[e]]
    if one_per_group:
        groups = Counter((p.item, p.group) for p in assigned)
        problems += [f"{key} twice" for key, n in groups.items() if n > 1]
    return problems


def shortfall(demand: Demand, assigned: list[Pair]) -> dict[str, int]:
    served = Counter(p.item for p in assigned)
    return {item: d - served[item] for item, d in demand.items() if served[item] < d}


@pytest.mark.parametrize("one_per_group", [False, True])
def test_solve_is_optimal_feasible_and_certified_on_random_calls(one_per_group: bool) -> None:
    rng = random.Random(20261126 + one_per_group)
    for _ in range(150):
        demand, capacity, pairs = random_call(rng)
        solution = solve(demand, capacity, pairs, one_per_group=one_per_group, seed=7)

        assert infeasibilities(demand, capacity, pairs, solution.assigned, one_per_group) == []
        assert (len(solution.assigned), solution.total) == exhaustive(
            demand, capacity, pairs, one_per_group
        )
        assert solution.total == sum(p.score for p in solution.assigned)
        assert solution.unassignable == shortfall(demand, solution.assigned)
        certificate = solution.certificate
        assert certificate["optimal"] is True
        assert certificate["integral"] is True
        assert certificate["reviews"] == len(solution.assigned)
        # an upper bound over all assignments (up to rounding), less than 1 above the total
        assert solution.total - 1e-6 <= certificate["dual_bound"] < solution.total + 1


@pytest.mark.parametrize("one_per_group", [False, True])
def test_column_generation_from_one_pair_per_item_reaches_the_same_optimum(
    one_per_group: bool,
) -> None:
    """The path large calls take: the LP starts with each item's best pair, the duals price
    the rest in, rounds restart from the last basis."""
    rng = random.Random(5)
    rounds = []
    for _ in range(80):
        demand, capacity, pairs = random_call(rng)
        problem = Problem.from_pairs(demand, capacity, pairs)
        chosen, certificate = solve_problem(
            problem, one_per_group=one_per_group, seed=3, start_per_item=1
        )
        solution = problem.solution(chosen, certificate)
        assert infeasibilities(demand, capacity, pairs, solution.assigned, one_per_group) == []
        assert (len(solution.assigned), solution.total) == exhaustive(
            demand, capacity, pairs, one_per_group
        )
        assert certificate["optimal"] is True
        rounds.append(certificate["pricing_rounds"])
    assert max(rounds) > 1  # pricing did bring pairs in


def test_the_locked_environment_takes_the_highspy_path(caplog: pytest.LogCaptureFixture) -> None:
    """Large calls (column generation) run in one HiGHS instance through the public highspy
    package that uv.lock pins; nothing falls back."""
    demand, capacity, pairs = random_call(random.Random(5))
    problem = Problem.from_pairs(demand, capacity, pairs)
    with caplog.at_level(logging.INFO, logger=flow.__name__):
        _, certificate = solve_problem(problem, one_per_group=True, start_per_item=1)
    assert certificate["lp_solver"] == "highspy"
    assert [r.getMessage() for r in caplog.records] == [
        f"assignment LP: column generation with highspy ({problem.n_pairs} pairs)"
    ]
    assert f'"highspy=={importlib.metadata.version("highspy")}"' in PYPROJECT.read_text()


def test_no_private_scipy_module_is_used() -> None:
    used = [
        str(path)
        for path in Path(flow.__file__).parents[3].rglob("*.py")
        if "_highspy" in path.read_text(encoding="utf-8")
    ]
    assert used == []


def test_column_generation_without_highspy_falls_back_to_linprog(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(growing, "_highs", lambda: None)
    rng = random.Random(11)
    for _ in range(20):
        demand, capacity, pairs = random_call(rng)
        problem = Problem.from_pairs(demand, capacity, pairs)
        chosen, certificate = solve_problem(problem, one_per_group=True, start_per_item=1)
        assert (len(chosen), int(problem.pair_score[chosen].sum())) == exhaustive(
            demand, capacity, pairs, True
        )
        assert certificate["lp_solver"] == "linprog"
        assert "Optimization terminated successfully" in certificate["solver_status"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 20
    assert "falling back to linprog" in warnings[0].getMessage()
    assert "highspy is not installed" in str(
        warnings[0].exc_info[1] if warnings[0].exc_info else ""
    )


def test_a_highspy_failure_midway_falls_back_to_the_same_assignment(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever goes wrong in the fast path (here the second solve of a pricing loop), the
    slower path runs from the same start and finds the same assignment."""
    rng = random.Random(5)
    calls = [random_call(rng) for _ in range(10)]
    problems = [Problem.from_pairs(*call) for call in calls]
    fast = [solve_problem(p, one_per_group=True, seed=3, start_per_item=1)[0] for p in problems]
    solved = growing.GrowingLP.solve
    runs = 0

    def failing_second_time(self: growing.GrowingLP) -> Any:
        nonlocal runs
        runs += 1
        if runs % 2 == 0:
            raise RuntimeError("HiGHS went away")
        return solved(self)

    monkeypatch.setattr(growing.GrowingLP, "solve", failing_second_time)
    failed = 0
    for problem, expected in zip(problems, fast, strict=True):
        chosen, certificate = solve_problem(problem, one_per_group=True, seed=3, start_per_item=1)
        assert sorted(chosen.tolist()) == sorted(expected.tolist())
        failed += certificate["lp_solver"] == "linprog"
    assert failed > 0
    assert any("falling back to linprog" in r.getMessage() for r in caplog.records)


def test_a_fractional_vertex_falls_back_to_the_integer_program(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(flow, "_is_integral", lambda x: False)
    demand, capacity, pairs = random_call(random.Random(3))
    solution = solve(demand, capacity, pairs, one_per_group=True)
    assert (len(solution.assigned), solution.total) == exhaustive(demand, capacity, pairs, True)
    assert solution.certificate["integral"] is False
    assert "integer program" in solution.certificate["note"]


def test_the_same_seed_gives_the_same_assignment_whatever_the_order_of_pairs() -> None:
    rng = random.Random(9)
    for _ in range(20):
        demand, capacity, pairs = random_call(rng)
        first = solve(demand, capacity, pairs, one_per_group=True, seed=42)
        again = solve(demand, capacity, pairs, one_per_group=True, seed=42)
        shuffled = solve(
            dict(reversed(demand.items())),
            capacity,
            list(reversed(pairs)),
            one_per_group=True,
            seed=42,
        )
        assert first.assigned == again.assigned == shuffled.assigned


def test_the_seed_chooses_among_equally_good_assignments() -> None:
    # Four equally good experts for two seats; every choice has the same count and total.
    demand = {"app": 2}
    capacity = {f"exp{e}": 1 for e in range(4)}
    pairs = [Pair("app", expert, 300) for expert in capacity]
    choices = {
        frozenset(p.expert for p in solve(demand, capacity, pairs, seed=seed).assigned)
        for seed in range(30)
    }
    assert len(choices) > 1
    for seed in range(30):
        solution = solve(demand, capacity, pairs, seed=seed)
        assert solution.total == 600
        assert solution.assigned == solve(demand, capacity, pairs, seed=seed).assigned


def test_ties_never_cost_score() -> None:
    # y is as good as x for a, but only x serves b: the tie-break must not take x for a.
    demand, capacity = {"a": 1, "b": 1}, {"x": 1, "y": 1}
    pairs = [Pair("a", "x", 300), Pair("a", "y", 300), Pair("b", "x", 100)]
    for seed in range(20):
        solution = solve(demand, capacity, pairs, seed=seed)
        assert {(p.item, p.expert) for p in solution.assigned} == {("a", "y"), ("b", "x")}


def test_more_reviews_come_before_a_higher_score() -> None:
    demand, capacity = {"a": 1, "b": 1}, {"x": 1, "y": 1}
    pairs = [Pair("a", "x", 450), Pair("a", "y", 100), Pair("b", "x", 100)]
    solution = solve(demand, capacity, pairs)
    assert {(p.item, p.expert) for p in solution.assigned} == {("a", "y"), ("b", "x")}
    assert solution.total == 200
    assert solution.unassignable == {}


def test_items_short_of_experts_are_reported_with_their_shortfall() -> None:
    demand = {"lonely": 3, "nobody": 2, "crowded": 2, "fine": 1}
    capacity = {"x": 1, "y": 5, "z": 1, "w": 1}
    pairs = [
        Pair("lonely", "y", 400, "org1"),  # one expert in the field: short by 2
        Pair("crowded", "x", 400, "org2"),  # two experts of one organization:
        Pair("crowded", "z", 400, "org2"),  # one per organization leaves it short by 1
        Pair("fine", "w", 200, "org3"),
    ]
    solution = solve(demand, capacity, pairs, one_per_group=True)
    assert solution.unassignable == {"lonely": 2, "nobody": 2, "crowded": 1}
    assert solution.min_item_score == 200  # only "fine" is fully served
    assert solution.certificate["reviews_upper_bound"] == 3


def test_load_shortage_is_shared_out_for_the_most_reviews() -> None:
    demand = {"a": 2, "b": 2}
    capacity = {"x": 1, "y": 1, "z": 1}
    pairs = [Pair(i, e, 300) for i in demand for e in capacity]
    solution = solve(demand, capacity, pairs)
    assert len(solution.assigned) == 3
    assert sum(solution.unassignable.values()) == 1
    assert solution.certificate["reviews_proven_by"] == "max flow over all pairs"


def test_nothing_to_assign() -> None:
    solution = solve({"a": 2}, {"x": 3}, [])
    assert solution.assigned == []
    assert solution.total == 0
    assert solution.unassignable == {"a": 2}
    assert solution.certificate["optimal"] is True


@pytest.mark.parametrize(
    ("demand", "capacity", "pairs"),
    [
        ({"a": 1}, {"x": 1}, [Pair("a", "x", 1), Pair("a", "x", 2)]),  # the same pair twice
        ({"a": 1}, {"x": 1}, [Pair("a", "ghost", 1)]),  # an unknown expert
        ({"a": 1}, {"x": 1}, [Pair("b", "x", 1)]),  # an unknown item
        ({"a": -1}, {"x": 1}, [Pair("a", "x", 1)]),  # a negative demand
    ],
)
def test_malformed_input_is_refused(demand: Demand, capacity: Demand, pairs: list[Pair]) -> None:
    with pytest.raises(ValueError, match=r"pair|negative"):
        solve(demand, capacity, pairs)


@pytest.mark.parametrize("one_per_group", [False, True])
def test_greedy_is_feasible_and_never_better_than_solve(one_per_group: bool) -> None:
    rng = random.Random(77)
    strictly_better = 0
    for _ in range(150):
        demand, capacity, pairs = random_call(rng)
        baseline = greedy(demand, capacity, pairs, one_per_group=one_per_group, seed=1)
        optimal = solve(demand, capacity, pairs, one_per_group=one_per_group, seed=1)
        assert infeasibilities(demand, capacity, pairs, baseline.assigned, one_per_group) == []
        assert baseline.unassignable == shortfall(demand, baseline.assigned)
        assert (len(baseline.assigned), baseline.total) <= (
            len(optimal.assigned),
            optimal.total,
        )
        strictly_better += (len(baseline.assigned), baseline.total) < (
            len(optimal.assigned),
            optimal.total,
        )
    assert strictly_better > 0  # the baseline is not secretly optimal


def item(subjects: tuple[str, ...], keywords: set[str] | None = None) -> ItemProfile:
    return ItemProfile("app", subjects, frozenset(keywords or set()))


def expert(
    primary: set[str], secondary: set[str] | None = None, keywords: set[str] | None = None
) -> ExpertProfile:
    return ExpertProfile(
        "exp", frozenset(primary), frozenset(secondary or set()), frozenset(keywords or set())
    )


def score(found: Any) -> int:
    assert found is not None
    return int(found.score)


KEYWORDS = {"小麦", "节水灌溉", "土壤", "栽培", "drought", "Yield", "genome"}


def test_match_scores_subject_codes_then_keywords() -> None:
    application = item(("210.20", "210.30", "220.10"), {"小麦", "Drought", " yield "})
    assert score(match(application, expert({"210.20"}))) == 400
    assert score(match(application, expert(set(), {"210.20"}))) == 200
    assert score(match(application, expert({"210.30"}, {"220.10"}))) == 200  # two further
    assert score(match(application, expert({"210.20"}, keywords={"drought", "YIELD"}))) == 420


def test_no_number_of_keywords_makes_up_for_a_weaker_subject_match() -> None:
    application = item(("210.20", "210.30"), KEYWORDS)
    ladder = [
        expert({"210.20"}, {"210.30"}),  # primary as primary + further code
        expert({"210.20"}),  # primary as primary
        expert(set(), {"210.20", "210.30"}),  # primary as secondary + further code
        expert(set(), {"210.20"}),  # primary as secondary
        expert({"210.30"}),  # a further code only
    ]
    for better, worse in itertools.pairwise(ladder):
        without_keywords = score(match(application, better))
        every_keyword = ExpertProfile("exp", worse.primary, worse.secondary, frozenset(KEYWORDS))
        assert without_keywords > score(match(application, every_keyword))


def test_keywords_are_compared_case_insensitively_and_capped() -> None:
    application = item(("210.20",), {f"Keyword {k}" for k in range(8)})
    with_all = match(application, expert({"210.20"}, keywords={f"keyword {k}" for k in range(8)}))
    assert with_all is not None
    assert with_all.explanation["shared_keywords"] == [f"keyword {k}" for k in range(8)]
    assert len(with_all.explanation["keywords_counted"]) == KEYWORDS_COUNTED
    assert with_all.explanation["parts"]["keywords"] == 10 * KEYWORDS_COUNTED
    assert with_all.score == 400 + 10 * KEYWORDS_COUNTED


def test_no_shared_code_is_no_match_whatever_the_keywords() -> None:
    application = item(("210.20",), KEYWORDS)
    assert match(application, expert({"999.10"}, {"888.20"}, KEYWORDS)) is None
    assert match(item(()), expert({"210.20"})) is None


def test_the_explanation_says_what_matched_and_what_each_part_is_worth() -> None:
    application = item(("210.20", "220.10", "230.40"), {"小麦", "栽培"})
    found = match(application, expert({"220.10"}, {"210.20"}, {"小麦", "genome"}))
    assert found is not None
    assert found.explanation == {
        "score": 310,
        "parts": {"primary_code": 200, "further_codes": 100, "keywords": 10},
        "primary_code": "210.20",
        "primary_code_as": "secondary",
        "shared_primary_codes": ["220.10"],
        "shared_secondary_codes": ["210.20"],
        "further_codes_shared": ["220.10"],
        "shared_keywords": ["小麦"],
        "keywords_counted": ["小麦"],
    }
    assert found.score == sum(found.explanation["parts"].values())


def test_export_and_load_round_trip_and_the_assignment_checks_out() -> None:
    demand, capacity, pairs = random_call(random.Random(4))
    allowed = {(p.item, p.expert) for p in pairs}
    removed = next((i, e) for i in demand for e in capacity if (i, e) not in allowed)
    instance = Instance(
        demand=demand,
        capacity=capacity,
        pairs=pairs,
        one_per_group=True,
        conflicts=[Conflict(*removed, "same_org")],
        score_rule={"primary_in_primary": 400},
    )
    solution = solve(demand, capacity, pairs, one_per_group=True)
    written = io.StringIO()
    dump(written, instance, solution.assigned, {"total": solution.total})

    document = load(written.getvalue())
    assert document.instance.demand == demand
    assert document.instance.capacity == capacity
    assert sorted(document.instance.pairs, key=repr) == sorted(pairs, key=repr)
    assert document.instance.conflicts == instance.conflicts
    assert document.instance.one_per_group is True
    assert document.instance.score_rule == {"primary_in_primary": 400}
    assert sorted(document.assignment, key=repr) == sorted(solution.assigned, key=repr)
    assert document.summary == {"total": solution.total}
    assert violations(document.instance, document.assignment) == []


def test_the_checker_finds_what_is_wrong_with_an_assignment() -> None:
    demand, capacity = {"a": 1}, {"x": 1, "y": 1}
    pairs = [Pair("a", "x", 100, "org1"), Pair("a", "y", 100, "org1")]
    instance = Instance(demand, capacity, pairs, one_per_group=True)
    found = violations(instance, [*pairs, Pair("a", "z", 1)])
    assert "a - z is not an allowed pair" in found
    assert "a gets 3 experts, demand 1" in found
    assert "a has 2 experts of org1" in found
    with pytest.raises(ValueError, match="not an allowed pair"):
        dump(io.StringIO(), instance, [Pair("a", "z", 1)])
    with pytest.raises(ValueError, match="not a sciplan-review-assignment"):
        load('{"format": "something else"}')
