"""Optimal expert assignment for a large call, against the greedy baseline, in one run.

    .venv/bin/python -m bench.review_assignment [--items 10000] [--experts 5000] [--per-item 5]
                                                [--seed 1] [--export PATH]

Generates a call (applications over 30 subject codes, some fields far more popular than others;
experts with 1-2 primary and 0-3 secondary codes, keywords from per-field vocabularies, loads 10
to 14, organizations of very different sizes), removes the conflicted pairs (same organization,
the applicant's avoid list, team members, past co-applicants), builds the candidate pairs from
an index of experts by subject code (only experts who share a code with the application), and
scores them exactly as ``match()`` does (checked on a sample). Then assigns ``--per-item``
experts to each application, at most one per organization, with the optimal solver and with
the greedy baseline, and reports time, peak memory and quality of both. Optimality is checked
by the LP dual bound over all candidate pairs.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from services.projects.review.solver.export import write_problem
from services.projects.review.solver.flow import Problem, Solution, greedy_problem, solve_problem
from services.projects.review.solver.match import (
    FURTHER_CODE,
    KEYWORD,
    KEYWORDS_COUNTED,
    PRIMARY_IN_PRIMARY,
    PRIMARY_IN_SECONDARY,
    ExpertProfile,
    ItemProfile,
    match,
)
from services.projects.review.solver.problem import sorted_unique

CODES = tuple(str(110 + 10 * k) for k in range(30))  # GB/T 13745-style first-level codes
VOCABULARY = 40  # keywords per field
ORGANIZATIONS = 800
LOADS = (10, 14)
CONFLICT_KINDS = ("team", "same_org", "avoid_list", "co_applicant")

BoolMatrix = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]


@dataclass
class Call:
    item_codes: list[list[int]]  # the first one is the primary code
    item_keywords: list[Ints]
    item_org: Ints
    expert_primary: BoolMatrix  # expert x code
    expert_secondary: BoolMatrix
    expert_keywords: BoolMatrix  # expert x keyword
    expert_org: Ints
    load: Ints


@dataclass
class Candidates:
    problem: Problem
    conflict_item: Ints  # one row per (candidate pair, reason) removed
    conflict_expert: Ints
    conflict_kind: Ints  # position in CONFLICT_KINDS
    conflicted_pairs: int  # candidate pairs removed (a pair may have several reasons)

    def conflicts(self) -> Iterator[tuple[int, int, str]]:
        rows = zip(
            self.conflict_item.tolist(),
            self.conflict_expert.tolist(),
            self.conflict_kind.tolist(),
            strict=True,
        )
        return ((i, e, CONFLICT_KINDS[k]) for i, e, k in rows)


def zipf(n: int, exponent: float) -> npt.NDArray[np.float64]:
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return weights / weights.sum()


def neighbour(rng: np.random.Generator, code: int) -> int:
    """A related field: interdisciplinary work mostly crosses into nearby codes."""
    return int((code + rng.choice([-3, -2, -1, 1, 2, 3])) % len(CODES))


def generate(items: int, experts: int, seed: int) -> Call:
    rng = np.random.default_rng(seed)
    popularity = zipf(len(CODES), 0.9)
    word = zipf(VOCABULARY, 0.7)
    organization = zipf(ORGANIZATIONS, 1.0)

    def keywords(fields: list[int], count: int) -> set[int]:
        field = rng.choice(fields, count)
        return set((field * VOCABULARY + rng.choice(VOCABULARY, count, p=word)).tolist())

    item_codes, item_keywords = [], []
    for primary in rng.choice(len(CODES), items, p=popularity).tolist():
        codes = [primary]
        for _ in range(rng.choice(3, p=[0.5, 0.35, 0.15])):
            further = neighbour(rng, primary)
            if further not in codes:
                codes.append(further)
        words = keywords([primary], int(rng.integers(3, 7)))
        if len(codes) > 1:
            words |= keywords(codes[1:], int(rng.integers(0, 3)))
        item_codes.append(codes)
        item_keywords.append(np.array(sorted(words), dtype=np.int64))

    expert_primary = np.zeros((experts, len(CODES)), dtype=bool)
    expert_secondary = np.zeros_like(expert_primary)
    expert_keywords = np.zeros((experts, len(CODES) * VOCABULARY), dtype=bool)
    for e, first in enumerate(rng.choice(len(CODES), experts, p=popularity).tolist()):
        primary = [first] + ([neighbour(rng, first)] if rng.random() < 0.4 else [])
        secondary = {
            neighbour(rng, first) if rng.random() < 0.5 else int(rng.choice(30, p=popularity))
            for _ in range(int(rng.integers(0, 4)))
        } - set(primary)
        expert_primary[e, primary] = True
        expert_secondary[e, sorted(secondary)] = True
        words = keywords(primary, int(rng.integers(5, 11)))
        if secondary:
            words |= keywords(sorted(secondary), int(rng.integers(0, 4)))
        expert_keywords[e, sorted(words)] = True

    return Call(
        item_codes=item_codes,
        item_keywords=item_keywords,
        item_org=rng.choice(ORGANIZATIONS, items, p=organization),
        expert_primary=expert_primary,
        expert_secondary=expert_secondary,
        expert_keywords=expert_keywords,
        expert_org=rng.choice(ORGANIZATIONS, experts, p=organization),
        load=rng.integers(LOADS[0], LOADS[1] + 1, experts),
    )


def candidates(call: Call, per_item: int, seed: int) -> Candidates:
    """Candidate pairs from an index of experts by subject code, less the conflicts, scored."""
    items, experts = len(call.item_codes), len(call.load)
    key = in_field_pairs(call)
    pair_item, pair_expert = key // experts, key % experts
    reasons = [
        np.isin(key, sampled) for sampled in sampled_conflicts(call, seed)
    ]  # team, avoided person or organization, past co-applicant
    reasons.insert(1, call.item_org[pair_item] == call.expert_org[pair_expert])  # same_org
    blocked = np.logical_or.reduce(reasons)
    conflict_rows = [np.flatnonzero(reason) for reason in reasons]
    conflict_item = np.concatenate([pair_item[rows] for rows in conflict_rows])
    conflict_expert = np.concatenate([pair_expert[rows] for rows in conflict_rows])
    conflict_kind = np.repeat(np.arange(len(reasons)), [rows.size for rows in conflict_rows])
    del reasons, conflict_rows
    keep = ~blocked
    pair_item, pair_expert = pair_item[keep], pair_expert[keep]
    problem = Problem(
        items=tuple(f"A{i:05d}" for i in range(items)),
        experts=tuple(f"E{e:05d}" for e in range(experts)),
        groups=tuple(f"ORG{o:03d}" for o in range(ORGANIZATIONS)),
        demand=np.full(items, per_item, dtype=np.int64),
        capacity=call.load.astype(np.int64),
        pair_item=pair_item,
        pair_expert=pair_expert,
        pair_score=scores(call, pair_item, pair_expert),
        pair_group=call.expert_org[pair_expert].astype(np.int64),
    )
    return Candidates(
        problem=problem,
        conflict_item=conflict_item,
        conflict_expert=conflict_expert,
        conflict_kind=conflict_kind,
        conflicted_pairs=int(blocked.sum()),
    )


def in_field_pairs(call: Call) -> Ints:
    """``item * experts + expert`` for every pair sharing a subject code, sorted: per code, the
    items that name it times the experts who hold it (an index, not all pairs)."""
    experts = len(call.load)
    in_field = call.expert_primary | call.expert_secondary
    item_of_code: list[list[int]] = [[] for _ in CODES]
    for i, codes in enumerate(call.item_codes):
        for code in codes:
            item_of_code[code].append(i)
    keys = [
        (
            np.array(item_of_code[c], dtype=np.int64)[:, None] * experts
            + np.flatnonzero(in_field[:, c])[None, :]
        ).ravel()
        for c in range(len(CODES))
    ]
    return sorted_unique(np.concatenate(keys))


@dataclass
class ConflictSources:
    """Per application, the people and organization its conflicts come from (positions)."""

    team: list[Ints]  # experts on the application's team
    avoided_people: list[Ints]  # experts on the applicant's avoid list
    avoided_org: Ints  # an organization on the avoid list, or -1
    co_applicants: list[Ints]  # experts who applied with the applicant before


def conflict_sources(call: Call, seed: int) -> ConflictSources:
    """The conflicts found by looking at people: team members who are in the pool, the
    applicant's avoid list (people, and now and then a whole organization) and past
    co-applicants, mostly from the application's field."""
    rng = np.random.default_rng(seed + 1)
    in_field = call.expert_primary | call.expert_secondary
    by_code = [np.flatnonzero(in_field[:, c]) for c in range(len(CODES))]
    organization = zipf(ORGANIZATIONS, 1.0)

    def some(pool: Ints, chance: float, most: int) -> Ints:
        if rng.random() >= chance or pool.size == 0:
            return np.zeros(0, dtype=np.int64)
        return rng.choice(pool, int(rng.integers(1, most + 1)))

    sources = ConflictSources([], [], np.full(len(call.item_codes), -1), [])
    for i, codes in enumerate(call.item_codes):
        field = by_code[codes[0]]
        sources.team.append(some(field, 0.15, 2))
        sources.avoided_people.append(some(field, 0.3, 3))
        if rng.random() < 0.03:
            sources.avoided_org[i] = rng.choice(ORGANIZATIONS, p=organization)
        sources.co_applicants.append(some(field, 0.4, 4))
    return sources


