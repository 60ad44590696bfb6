"""The restricted LP of column generation, kept in one HiGHS instance so that pairs can join and
the next solve starts from the last optimal basis.

scipy's ``linprog`` solves every LP from scratch: on a large call (200,000 columns) that is
15-20 s per pricing round, while a round that adds a few hundred columns takes HiGHS well under
a second from the previous basis (primal simplex: the old vertex stays feasible). HiGHS comes
through its own public Python package, ``highspy`` (pinned in pyproject.toml); the caller
(``flow``) falls back to ``linprog`` when it is missing or fails in any way.

Rows: one per expert (<= load), one per item (= its limit when every item can be served fully,
else <= demand, plus one row fixing the number of reviews), and one per (item, group) as soon as
two of its pairs are columns (<= 1).
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from types import ModuleType
from typing import Any

import numpy as np
from scipy import sparse

from services.projects.review.solver.lp import Duals, FloatArray, SolverFailed
from services.projects.review.solver.problem import NO_GROUP, IntArray, Problem

WARM_UP_TO = 3_000  # more joining columns than this: solve again from scratch (interior point)


def _highs() -> ModuleType | None:
    try:
        # Imported at the first large call, not when the service starts.
        return importlib.import_module("highspy")
    except ImportError:
        return None


class GrowingLP:
    def __init__(
        self,
        problem: Problem,
        keys: IntArray,
        cost: FloatArray,
        columns: IntArray,
        limit: IntArray,
        reviews: int,
    ) -> None:
        highs = _highs()
        if highs is None:
            raise SolverFailed("highspy is not installed")
        self.h: Any = highs
        self.problem, self.keys, self.cost, self.limit = problem, keys, cost, limit
        self.reviews = reviews
        self.exact = reviews == int(limit.sum())
        self.n_e, self.n_i = len(problem.experts), len(problem.items)
        self.first_group_row = self.n_e + self.n_i + (0 if self.exact else 1)
        self.columns = np.zeros(0, dtype=np.int64)
        self.solver: Any = None
        self._build(columns)

    def _build(self, columns: IntArray) -> None:
        """A new HiGHS instance over ``columns`` (solved from scratch by interior point)."""
        h = self.h
        self.columns = np.asarray(columns, dtype=np.int64)
        self.group_rows: dict[int, int] = {}
        self.group_members: defaultdict[int, list[int]] = defaultdict(list)
        for position, key in enumerate(self.keys[self.columns].tolist()):
            if key != NO_GROUP:
                self.group_members[key].append(position)
        shared = [key for key, members in self.group_members.items() if len(members) >= 2]
        for row, key in enumerate(shared, start=self.first_group_row):
            self.group_rows[key] = row
        n = len(self.columns)
        rows, cols = self._entries(self.columns, np.arange(n))
        group_cols = [m for key in shared for m in self.group_members[key]]
        group_row = np.repeat(
            np.arange(self.first_group_row, self.first_group_row + len(shared)),
            [len(self.group_members[key]) for key in shared],
        )
        rows = np.concatenate([rows, group_row])
        cols = np.concatenate([cols, np.array(group_cols, dtype=np.int64)])
        n_rows = self.first_group_row + len(shared)
        matrix = sparse.csc_array((np.ones(len(rows)), (rows, cols)), shape=(n_rows, n))
        lower, upper = self._row_bounds()
        lp = h.HighsLp()
        lp.num_col_, lp.num_row_ = n, n_rows
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = n, n_rows
        lp.a_matrix_.format_ = h.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data
        lp.col_cost_ = self.cost[self.columns]
        lp.col_lower_, lp.col_upper_ = np.zeros(n), np.ones(n)
        lp.row_lower_ = np.concatenate([lower, np.full(len(shared), -np.inf)])
        lp.row_upper_ = np.concatenate([upper, np.ones(len(shared))])
        self.solver = h.Highs()
        self.solver.setOptionValue("output_flag", False)
        self.solver.passModel(lp)
        self.solver.setOptionValue("solver", "ipm")

    def _row_bounds(self) -> tuple[FloatArray, FloatArray]:
        problem = self.problem
        capacity = problem.capacity.astype(np.float64)
        if self.exact:
            limit = self.limit.astype(np.float64)
            return (
                np.concatenate([np.full(self.n_e, -np.inf), limit]),
                np.concatenate([capacity, limit]),
            )
        reviews = np.array([float(self.reviews)])
        return (
            np.concatenate([np.full(self.n_e + self.n_i, -np.inf), reviews]),
            np.concatenate([capacity, problem.demand.astype(np.float64), reviews]),
        )

    def _entries(self, pairs: IntArray, positions: IntArray) -> tuple[IntArray, IntArray]:
        """Expert, item (and count) row entries of the columns at ``positions``."""
        problem = self.problem
        rows = [problem.pair_expert[pairs], self.n_e + problem.pair_item[pairs]]
        cols = [positions, positions]
        if not self.exact:
            rows.append(np.full(len(pairs), self.n_e + self.n_i))
            cols.append(positions)
        return np.concatenate(rows), np.concatenate(cols)

    def add(self, pairs: IntArray) -> None:
        if len(pairs) > WARM_UP_TO:
            self._build(np.concatenate([self.columns, pairs]))
            return
        base = len(self.columns)
        positions = base + np.arange(len(pairs))
        rows, cols = self._entries(pairs, positions)
        matrix = sparse.csc_array(
            (np.ones(len(rows)), (rows, cols - base)), shape=(self.first_group_row, len(pairs))
        )
        self.solver.addCols(
            len(pairs),
            self.cost[pairs],
            np.zeros(len(pairs)),
            np.ones(len(pairs)),
            matrix.nnz,
            matrix.indptr.astype(np.int32),
            matrix.indices.astype(np.int32),
            matrix.data,
        )
        self.columns = np.concatenate([self.columns, pairs])
        for position, key in zip(positions.tolist(), self.keys[pairs].tolist(), strict=True):
            if key == NO_GROUP:
                continue
            members = self.group_members[key]
            members.append(position)
            if key in self.group_rows:
                self.solver.changeCoeff(self.group_rows[key], position, 1.0)
            elif len(members) >= 2:
                self.group_rows[key] = self.solver.getNumRow()
                self.solver.addRow(
                    -np.inf,
                    1.0,
                    len(members),
                    np.array(members, dtype=np.int32),
                    np.ones(len(members)),
                )
        # the old vertex stays feasible with new columns at 0: primal simplex goes on from it
        self.solver.setOptionValue("solver", "simplex")
        self.solver.setOptionValue("simplex_strategy", 4)

    def solve(self) -> FloatArray:
        self.solver.run()
        status = self.solver.getModelStatus()
        if status != self.h.HighsModelStatus.kOptimal:
            raise SolverFailed(f"HiGHS: {self.solver.modelStatusToString(status)}")
        return np.asarray(self.solver.getSolution().col_value, dtype=np.float64)

    @property
    def status(self) -> str:
        return str(self.solver.modelStatusToString(self.solver.getModelStatus()))

    def duals(self) -> Duals:
        """As ``RestrictedLP.duals``: capping rows' duals clipped to <= 0."""
        problem = self.problem
        y = np.asarray(self.solver.getSolution().row_dual, dtype=np.float64)
        y_expert = np.minimum(y[: self.n_e], 0.0)
        y_item = y[self.n_e : self.n_e + self.n_i]
        if not self.exact:
            y_item = np.minimum(y_item, 0.0)
        y_total = 0.0 if self.exact else float(y[self.n_e + self.n_i])
        reduced = self.cost - y_expert[problem.pair_expert] - y_item[problem.pair_item] - y_total
        rows_value = float(problem.capacity @ y_expert)
        rows_value += float((self.limit if self.exact else problem.demand) @ y_item)
        rows_value += self.reviews * y_total
        if self.group_rows:
            keys = np.array(sorted(self.group_rows), dtype=np.int64)
            y_group = np.minimum(y[[self.group_rows[k] for k in keys.tolist()]], 0.0)
            at = np.minimum(np.searchsorted(keys, self.keys), len(keys) - 1)
            has_row = keys[at] == self.keys
            reduced[has_row] -= y_group[at[has_row]]
            rows_value += float(y_group.sum())
        return Duals(reduced=reduced, rows_value=rows_value, price=-y_expert, per_review=-y_total)
