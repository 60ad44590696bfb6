"""Expert assignment: the match score, the optimal assignment (max flow + LP with a
certificate), the greedy baseline, and the JSON export. Pure: no database."""

from services.projects.review.solver.export import Conflict, Exported, Instance, dump, load
from services.projects.review.solver.flow import (
    Pair,
    Problem,
    Solution,
    SolverFailed,
    greedy,
    solve,
)
from services.projects.review.solver.match import ExpertProfile, ItemProfile, Match, match

__all__ = [
    "Conflict",
    "ExpertProfile",
    "Exported",
    "Instance",
    "ItemProfile",
    "Match",
    "Pair",
    "Problem",
    "Solution",
    "SolverFailed",
    "dump",
    "greedy",
    "load",
    "match",
    "solve",
]