def sampled_conflicts(call: Call, seed: int) -> list[Ints]:
    """Per kind (team, avoid list, co-applicant), the ``item * experts + expert`` keys of the
    conflicts ``conflict_sources`` finds."""
    experts = len(call.load)
    sources = conflict_sources(call, seed)
    by_org = [np.flatnonzero(call.expert_org == o) for o in range(ORGANIZATIONS)]
    none = np.zeros(0, dtype=np.int64)
    team, avoided, co_applicants = [], [], []
    for i in range(len(call.item_codes)):
        team.append(i * experts + sources.team[i])
        org = int(sources.avoided_org[i])
        avoided.append(
            i * experts
            + np.concatenate([sources.avoided_people[i], by_org[org] if org >= 0 else none])
        )
        co_applicants.append(i * experts + sources.co_applicants[i])
    return [sorted_unique(np.concatenate(keys)) for keys in (team, avoided, co_applicants)]


def scores(call: Call, pair_item: Ints, pair_expert: Ints) -> Ints:
    """``match()`` for all pairs at once (the same weights)."""
    width = max(len(codes) for codes in call.item_codes)
    codes = np.full((len(call.item_codes), width), -1, dtype=np.int64)
    for i, item_codes in enumerate(call.item_codes):
        codes[i, : len(item_codes)] = item_codes
    primary = codes[pair_item, 0]
    score = np.where(
        call.expert_primary[pair_expert, primary],
        PRIMARY_IN_PRIMARY,
        np.where(call.expert_secondary[pair_expert, primary], PRIMARY_IN_SECONDARY, 0),
    ).astype(np.int64)
    in_field = call.expert_primary | call.expert_secondary
    for slot in range(1, width):
        further = codes[pair_item, slot]
        score += FURTHER_CODE * ((further >= 0) & in_field[pair_expert, further])
    width = max(len(words) for words in call.item_keywords)
    words = np.full((len(call.item_keywords), width), -1, dtype=np.int64)
    for i, item_words in enumerate(call.item_keywords):
        words[i, : len(item_words)] = item_words
    shared = np.zeros(len(pair_item), dtype=np.int64)
    for slot in range(width):
        word = words[pair_item, slot]
        shared += (word >= 0) & call.expert_keywords[pair_expert, word]
    score += KEYWORD * np.minimum(shared, KEYWORDS_COUNTED)
    return score


