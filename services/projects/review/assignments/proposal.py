"""Solving for a round's candidates, and saying how good the result is and what it lacks."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any
from uuid import UUID

from services.projects.review.assignments.candidates import Candidates

if TYPE_CHECKING:
    from services.projects.review.solver.flow import Pair, Solution


def _solve(candidates: Candidates, one_per_group: bool, seed: int) -> Solution:
    # numpy and scipy load on the first solve, in this worker thread, not when the service
    # starts (about a second of its start-up) nor on the event loop.
    from services.projects.review.solver.flow import solve_problem

    problem = candidates.problem
    chosen, certificate = solve_problem(problem, one_per_group=one_per_group, seed=seed)
    return problem.solution(chosen, certificate)


async def solve_for(candidates: Candidates, *, one_per_group: bool, seed: int) -> Solution:
    """The optimal pairs for the candidates' demand: the most reviews first, then the highest
    total score; the seed only breaks ties."""
    # The solver is CPU work: off the event loop, so the service keeps answering meanwhile.
    return await asyncio.to_thread(_solve, candidates, one_per_group, seed)


def shortages(candidates: Candidates, assigned: list[Pair]) -> list[dict[str, Any]]:
    """Applications the pairs leave short of experts, each with why (its field's supply)."""
    got = Counter(p.item for p in assigned)
    short = []
    for item, wanted in sorted(candidates.demand.items()):
        missing = wanted - got[item]
        if missing <= 0:
            continue
        supply = candidates.supply[UUID(item)]
        short.append(
            {
                "application_id": item,
                "field": supply.field,
                "short_by": missing,
                "reason": supply.reason(missing),
                "supply": supply.as_dict(),
            }
        )
    return short


def quality(candidates: Candidates, assigned: list[Pair], solution: Solution) -> dict[str, Any]:
    per_application: dict[str, int] = defaultdict(int)
    per_expert: Counter[str] = Counter()
    for pair in assigned:
        per_application[pair.item] += pair.score
        per_expert[pair.expert] += 1
    sums = list(per_application.values())
    return {
        "total": sum(p.score for p in assigned),
        "demand": sum(candidates.demand.values()),
        "assigned": len(assigned),
        "min_application_score": min(sums) if sums else None,
        "mean_application_score": round(sum(sums) / len(sums), 2) if sums else None,
        "min_full_application_score": solution.min_item_score,
        "experts_used": len(per_expert),
        "experts_barred_by_credit": len(candidates.ineligible),
        "load_distribution": {
            str(load): count for load, count in sorted(Counter(per_expert.values()).items())
        },
        "certificate": solution.certificate,
    }
