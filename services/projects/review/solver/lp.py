"""The linear program over some of the pairs (the columns), and its duals priced over all."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, sparse

from services.projects.review.solver.problem import NO_GROUP, IntArray, Problem

FloatArray = npt.NDArray[np.float64]
LARGE_LP = 20_000  # columns from which interior point (then crossover to a vertex) is faster


class SolverFailed(RuntimeError):
    pass


@dataclass
class Duals:
    reduced: FloatArray  # every pair's reduced cost (0 rows' duals where the LP has no row)
    rows_value: float  # b.y: the rows' part of the dual objective
    price: FloatArray  # per expert, >= 0: what one more unit of load is worth
    per_review: float  # what one more review is worth (0 when every item is served fully)


class RestrictedLP:
    """min cost.x over the columns: one row per expert (<= load), per item (= its limit when
    every item can be served fully, else <= demand plus one row fixing the number of reviews),
    and per (item, group) with two or more columns (<= 1); 0 <= x <= 1."""

    def __init__(
        self,
        problem: Problem,
        keys: IntArray,
        cost: FloatArray,
        columns: IntArray,
        limit: IntArray,
        reviews: int,
    ) -> None:
        self.problem, self.keys, self.cost, self.columns = problem, keys, cost, columns
        self.exact = reviews == int(limit.sum())
        n = len(columns)
        experts, expert_row = np.unique(problem.pair_expert[columns], return_inverse=True)
        items, item_row = np.unique(problem.pair_item[columns], return_inverse=True)
        group_keys, group_row, group_size = np.unique(
            keys[columns], return_inverse=True, return_counts=True
        )
        has_row = (group_keys != NO_GROUP) & (group_size >= 2)
        pair_group_row = np.where(has_row[group_row], (np.cumsum(has_row) - 1)[group_row], -1)
        self.experts, self.items = experts, items
        self.group_keys = group_keys[has_row]
        self.n_e, self.n_g = len(experts), len(self.group_keys)
        col = np.arange(n)
        grouped = pair_group_row >= 0
        ub_rows = [expert_row, self.n_e + pair_group_row[grouped]]
        ub_cols = [col, col[grouped]]
        ub_rhs = [problem.capacity[experts], np.ones(self.n_g, dtype=np.int64)]
        if self.exact:
            eq_rows, eq_rhs = [item_row], [limit[items]]
        else:
            ub_rows.append(self.n_e + self.n_g + item_row)
            ub_cols.append(col)
            ub_rhs.append(problem.demand[items])
            eq_rows, eq_rhs = [np.zeros(n, dtype=np.int64)], [np.array([reviews])]
        self.b_ub = np.concatenate(ub_rhs).astype(np.float64)
        self.b_eq = np.concatenate(eq_rhs).astype(np.float64)
        self.a_ub = _matrix(ub_rows, ub_cols, (len(self.b_ub), n))
        self.a_eq = _matrix(eq_rows, [col], (len(self.b_eq), n))

    def solve(self) -> optimize.OptimizeResult:
        # scipy-stubs lists only dense constraint matrices; the HiGHS methods take sparse ones.
        result = optimize.linprog(  # type: ignore[call-overload]
            self.cost[self.columns],
            A_ub=self.a_ub,
            b_ub=self.b_ub,
            A_eq=self.a_eq,
            b_eq=self.b_eq,
            bounds=(0, 1),
            method="highs-ds" if len(self.columns) < LARGE_LP else "highs-ipm",
        )
        if result.status != 0:
            raise SolverFailed(f"HiGHS: {result.message}")
        return result

    def solve_integer(self) -> FloatArray:
        """The same program with x integer (only needed if a vertex is ever fractional)."""
        result = optimize.milp(
            self.cost[self.columns],
            constraints=[
                optimize.LinearConstraint(self.a_ub, -np.inf, self.b_ub),
                optimize.LinearConstraint(self.a_eq, self.b_eq, self.b_eq),
            ],
            integrality=np.ones(len(self.columns), dtype=np.int64),
            bounds=optimize.Bounds(0, 1),
        )
        if result.status != 0 or result.x is None:
            raise SolverFailed(f"HiGHS MIP: {result.message}")
        return np.asarray(result.x, dtype=np.float64)

    def score(self, x: FloatArray) -> int:
        return int(self.problem.pair_score[self.chosen(x)].sum())

    def chosen(self, x: FloatArray) -> IntArray:
        return self.columns[np.round(x) == 1]

    def duals(self, result: optimize.OptimizeResult) -> Duals:
        """Rows that cap (<=) get their duals clipped to <= 0, so that bounds computed from
        them stay valid whatever the solver's rounding; rows this LP lacks have dual 0."""
        problem = self.problem
        y_ub = np.minimum(np.asarray(result.ineqlin.marginals, dtype=np.float64), 0.0)
        y_eq = np.asarray(result.eqlin.marginals, dtype=np.float64)
        y_expert = np.zeros(len(problem.experts))
        y_expert[self.experts] = y_ub[: self.n_e]
        y_item = np.zeros(len(problem.items))
        y_item[self.items] = y_eq if self.exact else y_ub[self.n_e + self.n_g :]
        y_total = 0.0 if self.exact else float(y_eq[0])
        reduced = self.cost - y_expert[problem.pair_expert] - y_item[problem.pair_item] - y_total
        if self.n_g:
            at = np.minimum(np.searchsorted(self.group_keys, self.keys), self.n_g - 1)
            has_row = self.group_keys[at] == self.keys
            reduced[has_row] -= y_ub[self.n_e + at[has_row]]
        return Duals(
            reduced=reduced,
            rows_value=float(self.b_ub @ y_ub + self.b_eq @ y_eq),
            price=-y_expert,
            per_review=-y_total,
        )


def _matrix(rows: list[IntArray], cols: list[IntArray], shape: tuple[int, int]) -> sparse.csr_array:
    r, c = np.concatenate(rows), np.concatenate(cols)
    return sparse.csr_array((np.ones(len(r)), (r, c)), shape=shape)