def item_profile(call: Call, item: int) -> ItemProfile:
    return ItemProfile(
        id=f"A{item:05d}",
        subjects=tuple(CODES[c] for c in call.item_codes[item]),
        keywords=frozenset(f"Keyword {k}" for k in call.item_keywords[item].tolist()),
    )


def expert_profile(call: Call, expert: int) -> ExpertProfile:
    return ExpertProfile(
        id=f"E{expert:05d}",
        primary=frozenset(CODES[c] for c in np.flatnonzero(call.expert_primary[expert])),
        secondary=frozenset(CODES[c] for c in np.flatnonzero(call.expert_secondary[expert])),
        keywords=frozenset(
            f"keyword {k}" for k in np.flatnonzero(call.expert_keywords[expert]).tolist()
        ),
    )


def check_scores(call: Call, problem: Problem, seed: int, sample: int = 2000) -> int:
    """The vectorised scores are ``match()``'s, and experts outside the field are no pairs."""
    rng = np.random.default_rng(seed + 2)
    for p in rng.choice(problem.n_pairs, min(sample, problem.n_pairs), replace=False).tolist():
        i, e = int(problem.pair_item[p]), int(problem.pair_expert[p])
        found = match(item_profile(call, i), expert_profile(call, e))
        if found is None or found.score != problem.pair_score[p]:
            raise AssertionError(
                f"pair {p}: match() gives {found}, the bench {problem.pair_score[p]}"
            )
    in_field = call.expert_primary | call.expert_secondary
    checked = 0
    while checked < sample // 4:
        i, e = int(rng.integers(len(call.item_codes))), int(rng.integers(len(call.load)))
        if not in_field[e, call.item_codes[i]].any():
            if match(item_profile(call, i), expert_profile(call, e)) is not None:
                raise AssertionError(f"{i}, {e}: no shared code, yet a match")
            checked += 1
    return sample


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def quality(problem: Problem, solution: Solution) -> dict[str, Any]:
    return {
        "reviews": len(solution.assigned),
        "total": solution.total,
        "min_item_score": solution.min_item_score,
        "mean_review_score": round(solution.total / max(len(solution.assigned), 1), 1),
        "unassignable_items": len(solution.unassignable),
        "missing_reviews": sum(solution.unassignable.values()),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    call = generate(args.items, args.experts, args.seed)
    built = candidates(call, args.per_item, args.seed)
    problem = built.problem
    build_seconds = time.perf_counter() - started
    peak_after_build = peak_mb()
    checked = check_scores(call, problem, args.seed)

    started = time.perf_counter()
    chosen, certificate = solve_problem(problem, one_per_group=True, seed=args.seed)
    solve_seconds = time.perf_counter() - started
    optimal = problem.solution(chosen, certificate)
    peak_after_solve = peak_mb()

    started = time.perf_counter()
    greedy_chosen, greedy_note = greedy_problem(problem, one_per_group=True, seed=args.seed)
    greedy_seconds = time.perf_counter() - started
    baseline = problem.solution(greedy_chosen, greedy_note)

    figures = {
        "items": args.items,
        "experts": args.experts,
        "per_item": args.per_item,
        "seed": args.seed,
        "reviews_needed": int(problem.demand.sum()),
        "capacity": int(problem.capacity.sum()),
        "candidate_pairs": problem.n_pairs,
        "conflicted_pairs": built.conflicted_pairs,
        "conflicted_share": built.conflicted_pairs / (problem.n_pairs + built.conflicted_pairs),
        "scores_checked_against_match": checked,
        "build_seconds": build_seconds,
        "solve_seconds": solve_seconds,
        "greedy_seconds": greedy_seconds,
        "peak_rss_mb_after_build": peak_after_build,
        "peak_rss_mb": max(peak_after_solve, peak_mb()),
        "optimal": quality(problem, optimal),
        "greedy": quality(problem, baseline),
        "certificate": certificate,
    }
    if args.export:
        started = time.perf_counter()
        write_problem(
            Path(args.export),
            problem,
            chosen,
            one_per_group=True,
            conflicts=built.conflicts(),
            score_rule=score_rule(),
            summary=figures,
        )
        figures["export_seconds"] = time.perf_counter() - started
    return figures


def score_rule() -> dict[str, Any]:
    return {
        "primary_code_in_expert_primary": PRIMARY_IN_PRIMARY,
        "primary_code_in_expert_secondary": PRIMARY_IN_SECONDARY,
        "per_further_code_shared": FURTHER_CODE,
        "per_shared_keyword": KEYWORD,
        "keywords_counted_at_most": KEYWORDS_COUNTED,
    }


def report(f: dict[str, Any]) -> str:
    opt, base, cert = f["optimal"], f["greedy"], f["certificate"]
    lines = [
        f"call: {f['items']} applications x {f['per_item']} experts = {f['reviews_needed']} "
        f"reviews; {f['experts']} experts, capacity {f['capacity']}; seed {f['seed']}",
        f"candidate pairs: {f['candidate_pairs']:,} (sharing a subject code, conflict-free); "
        f"conflicts removed {f['conflicted_pairs']:,} ({f['conflicted_share']:.1%})",
        f"scores checked against match(): {f['scores_checked_against_match']} sampled pairs",
        f"build {f['build_seconds']:.1f} s, solve {f['solve_seconds']:.1f} s, "
        f"greedy {f['greedy_seconds']:.1f} s",
        f"peak RSS: {f['peak_rss_mb_after_build']:.0f} MB after build, "
        f"{f['peak_rss_mb']:.0f} MB overall",
        "",
        "| assignment | reviews | total score | min per application | mean per review "
        "| unassignable |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, q in (("optimal (LP)", opt), ("greedy", base)):
        lines.append(
            f"| {name} | {q['reviews']} | {q['total']} | {q['min_item_score']} "
            f"| {q['mean_review_score']} | {q['unassignable_items']} |"
        )
    lines += [
        "",
        f"optimal/greedy total: {opt['total'] / max(base['total'], 1):.4f}",
        f"upper bounds over all {f['candidate_pairs']:,} pairs, from the LP duals: "
        f"LP dual objective {cert['lp_dual_bound']:.3f}, loads-only Lagrangian "
        f"{cert['item_bound']:.3f}; gap {cert['gap']:.3f} (< 1 proves optimality: scores are "
        f"integers), optimal: {cert['optimal']}",
        f"reviews {cert['reviews']} ({cert['reviews_proven_by']}); pricing rounds "
        f"{cert['pricing_rounds']}, LP columns {cert['columns']:,} of "
        f"{f['candidate_pairs']:,}; integral vertex: {cert['integral']}; HiGHS: "
        f"{cert['solver_status']}",
    ]
    if "export_seconds" in f:
        lines.append(f"exported in {f['export_seconds']:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--experts", type=int, default=5_000)
    parser.add_argument("--per-item", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--export", help="write the instance and the assignment as JSON here")
    figures = run(parser.parse_args(argv))
    print(report(figures))
    return 0 if figures["certificate"]["optimal"] else 1


if __name__ == "__main__":
    sys.exit(main())
